import { parseRoleArn } from '../../shared/aws/arn.js';
import {
  ANNOTATION,
  DEFAULT_TOKEN_EXPIRATION_SECONDS,
  MAX_TOKEN_EXPIRATION_SECONDS,
  MIN_JITTERED_TOKEN_EXPIRATION_SECONDS,
  MIN_TOKEN_EXPIRATION_SECONDS,
} from './defaults.js';
import type { MutationOptions, ServiceAccountView } from './types.js';

/** The identity settings that will be injected into a pod, after precedence and validation. */
export interface InjectedIdentity {
  readonly roleArn: string;
  readonly audience: string;
  readonly expirationSeconds: number;
  readonly stsRegionalEndpoints: boolean;
}

export interface IdentityResolution {
  /** Undefined when the pod gets no identity (no role-arn, or an invalid one). */
  readonly identity: InjectedIdentity | undefined;
  readonly warnings: string[];
}

/** `<prefix>/<name>` keys, built once per prefix: they are looked up on every request. */
const keysByPrefix = new Map<string, (name: string) => string>();
export function annotationKeys(prefix: string): (name: string) => string {
  let key = keysByPrefix.get(prefix);
  if (!key) {
    const keys = new Map<string, string>();
    key = (name) => {
      let full = keys.get(name);
      if (full === undefined) keys.set(name, (full = `${prefix}/${name}`));
      return full;
    };
    keysByPrefix.set(prefix, key);
  }
  return key;
}

/** Role ARNs seen recently, validated once: the same few ARNs come back on every pod. */
const validatedArns = new Map<string, boolean>();
function isRoleArn(value: string): boolean {
  let valid = validatedArns.get(value);
  if (valid === undefined) {
    if (validatedArns.size >= 10_000) validatedArns.clear();
    valid = parseRoleArn(value) !== undefined;
    validatedArns.set(value, valid);
  }
  return valid;
}

/** Quotes an untrusted value for a warning: JSON-escaped (no control characters) and bounded. */
export function quoteValue(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

type ExpirationParse =
  | { readonly seconds: number; readonly raised: boolean }
  | { readonly problem: string };

/** Whole seconds only; below the Kubernetes minimum is raised, above the maximum is rejected. */
export function parseTokenExpiration(raw: string): ExpirationParse {
  const text = raw.trim();
  if (!/^\d+$/.test(text)) return { problem: 'is not a whole number of seconds' };
  const seconds = Number(text);
  if (seconds > MAX_TOKEN_EXPIRATION_SECONDS) {
    return { problem: `is above the maximum of ${MAX_TOKEN_EXPIRATION_SECONDS} seconds` };
  }
  if (seconds < MIN_TOKEN_EXPIRATION_SECONDS) return { seconds: MIN_TOKEN_EXPIRATION_SECONDS, raised: true };
  return { seconds, raised: false };
}

function parseBoolean(raw: string): boolean | undefined {
  const text = raw.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return undefined;
}

interface ExpirationSource {
  readonly label: () => string;
  readonly source: string;
  readonly raw: string | undefined;
}

/** The first valid expiration among `sources`, else `fallback`; warns about every bad value it read. */
function chooseExpiration(sources: readonly ExpirationSource[], annotation: string, fallback: number, warnings: string[]): number {
  const candidates = sources.flatMap(({ label, source, raw }) =>
    raw === undefined ? [] : [{ source, described: `${label()} ${annotation}=${quoteValue(raw)}`, parsed: parseTokenExpiration(raw) }],
  );
  const chosen = candidates.find((candidate) => 'seconds' in candidate.parsed);
  const expirationSeconds = chosen && 'seconds' in chosen.parsed ? chosen.parsed.seconds : fallback;
  for (const candidate of candidates) {
    if ('problem' in candidate.parsed) {
      const from = chosen?.source ?? '--token-expiration';
      warnings.push(`${candidate.described} ${candidate.parsed.problem}; using ${expirationSeconds} from ${from}`);
      continue;
    }
    if (candidate.parsed.raised) {
      warnings.push(`${candidate.described} is below the Kubernetes minimum; using ${MIN_TOKEN_EXPIRATION_SECONDS} seconds`);
    }
    break;
  }
  return expirationSeconds;
}

/**
 * Applies the precedence rules: the role, audience and regional-STS setting come only from the
 * ServiceAccount (a pod can never choose them); the token expiration comes from the pod, then the
 * ServiceAccount, then the server flag. Bad values fall back to the next source with a warning.
 */
export function resolveIdentity(
  serviceAccount: ServiceAccountView,
  podAnnotations: Readonly<Record<string, string>>,
  options: MutationOptions,
): IdentityResolution {
  const warnings: string[] = [];
  const key = annotationKeys(options.annotationPrefix);
  const saLabel = (): string => `ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name} annotation`;
  const saAnnotations = serviceAccount.annotations;

  const rawRoleArn = saAnnotations[key(ANNOTATION.roleArn)]?.trim();
  if (!rawRoleArn) return { identity: undefined, warnings };
  if (!isRoleArn(rawRoleArn)) {
    warnings.push(
      `${saLabel()} ${key(ANNOTATION.roleArn)}=${quoteValue(rawRoleArn)} is not an IAM role ARN ` +
        `(arn:<partition>:iam::<12-digit account>:role/<name>); no AWS identity was injected`,
    );
    return { identity: undefined, warnings };
  }

  let audience = options.tokenAudience;
  const rawAudience = saAnnotations[key(ANNOTATION.audience)];
  if (rawAudience !== undefined) {
    if (rawAudience.trim() === '') {
      warnings.push(`${saLabel()} ${key(ANNOTATION.audience)} is empty; using ${quoteValue(audience)} from --token-audience`);
    } else {
      audience = rawAudience.trim();
    }
  }

  const stsRegionalEndpoints = regionalSetting(saAnnotations, key, saLabel, options, warnings);
  const expirationSeconds = expirationSetting(saAnnotations, podAnnotations, key, saLabel, options, warnings);

  return {
    identity: {
      roleArn: rawRoleArn,
      audience,
      expirationSeconds,
      stsRegionalEndpoints,
    },
    warnings,
  };
}

type AnnotationKey = (name: string) => string;

/** The ServiceAccount's sts-regional-endpoints, else the flag; a bad value falls back with a warning. */
function regionalSetting(
  saAnnotations: Readonly<Record<string, string>>,
  key: AnnotationKey,
  saLabel: () => string,
  options: MutationOptions,
  warnings: string[],
): boolean {
  const rawRegional = saAnnotations[key(ANNOTATION.stsRegionalEndpoints)];
  if (rawRegional === undefined) return options.stsRegionalEndpoints;
  const parsed = parseBoolean(rawRegional);
  if (parsed !== undefined) return parsed;
  warnings.push(
    `${saLabel()} ${key(ANNOTATION.stsRegionalEndpoints)}=${quoteValue(rawRegional)} is not "true" or "false"; ` +
      `using ${options.stsRegionalEndpoints} from --sts-regional-endpoint`,
  );
  return options.stsRegionalEndpoints;
}

/** Pod annotation, then ServiceAccount annotation, then the flag; the first valid one wins. */
function expirationSetting(
  saAnnotations: Readonly<Record<string, string>>,
  podAnnotations: Readonly<Record<string, string>>,
  key: AnnotationKey,
  saLabel: () => string,
  options: MutationOptions,
  warnings: string[],
): number {
  const podExpiration = podAnnotations[key(ANNOTATION.tokenExpiration)];
  const saExpiration = saAnnotations[key(ANNOTATION.tokenExpiration)];
  if (podExpiration === undefined && saExpiration === undefined) return options.tokenExpirationSeconds;
  return chooseExpiration(
    [
      { label: () => 'pod annotation', source: 'the pod annotation', raw: podExpiration },
      { label: saLabel, source: 'the ServiceAccount annotation', raw: saExpiration },
    ],
    key(ANNOTATION.tokenExpiration),
    options.tokenExpirationSeconds,
    warnings,
  );
}

/** The settings of a Pod Identity (container credentials) injection. */
export interface PodIdentitySettings {
  readonly audience: string;
  readonly expirationSeconds: number;
  readonly stsRegionalEndpoints: boolean;
}

/**
 * A lifetime in [79200, 86400] for a token that would last the 86400-second default, so that the
 * pods of a node do not all renew at once; `jitter` in [0, 1) picks where. Any other value is kept.
 */
export function jitteredExpiration(seconds: number, jitter: number): number {
  if (seconds !== DEFAULT_TOKEN_EXPIRATION_SECONDS) return seconds;
  const span = DEFAULT_TOKEN_EXPIRATION_SECONDS - MIN_JITTERED_TOKEN_EXPIRATION_SECONDS + 1;
  const fraction = Number.isFinite(jitter) ? Math.min(Math.max(jitter, 0), 1 - Number.EPSILON) : 0;
  return MIN_JITTERED_TOKEN_EXPIRATION_SECONDS + Math.floor(fraction * span);
}

/**
 * Pod Identity mode, as the Go webhook decides it: the audience comes only from
 * --container-credentials-audience (the ServiceAccount's `audience` and `role-arn` are not read);
 * `sts-regional-endpoints` and `token-expiration` apply as in IRSA mode, then the default
 * lifetime is jittered.
 */
export function resolvePodIdentity(
  serviceAccount: ServiceAccountView,
  podAnnotations: Readonly<Record<string, string>>,
  options: MutationOptions,
  jitter: number,
): { readonly settings: PodIdentitySettings; readonly warnings: string[] } {
  const warnings: string[] = [];
  const key = annotationKeys(options.annotationPrefix);
  const saLabel = (): string => `ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name} annotation`;
  const saAnnotations = serviceAccount.annotations;
  const stsRegionalEndpoints = regionalSetting(saAnnotations, key, saLabel, options, warnings);
  const expirationSeconds = jitteredExpiration(expirationSetting(saAnnotations, podAnnotations, key, saLabel, options, warnings), jitter);
  return { settings: { audience: options.containerCredentials.audience, expirationSeconds, stsRegionalEndpoints }, warnings };
}

/** Container names from the pod's skip-containers annotation (comma-separated, spaces ignored). */
const NOTHING_SKIPPED: ReadonlySet<string> = new Set();

export function skippedContainers(
  podAnnotations: Readonly<Record<string, string>>,
  options: MutationOptions,
): ReadonlySet<string> {
  const raw = podAnnotations[annotationKeys(options.annotationPrefix)(ANNOTATION.skipContainers)];
  if (raw === undefined) return NOTHING_SKIPPED;
  return new Set(
    raw
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  );
}
