import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { isIP } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { isJsonObject } from '../../shared/json.js';
import { ApiStatusError } from '../../shared/k8s/api-client.js';
import { ECR_TOKEN_AUDIENCE } from '../../shared/k8s/credential-provider.js';
import { nodeAudienceAccessReview } from '../../shared/k8s/node-audience-rbac.js';
import { errorMessage } from '../../shared/log.js';
import type { MutationOptions } from '../../webhook/engine/types.js';
import { parsePodIdentities, type PodIdentities } from '../../webhook/pod-identity/identities.js';
import { POD_IDENTITIES_KEY } from '../../webhook/pod-identity/config-map-source.js';
import { checkConfiguration, type ParsedWebhook } from './configuration.js';
import { certificateReference, injectCaFrom } from './cert-manager.js';
import type { AccessReviewAnswer, CertManagerFacts, DoctorFacts, ImagePullFacts, Fetched, HttpAnswer, IdentitiesFacts, ListResult, PodPages, ServiceFacts, TlsObservation, WebhookFacts, WorkloadFacts } from './facts.js';
import { ecrAnnotatedServiceAccounts } from './image-pull.js';
import { DISCOVERY_PATH, JWKS_PATH } from './oidc.js';

/** What doctor reads the API server with (`ApiClient` in the command; anything with its `getJson` in tests). */
export interface JsonApi {
  getJson(path: string, signal: AbortSignal, accept?: string): Promise<unknown>;
  /** Only for SubjectAccessReviews, which the API server answers without storing anything. */
  postJson(path: string, body: unknown, signal: AbortSignal): Promise<unknown>;
}

/** The API server cannot be used at all (unreachable, or the credentials are refused): bad input, exit 2. */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
}

export const DEFAULTS = {
  pageSize: 500,
  maxPods: 10_000,
  maxServiceAccounts: 100_000,
  maxNamespaces: 10_000,
  /** MutatingAdmissionPolicies and their bindings: a cluster has a handful; more than this is not read. */
  maxPolicies: 1_000,
  /** ServiceAccounts with eks.amazonaws.com/ecr-role-arn asked about (one SubjectAccessReview each). */
  maxImagePullReviews: 50,
  /** Deployments of the webhook Service's namespace, and ReplicaSets and pods its selector matches. */
  maxWorkloadObjects: 500,
  requestTimeoutMs: 10_000,
  /** /readyz bodies and the like are small; more than this is not read. */
  maxProbeBytes: 64 * 1024,
} as const;

export type IdentitiesSource =
  | { readonly kind: 'file'; readonly source: string; readonly identities: PodIdentities }
  | { readonly kind: 'configMap'; readonly namespace: string; readonly name: string };

export interface GatherConfig {
  readonly api: JsonApi;
  /** Shown in the message when the API server cannot be reached. */
  readonly server: string;
  readonly configurationName: string;
  readonly namespace: string | undefined;
  readonly options: MutationOptions;
  readonly identities: IdentitiesSource | undefined;
  readonly certificateSecret: { readonly namespace: string; readonly name: string } | undefined;
  readonly maxPods?: number;
  readonly requestTimeoutMs?: number;
  readonly pageSize?: number;
  readonly maxServiceAccounts?: number;
  readonly maxNamespaces?: number;
  /** The audience of the kubelet's ECR credential provider (image-pull-config --audience). */
  readonly imagePullAudience?: string;
  readonly now?: () => Date;
}

/** Turns a GET into a Fetched: 404 missing, 401/403 forbidden, anything else that fails is failed; never throws. */
export async function fetchJson(api: JsonApi, path: string, timeoutMs: number, accept?: string): Promise<Fetched<unknown>> {
  try {
    return { status: 'ok', value: await api.getJson(path, AbortSignal.timeout(timeoutMs), accept) };
  } catch (error) {
    return failure(error, timeoutMs);
  }
}

function failure(error: unknown, timeoutMs: number): Fetched<never> {
  if (error instanceof ApiStatusError) {
    if (error.code === 404) return { status: 'missing' };
    if (error.code === 401 || error.code === 403) return { status: 'forbidden', error: error.message };
    return { status: 'failed', error: error.message };
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return { status: 'failed', error: `no answer within ${timeoutMs} ms` };
  return { status: 'failed', error: errorMessage(error) };
}

function listMetadata(list: unknown): { items: unknown[]; continueToken: string | undefined } | undefined {
  if (!isJsonObject(list) || !Array.isArray(list.items)) return undefined;
  const metadata = isJsonObject(list.metadata) ? list.metadata : {};
  return { items: list.items, continueToken: typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined };
}

/** The pages of a list (limit + continue), each GET bounded in time, stopping at `cap` items. */
async function* listPages(api: JsonApi, path: string, query: Record<string, string>, cap: number, pageSize: number, timeoutMs: number, state: { truncated: boolean; failure: Fetched<never> | undefined }): AsyncGenerator<unknown[]> {
  let continueToken: string | undefined;
  let count = 0;
  // Bounded: at most one page more than the cap needs (each page has at least one item or ends the list).
  const maxPages = Math.ceil(cap / pageSize) + 1;
  for (let page = 0; page < maxPages; page += 1) {
    const search = new URLSearchParams({ ...query, limit: String(Math.min(pageSize, cap - count)) });
    if (continueToken) search.set('continue', continueToken);
    let body: unknown;
    try {
      body = await api.getJson(`${path}?${search}`, AbortSignal.timeout(timeoutMs));
    } catch (error) {
      state.failure = failure(error, timeoutMs);
      return;
    }
    const read = listMetadata(body);
    if (!read) {
      state.failure = { status: 'failed', error: `${path}: the answer is not a list` };
      return;
    }
    const items = read.items.slice(0, cap - count);
    count += items.length;
    if (items.length > 0) yield items;
    continueToken = read.continueToken;
    if (!continueToken) return;
    if (count >= cap) {
      state.truncated = true;
      return;
    }
  }
  state.truncated = true;
}

async function listAll(api: JsonApi, path: string, query: Record<string, string>, cap: number, pageSize: number, timeoutMs: number): Promise<Fetched<ListResult>> {
  const state: { truncated: boolean; failure: Fetched<never> | undefined } = { truncated: false, failure: undefined };
  const items: unknown[] = [];
  for await (const page of listPages(api, path, query, cap, pageSize, timeoutMs, state)) items.push(...page);
  if (state.failure && items.length === 0) return state.failure;
  return { status: 'ok', value: { items, truncated: state.truncated || state.failure !== undefined } };
}

const enc = encodeURIComponent;

/** The certificates a TLS peer sent, leaf first, as PEM. */
function peerChain(socket: TLSSocket): string[] {
  const chain: string[] = [];
  let certificate: PeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (certificate?.raw && chain.length < 10 && !seen.has(certificate.fingerprint256)) {
    seen.add(certificate.fingerprint256);
    try {
      chain.push(new X509Certificate(certificate.raw).toString());
    } catch {
      break;
    }
    const issuer: PeerCertificate | undefined = (certificate as { issuerCertificate?: PeerCertificate }).issuerCertificate;
    certificate = issuer && issuer !== certificate ? issuer : undefined;
  }
  return chain;
}

/**
 * A TLS connection to a url clientConfig as the API server makes it (servername = the host, the
 * caBundle as the only CAs, the system roots without one), then GET /readyz on it. The handshake
 * is not refused on a verification failure: the certificate is read and the failure reported.
 */
export function probeUrl(url: URL, caBundle: string, timeoutMs: number, maxBytes: number = DEFAULTS.maxProbeBytes): Promise<TlsObservation> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    let handshake: { chain: string[]; authorizationError: string | undefined } | undefined;
    let settled = false;
    // `timeout` below is the socket's idle time; this bounds the whole exchange (a server trickling bytes).
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const done = (observation: TlsObservation): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(observation);
    };
    const readyzFailed = (error: string): void =>
      done(handshake ? { connected: true, ...handshake, readyz: { status: 'failed', error } } : { connected: false, error });
    const req = request(
      { host, port: url.port || 443, path: '/readyz', method: 'GET', ca: caBundle.trim() === '' ? undefined : caBundle, servername: isIP(host) ? undefined : host, rejectUnauthorized: false, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxBytes) chunks.push(chunk);
          else res.destroy(new Error(`the answer to GET /readyz is larger than ${maxBytes} bytes`));
        });
        res.on('error', (error) => readyzFailed(errorMessage(error)));
        res.on('close', () => {
          if (!res.complete) {
            readyzFailed('the answer to GET /readyz was cut off');
            return;
          }
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text.slice(0, 500);
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: kept as text
          }
          const answer: HttpAnswer = { status: res.statusCode ?? 0, body };
          done({ connected: true, ...(handshake ?? { chain: [], authorizationError: undefined }), readyz: { status: 'ok', value: answer } });
        });
      },
    );
    req.on('socket', (socket) => {
      socket.once('secureConnect', () => {
        const tls = socket as TLSSocket;
        const error = tls.authorizationError as unknown;
        handshake = { chain: peerChain(tls), authorizationError: tls.authorized ? undefined : String((error as { code?: unknown } | undefined)?.code ?? error ?? 'unverified') };
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => readyzFailed(errorMessage(error)));
    req.end();
  });
}

/** GET /readyz through the API server's service proxy: the webhook's own answer, whatever its status. */
async function proxyReadyz(api: JsonApi, namespace: string, name: string, port: number, timeoutMs: number): Promise<Fetched<HttpAnswer>> {
  // `https:NAME:PORT` unescaped, as kubectl writes it (NAME is a DNS label).
  const path = `/api/v1/namespaces/${enc(namespace)}/services/https:${enc(name)}:${port}/proxy/readyz`;
  try {
    return { status: 'ok', value: { status: 200, body: await api.getJson(path, AbortSignal.timeout(timeoutMs)) } };
  } catch (error) {
    if (error instanceof ApiStatusError) {
      if (error.code === 401 || error.code === 403) return { status: 'forbidden', error: error.message };
      // 200 with a body that is not JSON: the webhook answered.
      return { status: 'ok', value: { status: error.code, body: error.body ?? error.message } };
    }
    return failure(error, timeoutMs);
  }
}

/** The Service's spec.selector when it is a non-empty map of strings (a Service without one has hand-made endpoints). */
function serviceSelector(service: Fetched<unknown>): Record<string, string> | undefined {
  if (service.status !== 'ok' || !isJsonObject(service.value) || !isJsonObject(service.value.spec)) return undefined;
  const { spec } = service.value;
  if (spec.type === 'ExternalName' || !isJsonObject(spec.selector)) return undefined;
  const entries = Object.entries(spec.selector);
  if (entries.length === 0 || entries.some(([, value]) => typeof value !== 'string')) return undefined;
  return Object.fromEntries(entries) as Record<string, string>;
}

/** The Deployments of the namespace (their pod templates are matched by the checks), and the ReplicaSets and pods the selector matches. */
async function gatherWorkload(api: JsonApi, namespace: string, selector: Record<string, string>, pageSize: number, timeoutMs: number): Promise<WorkloadFacts> {
  const labelSelector = Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(',');
  const cap = DEFAULTS.maxWorkloadObjects;
  const page = Math.min(pageSize, 100);
  const [deployments, replicaSets, pods] = await Promise.all([
    listAll(api, `/apis/apps/v1/namespaces/${enc(namespace)}/deployments`, {}, cap, page, timeoutMs),
    // A ReplicaSet carries its Deployment's template labels (and pod-template-hash).
    listAll(api, `/apis/apps/v1/namespaces/${enc(namespace)}/replicasets`, { labelSelector }, cap, page, timeoutMs),
    listAll(api, `/api/v1/namespaces/${enc(namespace)}/pods`, { labelSelector }, cap, page, timeoutMs),
  ]);
  return { selector, deployments, replicaSets, pods };
}

type Secret = { readonly name: string; readonly fetched: Fetched<unknown> };

async function gatherService(api: JsonApi, webhook: ParsedWebhook & { clientConfig: { kind: 'service' } }, config: GatherConfig, timeoutMs: number, certManagerSecret: Secret | undefined): Promise<ServiceFacts> {
  const { namespace, name, port } = webhook.clientConfig;
  const base = `/api/v1/namespaces/${enc(namespace)}`;
  // --certificate-secret first; in the cert-manager mode, the Certificate's Secret (already read); else the usual names.
  const secretNames = config.certificateSecret ? [config.certificateSecret] : certManagerSecret ? [] : [`${name}-certs`, `${name}-tls`].map((secret) => ({ namespace, name: secret }));
  const [service, endpointSlices, readyz, read] = await Promise.all([
    fetchJson(api, `${base}/services/${enc(name)}`, timeoutMs),
    listAll(api, `/apis/discovery.k8s.io/v1/namespaces/${enc(namespace)}/endpointslices`, { labelSelector: `kubernetes.io/service-name=${name}` }, 1000, 100, timeoutMs),
    proxyReadyz(api, namespace, name, port, timeoutMs),
    Promise.all(secretNames.map(async (secret): Promise<Secret> => ({ name: `${secret.namespace}/${secret.name}`, fetched: await fetchJson(api, `/api/v1/namespaces/${enc(secret.namespace)}/secrets/${enc(secret.name)}`, timeoutMs) }))),
  ]);
  const secrets = read.length === 0 && certManagerSecret ? [certManagerSecret] : read;
  const selector = serviceSelector(service);
  const workload = selector ? await gatherWorkload(api, namespace, selector, config.pageSize ?? DEFAULTS.pageSize, timeoutMs) : undefined;
  // The Endpoints only when the slices do not show a ready endpoint (or cannot be read): an older cluster, or a hand-made Endpoints.
  const slicesReady = endpointSlices.status === 'ok' && endpointSlices.value.items.some((slice) => isJsonObject(slice) && Array.isArray(slice.endpoints) && slice.endpoints.length > 0);
  const endpoints = slicesReady ? undefined : await fetchJson(api, `${base}/endpoints/${enc(name)}`, timeoutMs);
  // The named Secret, else the first that exists; a forbidden one is reported (it would have been looked at).
  const secret = config.certificateSecret || certManagerSecret ? secrets[0] : secrets.find((candidate) => candidate.fetched.status !== 'missing');
  return { service, endpointSlices, endpoints, readyz, secret, secretsTried: secrets.map((candidate) => candidate.name), workload };
}

/** The cert-manager mode: the Certificate the configuration's inject-ca-from annotation names, and its Secret. */
async function gatherCertManager(api: JsonApi, configuration: Fetched<unknown>, timeoutMs: number): Promise<CertManagerFacts | undefined> {
  const annotation = injectCaFrom(configuration);
  if (annotation === undefined) return undefined;
  const reference = certificateReference(annotation);
  if (reference === undefined) return { annotation, certificate: undefined, api: undefined, secret: undefined };
  const certificate = await fetchJson(api, `/apis/cert-manager.io/v1/namespaces/${enc(reference.namespace)}/certificates/${enc(reference.name)}`, timeoutMs);
  // A 404 is the Certificate missing, or the whole API (the CRD) missing: the group version tells them apart.
  const groupVersion = certificate.status === 'missing' ? await fetchJson(api, '/apis/cert-manager.io/v1', timeoutMs) : undefined;
  const spec = certificate.status === 'ok' && isJsonObject(certificate.value) && isJsonObject(certificate.value.spec) ? certificate.value.spec : {};
  const secretName = typeof spec.secretName === 'string' && spec.secretName !== '' ? spec.secretName : undefined;
  const secret = secretName === undefined ? undefined : { name: `${reference.namespace}/${secretName}`, fetched: await fetchJson(api, `/api/v1/namespaces/${enc(reference.namespace)}/secrets/${enc(secretName)}`, timeoutMs) };
  return { annotation, certificate, api: groupVersion, secret };
}

async function gatherIdentities(api: JsonApi, source: IdentitiesSource | undefined, timeoutMs: number): Promise<IdentitiesFacts | undefined> {
  if (source === undefined) return undefined;
  if (source.kind === 'file') return { source: source.source, identities: source.identities };
  const where = `configmap/${source.namespace}/${source.name}`;
  const fetched = await fetchJson(api, `/api/v1/namespaces/${enc(source.namespace)}/configmaps/${enc(source.name)}`, timeoutMs);
  if (fetched.status !== 'ok') return { source: where, unread: fetched };
  const data = isJsonObject(fetched.value) && isJsonObject(fetched.value.data) ? fetched.value.data : {};
  const text = data[POD_IDENTITIES_KEY];
  const parsed = parsePodIdentities(typeof text === 'string' ? text : '', `${where} data.${POD_IDENTITIES_KEY}`);
  return parsed.ok ? { source: where, identities: parsed.value } : { source: where, invalid: parsed.error };
}

/** A node of the cluster to ask as (any: the grant is usually to the group), else a made-up name. */
async function nodeName(api: JsonApi, timeoutMs: number): Promise<{ node: string; assumed: boolean }> {
  const nodes = await fetchJson(api, '/api/v1/nodes?limit=1', timeoutMs);
  const first = nodes.status === 'ok' && isJsonObject(nodes.value) && Array.isArray(nodes.value.items) ? nodes.value.items[0] : undefined;
  const name = isJsonObject(first) && isJsonObject(first.metadata) ? first.metadata.name : undefined;
  return typeof name === 'string' && name !== '' ? { node: name, assumed: false } : { node: 'doctor-any-node', assumed: true };
}

/**
 * For the ServiceAccounts carrying eks.amazonaws.com/ecr-role-arn (the first ones), may a node mint
 * the provider's audience for them? A SubjectAccessReview per ServiceAccount, as NodeRestriction asks
 * the authorizer (shared/k8s/node-audience-rbac.ts).
 */
async function gatherImagePull(api: JsonApi, serviceAccounts: Fetched<ListResult>, audience: string, timeoutMs: number): Promise<ImagePullFacts | undefined> {
  if (serviceAccounts.status !== 'ok') return undefined;
  const annotated = ecrAnnotatedServiceAccounts(serviceAccounts.value.items).slice(0, DEFAULTS.maxImagePullReviews);
  if (annotated.length === 0) return undefined;
  const { node, assumed } = await nodeName(api, timeoutMs);
  const reviews = new Map<string, Fetched<AccessReviewAnswer>>();
  await Promise.all(
    annotated.map(async ({ namespace, name }) => {
      let answer: Fetched<AccessReviewAnswer>;
      try {
        const review = await api.postJson('/apis/authorization.k8s.io/v1/subjectaccessreviews', nodeAudienceAccessReview(node, audience, namespace, name), AbortSignal.timeout(timeoutMs));
        const status = isJsonObject(review) && isJsonObject(review.status) ? review.status : undefined;
        answer =
          status === undefined || typeof status.allowed !== 'boolean'
            ? { status: 'failed', error: 'the SubjectAccessReview came back without status.allowed' }
            : { status: 'ok', value: { allowed: status.allowed, reason: typeof status.reason === 'string' ? status.reason.slice(0, 300) : '' } };
      } catch (error) {
        answer = failure(error, timeoutMs);
      }
      reviews.set(`${namespace}/${name}`, answer);
    }),
  );
  return { audience, node, nodeAssumed: assumed, reviews };
}

/**
 * Reads everything the checks need: each GET bounded in time, each list paginated and capped, the
 * pods left as pages to read while checking. The first GET (/version) decides whether the API
 * server can be used at all.
 */
export async function gatherFacts(config: GatherConfig): Promise<{ facts: DoctorFacts; pods: PodPages }> {
  const { api } = config;
  const timeoutMs = config.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
  const pageSize = config.pageSize ?? DEFAULTS.pageSize;
  const maxPods = config.maxPods ?? DEFAULTS.maxPods;
  const version = await fetchJson(api, '/version', timeoutMs);
  if (version.status === 'failed') throw new ApiUnreachableError(`cannot reach the API server ${config.server}: ${version.error}`);
  if (version.status === 'forbidden' && /HTTP 401/.test(version.error)) throw new ApiUnreachableError(`the API server ${config.server} refused the kubeconfig's credentials: ${version.error}`);

  const scoped = config.namespace;
  const nsPath = scoped ? `/api/v1/namespaces/${enc(scoped)}` : '/api/v1';
  const configurationPath = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${enc(config.configurationName)}`;
  const policyApi = '/apis/admissionregistration.k8s.io/v1';
  const [configuration, namespaces, serviceAccounts, identities, discovery, jwks, policies, bindings] = await Promise.all([
    fetchJson(api, configurationPath, timeoutMs),
    scoped
      ? fetchJson(api, nsPath, timeoutMs).then((fetched): Fetched<ListResult> => (fetched.status === 'ok' ? { status: 'ok', value: { items: [fetched.value], truncated: false } } : fetched))
      : listAll(api, '/api/v1/namespaces', {}, config.maxNamespaces ?? DEFAULTS.maxNamespaces, pageSize, timeoutMs),
    listAll(api, `${nsPath}/serviceaccounts`, {}, config.maxServiceAccounts ?? DEFAULTS.maxServiceAccounts, pageSize, timeoutMs),
    gatherIdentities(api, config.identities, timeoutMs),
    fetchJson(api, DISCOVERY_PATH, timeoutMs),
    // The API server serves the JWKS only as application/jwk-set+json (406 for application/json).
    fetchJson(api, JWKS_PATH, timeoutMs, 'application/jwk-set+json'),
    // A 404 on an API server older than 1.36: the admission-policy mode is not available.
    listAll(api, `${policyApi}/mutatingadmissionpolicies`, {}, DEFAULTS.maxPolicies, pageSize, timeoutMs),
    listAll(api, `${policyApi}/mutatingadmissionpolicybindings`, {}, DEFAULTS.maxPolicies, pageSize, timeoutMs),
  ]);

  const webhooks = new Map<string, WebhookFacts>();
  const parsed = checkConfiguration(config.configurationName, configuration).webhooks ?? [];
  const certManager = await gatherCertManager(api, configuration, timeoutMs);
  await Promise.all(
    parsed
      .filter((webhook) => webhook.podCreate)
      .map(async (webhook) => {
        if (webhook.clientConfig.kind === 'url') webhooks.set(webhook.name, { url: await probeUrl(webhook.clientConfig.url, webhook.caBundle, timeoutMs) });
        else webhooks.set(webhook.name, { service: await gatherService(api, webhook as ParsedWebhook & { clientConfig: { kind: 'service' } }, config, timeoutMs, certManager?.secret) });
      }),
  );

  const imagePull = await gatherImagePull(api, serviceAccounts, config.imagePullAudience ?? ECR_TOKEN_AUDIENCE, timeoutMs);

  const state: { truncated: boolean; failure: Fetched<never> | undefined } = { truncated: false, failure: undefined };
  // Pods that have finished are left out by the API server; pods being deleted are skipped by the check.
  const pods: PodPages = {
    pages: listPages(api, `${nsPath}/pods`, { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }, maxPods, pageSize, timeoutMs, state),
    outcome: () => state,
  };
  const facts: DoctorFacts = {
    now: config.now?.() ?? new Date(),
    options: config.options,
    namespace: scoped,
    configurationName: config.configurationName,
    configuration,
    namespaces,
    serviceAccounts,
    identities,
    certManager,
    webhooks,
    oidc: { discovery, jwks },
    admissionPolicies: { version: version.status === 'ok' && isJsonObject(version.value) && typeof version.value.gitVersion === 'string' ? version.value.gitVersion : undefined, policies, bindings },
    maxPods,
    imagePull,
  };
  return { facts, pods };
}
