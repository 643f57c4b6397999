import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { AccessReviewAnswer, CertManagerFacts, DoctorFacts, Fetched, IdentitiesFacts, ImagePullFacts, ListResult, PodPages, ServiceFacts, TlsObservation, WebhookFacts, WorkloadFacts } from '../../src/diagnose/doctor/facts.js';
import { generateCertificates, issueServingCertificate } from '../../src/shared/certs/generate.js';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import type { MutationOptions } from '../../src/webhook/engine/types.js';
import { podIdentityKey } from '../../src/webhook/pod-identity/identities.js';
import { FIXTURES } from './paths.js';

export const DOCTOR_FIXTURES = join(FIXTURES, 'doctor');

/**
 * Certificates the fixtures name by placeholder (generated per run, so they never expire in the
 * tree): `$CA_BUNDLE` (base64 of the CA, as a caBundle), `$OTHER_CA_BUNDLE` (another CA),
 * `$SERVING_CERT` (base64 PEM of a certificate that CA signed for the webhook's Service and
 * 127.0.0.1, as a Secret's tls.crt), `$SERVING_CERT_PEM` (the same, PEM, as a TLS peer sent it),
 * `$OTHER_SERVICE_CERT` (signed by the CA for another Service's names).
 */
function placeholders(): Record<string, string> {
  const served = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
  const other = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook' });
  const ca = { certPem: served.caCert, keyPem: served.caKey };
  const otherService = issueServingCertificate(ca, { service: 'something-else', namespace: 'elsewhere' });
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  return {
    $CA_BUNDLE: b64(served.caCert),
    $OTHER_CA_BUNDLE: b64(other.caCert),
    $SERVING_CERT: b64(served.cert),
    $SERVING_CERT_PEM: served.cert,
    $OTHER_SERVICE_CERT: b64(otherService.cert),
  };
}

let cached: Record<string, string> | undefined;

function substitute(value: unknown): unknown {
  cached ??= placeholders();
  if (typeof value === 'string') return cached[value] ?? value;
  if (Array.isArray(value)) return value.map(substitute);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, substitute(entry)]));
  return value;
}

/** `missing`, `forbidden: why`, `failed: why`, or the value itself. */
function fetched<T>(value: unknown, wrap: (value: unknown) => T): Fetched<T> {
  if (value === 'missing') return { status: 'missing' };
  if (typeof value === 'string' && value.startsWith('forbidden:')) return { status: 'forbidden', error: value.slice(10).trim() };
  if (typeof value === 'string' && value.startsWith('failed:')) return { status: 'failed', error: value.slice(7).trim() };
  return { status: 'ok', value: wrap(value) };
}

/** A list: its items (an array), or `{items, truncated}`. */
const asList = (value: unknown): ListResult =>
  Array.isArray(value) ? { items: value, truncated: false } : { items: (value as { items: unknown[] }).items, truncated: Boolean((value as { truncated?: boolean }).truncated) };

const identity = (value: unknown): unknown => value;

function identitiesOf(value: unknown): IdentitiesFacts | undefined {
  if (value === undefined) return undefined;
  const entry = value as { source: string; identities?: Array<{ namespace: string; serviceAccount: string }>; invalid?: string; unread?: string };
  if (entry.invalid !== undefined) return { source: entry.source, invalid: entry.invalid };
  if (entry.unread !== undefined) return { source: entry.source, unread: fetched(entry.unread, identity) as Fetched<never> };
  return { source: entry.source, identities: new Set((entry.identities ?? []).map((item) => podIdentityKey(item.namespace, item.serviceAccount))) };
}

/** `workload:` of a service: `selector`, and the lists `deployments`, `replicaSets`, `pods` (default: empty). */
function workloadFacts(value: Record<string, unknown> | undefined): WorkloadFacts | undefined {
  if (value === undefined) return undefined;
  return {
    selector: value.selector as Record<string, string>,
    deployments: fetched(value.deployments ?? [], asList),
    replicaSets: fetched(value.replicaSets ?? [], asList),
    pods: fetched(value.pods ?? [], asList),
  };
}

/** `certManager:`: `annotation`, `certificate` (absent: the annotation did not parse), `api`, `secret: {name, object}`. */
function certManagerFacts(value: Record<string, unknown> | undefined): CertManagerFacts | undefined {
  if (value === undefined) return undefined;
  const secret = value.secret as { name: string; object: unknown } | undefined;
  return {
    annotation: String(value.annotation),
    certificate: value.certificate === undefined ? undefined : fetched(value.certificate, identity),
    api: value.api === undefined ? undefined : fetched(value.api, identity),
    secret: secret ? { name: secret.name, fetched: fetched(secret.object, identity) } : undefined,
  };
}

/** `imagePull:`: `audience` (default sts.amazonaws.com), `node`, `nodeAssumed`, `reviews` by `ns/name`: `{allowed, reason}` or a Fetched string. */
function imagePullFacts(value: Record<string, unknown> | undefined): ImagePullFacts | undefined {
  if (value === undefined) return undefined;
  const reviews = new Map<string, Fetched<AccessReviewAnswer>>();
  for (const [object, answer] of Object.entries((value.reviews as Record<string, unknown> | undefined) ?? {})) {
    reviews.set(object, fetched(answer, (read) => ({ allowed: Boolean((read as { allowed?: unknown }).allowed), reason: String((read as { reason?: unknown }).reason ?? '') })));
  }
  return { audience: String(value.audience ?? 'sts.amazonaws.com'), node: String(value.node ?? 'node-1'), nodeAssumed: Boolean(value.nodeAssumed), reviews };
}

function webhookFacts(value: Record<string, unknown>): WebhookFacts {
  const facts: { service?: ServiceFacts; url?: TlsObservation } = {};
  if (value.url !== undefined) {
    const url = value.url as Record<string, unknown>;
    facts.url = url.connected
      ? { connected: true, chain: url.chain as string[], authorizationError: (url.authorizationError as string | null) ?? undefined, readyz: fetched(url.readyz, identity) as Fetched<never> }
      : { connected: false, error: String(url.error) };
  }
  if (value.service !== undefined) {
    const service = value.service as Record<string, unknown>;
    const secret = service.secret as { name: string; object: unknown } | undefined;
    facts.service = {
      service: fetched(service.service, identity),
      endpointSlices: fetched(service.endpointSlices ?? [], asList),
      endpoints: service.endpoints === undefined ? undefined : fetched(service.endpoints, identity),
      readyz: fetched(service.readyz, identity) as Fetched<never>,
      secret: secret ? { name: secret.name, fetched: fetched(secret.object, identity) } : undefined,
      secretsTried: (service.secretsTried as string[] | undefined) ?? [],
      workload: workloadFacts(service.workload as Record<string, unknown> | undefined),
    };
  }
  return facts;
}

export interface DoctorFixture {
  readonly name: string;
  readonly facts: DoctorFacts;
  readonly pods: () => PodPages;
  readonly expected: {
    readonly verdict: 'ok' | 'broken' | 'incomplete';
    /** Each with parts its detail and fix must contain, when given. */
    readonly findings: ReadonlyArray<{ readonly code: string; readonly object?: string; readonly detailIncludes?: string; readonly fixIncludes?: string }>;
  };
  readonly description: string;
}

function readYaml(path: string): Record<string, unknown> {
  return (parse(readFileSync(path, 'utf8')) ?? {}) as Record<string, unknown>;
}

/** The parent of the last segment of a path (`pods/0/metadata/labels`: keys may hold dots), created as needed. */
function walk(document: Record<string, unknown>, path: string): { parent: Record<string, unknown> | unknown[]; last: string } {
  const segments = path.split('/');
  let node: unknown = document;
  for (const segment of segments.slice(0, -1)) {
    const container = node as Record<string, unknown>;
    if (container[segment] === undefined) container[segment] = {};
    node = container[segment];
  }
  return { parent: node as Record<string, unknown>, last: segments.at(-1)! };
}

/**
 * facts.yaml, after the facts of the fixture it `extends`: its top-level keys replace the base's,
 * then `set` (path: value), `append` (path: items added to that list) and `remove` (paths; a list
 * index removes that item) change the result. Paths are keys joined by `/` (`pods/0/metadata`).
 */
function factsDocument(dir: string): Record<string, unknown> {
  const own = readYaml(join(dir, 'facts.yaml'));
  const base = typeof own.extends === 'string' ? factsDocument(join(dir, own.extends)) : {};
  const { extends: _extends, set, append, remove, ...rest } = own as Record<string, unknown> & { set?: Record<string, unknown>; append?: Record<string, unknown[]>; remove?: string[] };
  const document = structuredClone({ ...base, ...rest });
  for (const [path, value] of Object.entries(set ?? {})) {
    const { parent, last } = walk(document, path);
    (parent as Record<string, unknown>)[last] = value;
  }
  for (const [path, items] of Object.entries(append ?? {})) {
    const { parent, last } = walk(document, path);
    const list = (parent as Record<string, unknown>)[last];
    (parent as Record<string, unknown>)[last] = [...(Array.isArray(list) ? list : []), ...items];
  }
  for (const path of remove ?? []) {
    const { parent, last } = walk(document, path);
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  }
  return document;
}

const HEALTHY_OIDC = {
  discovery: { issuer: 'https://oidc.example.com/id/CLUSTER', jwks_uri: 'https://oidc.example.com/id/CLUSTER/openid/v1/jwks', response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] },
  jwks: { keys: [{ kty: 'RSA', use: 'sig', alg: 'RS256', kid: 'fixture', n: 'sXch', e: 'AQAB' }] },
};

export function loadDoctorFixture(name: string): DoctorFixture {
  const dir = join(DOCTOR_FIXTURES, name);
  const document = substitute(factsDocument(dir)) as Record<string, unknown>;
  const oidc = { ...HEALTHY_OIDC, ...(document.oidc as Record<string, unknown> | undefined) };
  const webhooks = new Map<string, WebhookFacts>();
  for (const [webhook, value] of Object.entries((document.webhooks as Record<string, Record<string, unknown>> | undefined) ?? {})) webhooks.set(webhook, webhookFacts(value));
  const pods = document.pods ?? [];
  const facts: DoctorFacts = {
    now: document.now === undefined ? new Date() : new Date(String(document.now)),
    options: { ...DEFAULT_MUTATION_OPTIONS, ...(document.options as Partial<MutationOptions> | undefined) },
    namespace: document.namespace as string | undefined,
    configurationName: (document.configurationName as string | undefined) ?? 'pod-identity-webhook',
    configuration: fetched(document.configuration ?? 'missing', identity),
    namespaces: fetched(document.namespaces ?? [], asList),
    serviceAccounts: fetched(document.serviceAccounts ?? [], asList),
    identities: identitiesOf(document.identities),
    certManager: certManagerFacts(document.certManager as Record<string, unknown> | undefined),
    webhooks,
    oidc: { discovery: fetched(oidc.discovery, identity), jwks: fetched(oidc.jwks, identity) },
    admissionPolicies: {
      version: document.kubernetesVersion as string | undefined,
      policies: fetched(document.admissionPolicies ?? [], asList),
      bindings: fetched(document.admissionPolicyBindings ?? [], asList),
    },
    maxPods: Number(document.maxPods ?? 10_000),
    imagePull: imagePullFacts(document.imagePull as Record<string, unknown> | undefined),
  };
  const podsFetched = fetched(pods, asList);
  const expected = readYaml(join(dir, 'expected.yaml')) as unknown as DoctorFixture['expected'] & { description?: string };
  return {
    name,
    facts,
    pods: () => ({
      pages: (async function* () {
        if (podsFetched.status === 'ok') yield podsFetched.value.items;
      })(),
      outcome: () => ({ truncated: podsFetched.status === 'ok' && podsFetched.value.truncated, failure: podsFetched.status === 'ok' ? undefined : (podsFetched as Fetched<never>) }),
    }),
    expected: { verdict: expected.verdict, findings: expected.findings ?? [] },
    description: expected.description ?? '',
  };
}

/** Every fixture directory (those with an expected.yaml). */
export function doctorFixtureNames(): string[] {
  return readdirSync(DOCTOR_FIXTURES)
    .filter((name) => existsSync(join(DOCTOR_FIXTURES, name, 'expected.yaml')))
    .sort();
}
