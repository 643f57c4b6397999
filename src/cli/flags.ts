import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { isIP } from 'node:net';
import {
  DEFAULT_CONTAINER_CREDENTIALS,
  DEFAULT_MUTATION_OPTIONS,
  MAX_TOKEN_EXPIRATION_SECONDS,
  MIN_TOKEN_EXPIRATION_SECONDS,
} from '../webhook/engine/defaults.js';
import type { MutationOptions } from '../webhook/engine/types.js';
import type { LogLevel } from '../shared/log.js';
import { trimTrailing } from '../shared/text.js';

/** Value parsers for flags: each returns a typed value or throws a message commander prints. */
export function parseIntegerFlag(min: number, max: number): (raw: string) => number {
  return (raw) => {
    if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError(`expected a whole number, got "${raw}"`);
    const value = Number(raw.trim());
    if (value < min || value > max) throw new InvalidArgumentError(`must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

export const parsePort = parseIntegerFlag(0, 65535);

export function parseBindAddress(raw: string): string {
  if (!isIP(raw)) throw new InvalidArgumentError(`"${raw}" is not an IP address`);
  return raw;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'lowest level logged').choices(LOG_LEVELS).default('info');
}

export function logLevelFrom(values: OptionValues): LogLevel {
  return typed(values, 'logLevel', (value): value is LogLevel => LOG_LEVELS.some((level) => level === value));
}

export function parseDnsSubdomain(raw: string): string {
  if (raw.length > 253 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(raw)) {
    throw new InvalidArgumentError(`"${raw}" is not a DNS subdomain (lowercase letters, digits, "-" and ".")`);
  }
  return raw;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseDnsLabel(raw: string): string {
  if (raw.length > 63 || !DNS_LABEL.test(raw)) throw new InvalidArgumentError(`"${raw}" is not a DNS label (lowercase letters, digits, "-")`);
  return raw;
}

/** Comma-separated DNS names or IP addresses. */
export function parseHosts(raw: string): string[] {
  return raw
    .split(',')
    .map((host) => host.trim())
    .filter((host) => host !== '')
    .map((host) => (isIP(host) ? host : parseDnsSubdomain(host.toLowerCase())));
}

/** `NAMESPACE/NAME` of a namespaced object. */
export function parseNamespacedName(raw: string): { readonly namespace: string; readonly name: string } {
  const slash = raw.indexOf('/');
  if (slash < 0 || raw.length > 317) throw new InvalidArgumentError(`"${raw}" is not NAMESPACE/NAME`);
  return { namespace: parseDnsLabel(raw.slice(0, slash)), name: parseDnsSubdomain(raw.slice(slash + 1)) };
}

function parseNonEmpty(raw: string): string {
  if (raw.trim() === '') throw new InvalidArgumentError('must not be empty');
  return raw.trim();
}

function parseAbsolutePath(raw: string): string {
  if (!raw.startsWith('/') || raw.split('/').includes('..')) {
    throw new InvalidArgumentError(`"${raw}" must be an absolute path without ".."`);
  }
  return raw.length > 1 ? trimTrailing(raw, '/') || '/' : raw;
}

function parseRegion(raw: string): string {
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(raw)) {
    throw new InvalidArgumentError(`"${raw}" is not an AWS region name such as us-west-2`);
  }
  return raw;
}

function parseBooleanFlag(raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${raw}"`);
}

export function parseHttpUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidArgumentError(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`"${raw}" must be an http:// or https:// URL`);
  }
  return trimTrailing(raw, '/');
}

/** A Kubernetes volume name: a DNS label. */
function parseVolumeName(raw: string): string {
  if (raw.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(raw)) throw new InvalidArgumentError(`"${raw}" is not a volume name (a DNS label: lowercase letters, digits and "-", at most 63)`);
  return raw;
}

/** A projected volume's file path: relative, without ".." (the API server refuses both). */
function parseRelativePath(raw: string): string {
  if (raw === '' || raw.startsWith('/') || raw.split('/').some((segment) => segment === '..' || segment === '')) {
    throw new InvalidArgumentError(`"${raw}" must be a relative path without ".." or empty segments`);
  }
  return raw;
}

/** The URI the SDKs fetch container credentials from: http(s), kept as written. */
function parseCredentialsUri(raw: string): string {
  parseHttpUrl(raw);
  return raw;
}

/** Adds the flags every command that runs the mutation engine shares (`render`, `serve`). */
export function addMutationFlags(command: Command): Command {
  const d = DEFAULT_MUTATION_OPTIONS;
  return command
    .addOption(
      new Option('--annotation-prefix <domain>', 'annotation domain read on ServiceAccounts and pods')
        .default(d.annotationPrefix)
        .argParser(parseDnsSubdomain),
    )
    .addOption(
      new Option('--token-audience <audience>', 'audience of the projected token unless the ServiceAccount sets one')
        .default(d.tokenAudience)
        .argParser(parseNonEmpty),
    )
    .addOption(
      new Option('--token-expiration <seconds>', 'token lifetime unless the pod or ServiceAccount sets one')
        .default(d.tokenExpirationSeconds)
        .argParser(parseIntegerFlag(MIN_TOKEN_EXPIRATION_SECONDS, MAX_TOKEN_EXPIRATION_SECONDS)),
    )
    .addOption(
      new Option('--token-mount-path <path>', 'directory the token volume is mounted at')
        .default(d.tokenMountPath)
        .argParser(parseAbsolutePath),
    )
    .addOption(
      new Option('--aws-default-region <region>', 'inject AWS_DEFAULT_REGION and AWS_REGION (unless set)').argParser(
        parseRegion,
      ),
    )
    .addOption(
      new Option('--sts-regional-endpoint [enabled]', 'inject AWS_STS_REGIONAL_ENDPOINTS=regional')
        .default(d.stsRegionalEndpoints)
        .preset('true')
        .argParser(parseBooleanFlag),
    )
    .addOption(
      new Option('--sts-endpoint-url <url>', 'inject AWS_ENDPOINT_URL_STS (for the local lab STS)').argParser(
        parseHttpUrl,
      ),
    )
    .addOption(
      new Option('--container-credentials-audience <audience>', 'Pod Identity: audience of the projected token')
        .default(DEFAULT_CONTAINER_CREDENTIALS.audience)
        .argParser(parseNonEmpty),
    )
    .addOption(
      new Option('--container-credentials-token-mount-path <path>', 'Pod Identity: directory the token volume is mounted at')
        .default(DEFAULT_CONTAINER_CREDENTIALS.tokenMountPath)
        .argParser(parseAbsolutePath),
    )
    .addOption(
      new Option('--container-credentials-token-volume-name <name>', 'Pod Identity: name of the token volume')
        .default(DEFAULT_CONTAINER_CREDENTIALS.tokenVolumeName)
        .argParser(parseVolumeName),
    )
    .addOption(
      new Option('--container-credentials-token-path <path>', 'Pod Identity: file name of the token in its volume')
        .default(DEFAULT_CONTAINER_CREDENTIALS.tokenPath)
        .argParser(parseRelativePath),
    )
    .addOption(
      new Option('--container-credentials-full-uri <url>', 'Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI, where the agent serves credentials')
        .default(DEFAULT_CONTAINER_CREDENTIALS.fullUri)
        .argParser(parseCredentialsUri),
    );
}

function typed<T>(values: OptionValues, key: string, check: (value: unknown) => value is T): T {
  const value: unknown = values[key];
  if (!check(value)) throw new Error(`internal: option ${key} has an unexpected type`);
  return value;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';
const isBoolean = (value: unknown): value is boolean => typeof value === 'boolean';
const isOptionalString = (value: unknown): value is string | undefined =>
  value === undefined || typeof value === 'string';

/** Reads the parsed mutation flags into engine options. */
export function mutationOptionsFrom(values: OptionValues): MutationOptions {
  return {
    annotationPrefix: typed(values, 'annotationPrefix', isString),
    tokenAudience: typed(values, 'tokenAudience', isString),
    tokenExpirationSeconds: typed(values, 'tokenExpiration', isNumber),
    tokenMountPath: typed(values, 'tokenMountPath', isString),
    awsDefaultRegion: typed(values, 'awsDefaultRegion', isOptionalString),
    stsRegionalEndpoints: typed(values, 'stsRegionalEndpoint', isBoolean),
    stsEndpointUrl: typed(values, 'stsEndpointUrl', isOptionalString),
    containerCredentials: {
      audience: typed(values, 'containerCredentialsAudience', isString),
      tokenMountPath: typed(values, 'containerCredentialsTokenMountPath', isString),
      tokenVolumeName: typed(values, 'containerCredentialsTokenVolumeName', isString),
      tokenPath: typed(values, 'containerCredentialsTokenPath', isString),
      fullUri: typed(values, 'containerCredentialsFullUri', isString),
    },
  };
}

export const flagValue = { typed, isString, isNumber, isBoolean, isOptionalString };
