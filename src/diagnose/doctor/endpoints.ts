import { isJsonObject } from '../../shared/json.js';
import type { Finding } from '../report.js';
import { type ParsedWebhook, unreadFinding } from './configuration.js';
import type { Fetched, HttpAnswer, ServiceFacts } from './facts.js';
import { coded, noted, passed, shown } from './findings.js';

type ServiceWebhook = ParsedWebhook & { readonly clientConfig: { readonly kind: 'service'; readonly namespace: string; readonly name: string; readonly port: number } };

export function isServiceWebhook(webhook: ParsedWebhook): webhook is ServiceWebhook {
  return webhook.clientConfig.kind === 'service';
}

/** The Service port the clientConfig's port number names, and its name (EndpointSlice and Endpoints ports are matched by it). */
function servicePort(service: Record<string, unknown>, port: number): { readonly name: string } | undefined {
  const spec = isJsonObject(service.spec) ? service.spec : {};
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  for (const entry of ports) {
    if (isJsonObject(entry) && entry.port === port) return { name: typeof entry.name === 'string' ? entry.name : '' };
  }
  return undefined;
}

const portNamed = (ports: unknown, name: string): boolean =>
  // A slice or subset without ports serves every port (the API server treats an absent list so).
  !Array.isArray(ports) || ports.some((port) => isJsonObject(port) && (port.name ?? '') === name);

/** Ready and not-ready endpoints of the EndpointSlices for the port; a missing `ready` condition counts as ready. */
function sliceEndpoints(slices: readonly unknown[], portName: string): { ready: string[]; notReady: number } {
  const ready: string[] = [];
  let notReady = 0;
  for (const slice of slices) {
    if (!isJsonObject(slice) || !portNamed(slice.ports, portName) || !Array.isArray(slice.endpoints)) continue;
    for (const endpoint of slice.endpoints) {
      if (!isJsonObject(endpoint)) continue;
      const conditions = isJsonObject(endpoint.conditions) ? endpoint.conditions : {};
      const addresses = Array.isArray(endpoint.addresses) ? endpoint.addresses.filter((address) => typeof address === 'string') : [];
      if (conditions.ready === false) notReady += 1;
      else ready.push(...(addresses as string[]).slice(0, 1));
    }
  }
  return { ready, notReady };
}

function endpointsAddresses(endpoints: unknown, portName: string): { ready: string[]; notReady: number } {
  const ready: string[] = [];
  let notReady = 0;
  const subsets = isJsonObject(endpoints) && Array.isArray(endpoints.subsets) ? endpoints.subsets : [];
  for (const subset of subsets) {
    if (!isJsonObject(subset) || !portNamed(subset.ports, portName)) continue;
    for (const address of Array.isArray(subset.addresses) ? subset.addresses : []) if (isJsonObject(address) && typeof address.ip === 'string') ready.push(address.ip);
    notReady += Array.isArray(subset.notReadyAddresses) ? subset.notReadyAddresses.length : 0;
  }
  return { ready, notReady };
}

/** Check 2, service clientConfig: the Service exists, has the port, and has ready endpoints. */
export function checkServiceEndpoints(webhook: ServiceWebhook, facts: ServiceFacts): Finding[] {
  const { namespace, name, port } = webhook.clientConfig;
  const object = `service/${namespace}/${name}`;
  if (facts.service.status === 'missing') return [coded('SERVICE_MISSING', object, `webhook ${webhook.name} calls service ${namespace}/${name}, which does not exist`)];
  if (facts.service.status !== 'ok') return [unreadFinding(facts.service, `service ${namespace}/${name}`, object, 'webhook-endpoints')!];
  const service = facts.service.value;
  if (!isJsonObject(service)) return [coded('OBJECT_UNREADABLE', object, 'the Service is not an object')];
  const spec = isJsonObject(service.spec) ? service.spec : {};
  if (spec.type === 'ExternalName') return [noted('webhook-endpoints', object, `an ExternalName Service (${shown(spec.externalName)}): the API server calls that name; endpoints not checked`)];
  const named = servicePort(service, port);
  if (!named) return [coded('SERVICE_PORT_MISSING', object, `webhook ${webhook.name} calls port ${port}, which the Service does not have`)];

  const findings: Finding[] = [];
  let counted: { ready: string[]; notReady: number } | undefined;
  let source = 'EndpointSlices';
  if (facts.endpointSlices.status === 'ok') counted = sliceEndpoints(facts.endpointSlices.value.items, named.name);
  if ((!counted || counted.ready.length === 0) && facts.endpoints !== undefined) {
    if (facts.endpoints.status === 'ok') {
      const fromEndpoints = endpointsAddresses(facts.endpoints.value, named.name);
      if (!counted || fromEndpoints.ready.length > 0) {
        counted = fromEndpoints;
        source = 'Endpoints';
      }
    } else if (!counted && facts.endpoints.status !== 'missing') {
      findings.push(unreadFinding(facts.endpoints, `the endpoints of ${namespace}/${name}`, object, 'webhook-endpoints')!);
    }
  }
  if (!counted && facts.endpointSlices.status !== 'ok' && facts.endpointSlices.status !== 'missing') {
    findings.push(unreadFinding(facts.endpointSlices, `the EndpointSlices of ${namespace}/${name}`, object, 'webhook-endpoints')!);
    return findings;
  }
  const ready = counted?.ready ?? [];
  const notReady = counted?.notReady ?? 0;
  if (ready.length === 0) {
    const selector = isJsonObject(spec.selector) ? Object.entries(spec.selector).filter((entry) => typeof entry[1] === 'string').map(([key, value]) => `${key}=${String(value)}`).join(',') : '';
    const pods = `kubectl -n ${namespace} get pods${selector ? ` -l ${selector}` : ''}`;
    findings.push(
      coded(
        'NO_READY_ENDPOINTS',
        object,
        `no ready endpoint for port ${port}${notReady > 0 ? ` (${notReady} not ready)` : ''} in its ${source}`,
        `look at the webhook pods (${pods}, then describe and logs; the webhook-deployment findings say what doctor saw): not running, not ready (/readyz), or the Service selector does not match them`,
      ),
    );
  } else {
    findings.push(passed('webhook-endpoints', object, `${ready.length} ready endpoint${ready.length === 1 ? '' : 's'} for port ${port} (${source}: ${ready.slice(0, 5).join(', ')}${ready.length > 5 ? ', ...' : ''})${notReady > 0 ? `, ${notReady} not ready` : ''}`));
  }
  return findings;
}

function statusMessage(body: unknown): string | undefined {
  return isJsonObject(body) && body.kind === 'Status' && typeof body.message === 'string' ? body.message : undefined;
}

/**
 * GET /readyz of the webhook (this project's webhook answers `{status, checks}`), reached `via`
 * the service proxy or the url. A failing `caBundle` check is the webhook saying that its own
 * configuration's caBundle does not verify the certificate it serves.
 */
export function checkReadiness(webhook: ParsedWebhook, readyz: Fetched<HttpAnswer>, via: string): Finding[] {
  const object = `webhook/${webhook.name}`;
  if (readyz.status === 'forbidden' || readyz.status === 'failed') return [unreadFinding(readyz, `GET /readyz ${via}`, object, 'webhook-endpoints')!];
  if (readyz.status === 'missing') return [noted('webhook-endpoints', object, `GET /readyz ${via}: 404, not this project's webhook? readiness not checked`)];
  const { status, body } = readyz.value;
  const apiError = statusMessage(body);
  if (apiError !== undefined) {
    // Measured: kube-apiserver 1.30 answers 404 "services ... not found" for a Service that exists but has no Endpoints object.
    const hint = status === 404 && webhook.clientConfig.kind === 'service' ? ' (the API server answers so for a missing Service; kube-apiserver 1.30 also for a Service without an Endpoints object, where 1.37 answers 503)' : '';
    return [coded('WEBHOOK_UNREACHABLE', object, `GET /readyz ${via}: HTTP ${status}: ${shown(apiError, 300)}${hint}`)];
  }
  const checks = isJsonObject(body) && isJsonObject(body.checks) ? body.checks : undefined;
  const listed = checks ? Object.entries(checks).map(([key, value]) => `${key} ${String(value)}`).join(', ') : 'no checks listed';
  if (status === 200) {
    const findings = [passed('webhook-endpoints', object, `answers GET /readyz ${via}: 200 (${listed})`)];
    if (checks?.caBundle === true) findings.push(passed('webhook-certificate', object, `the webhook's /readyz reports that the caBundle of its --webhook-configuration verifies the certificate it serves`));
    return findings;
  }
  if (status === 404) return [noted('webhook-endpoints', object, `GET /readyz ${via}: 404, not this project's webhook? readiness not checked`)];
  if (status === 503 && checks) {
    // Every check must be true, except shuttingDown, which must be false.
    const failing = Object.entries(checks).filter(([key, value]) => (key === 'shuttingDown' ? value !== false : value !== true));
    const findings = [coded('WEBHOOK_NOT_READY', object, `GET /readyz ${via}: 503, failing: ${failing.map(([key, value]) => `${key} ${String(value)}`).join(', ') || listed}`)];
    if (checks.caBundle === false) {
      findings.push(coded('CA_BUNDLE_MISMATCH', object, `the webhook's /readyz reports that the caBundle of its --webhook-configuration does not verify the certificate it serves`));
    }
    return findings;
  }
  return [coded('WEBHOOK_UNREACHABLE', object, `GET /readyz ${via}: HTTP ${status}${checks ? ` (${listed})` : ''}`)];
}
