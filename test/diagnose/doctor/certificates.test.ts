import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkSecretCertificate, checkServedCertificate } from '../../../src/diagnose/doctor/certificate.js';
import type { ParsedWebhook } from '../../../src/diagnose/doctor/configuration.js';
import { checkReadiness } from '../../../src/diagnose/doctor/endpoints.js';
import { probeUrl } from '../../../src/diagnose/doctor/gather.js';
import type { Finding } from '../../../src/diagnose/report.js';
import { createCertificateAuthority, type GeneratedCertificates, generateCertificates, issueServingCertificate } from '../../../src/shared/certs/generate.js';
import { freePort } from '../../e2e/support/processes.js';

const DAY = 86_400_000;
const daysAgo = (days: number): Date => new Date(Date.now() - days * DAY);

/** A real TLS server on 127.0.0.1 serving `certificates` and answering /readyz. */
async function serve(certificates: { cert: string; key: string }): Promise<{ server: Server; url: URL }> {
  const server = createServer({ cert: certificates.cert, key: certificates.key }, (req, res) => {
    const body = JSON.stringify(req.url === '/readyz' ? { status: 'ready', checks: { tls: true, serviceAccounts: true, shuttingDown: false } } : { status: 'not found' });
    res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`) };
}

function urlWebhook(url: URL, caBundle: string): ParsedWebhook & { clientConfig: { kind: 'url'; url: URL } } {
  return { name: 'mutate.test', clientConfig: { kind: 'url', url }, caBundle, failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded', namespaceSelector: undefined, objectSelector: undefined, podCreate: true, matchConditions: 0 };
}

function serviceWebhook(caBundle: string): ParsedWebhook & { clientConfig: { kind: 'service'; namespace: string; name: string; port: number; path: undefined } } {
  return {
    name: 'mutate.test',
    clientConfig: { kind: 'service', namespace: 'pod-identity-webhook', name: 'pod-identity-webhook', port: 443, path: undefined },
    caBundle,
    failurePolicy: 'Ignore',
    reinvocationPolicy: 'IfNeeded',
    namespaceSelector: undefined,
    objectSelector: undefined,
    podCreate: true,
    matchConditions: 0,
  };
}

const raised = (findings: readonly Finding[]): string[] => findings.filter((finding) => finding.severity === 'warning' || finding.severity === 'error').map((finding) => finding.code ?? '?');

/** Serves `served` on loopback, connects as the API server would with `caBundle`, and checks what it saw. */
async function servedFindings(served: GeneratedCertificates, caBundle: string): Promise<Finding[]> {
  const { server, url } = await serve(served);
  try {
    const webhook = urlWebhook(url, caBundle);
    const observation = await probeUrl(url, caBundle, 5000);
    assert.ok(observation.connected, 'connected');
    return [...checkServedCertificate(webhook, observation, new Date()), ...checkReadiness(webhook, observation.readyz, 'at the url')];
  } finally {
    server.close();
  }
}

const SERVICE = { service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] };

describe('doctor: the served certificate, through a real TLS handshake', function () {
  this.timeout(30_000);

  it('a caBundle that verifies a certificate naming the host, with time left: ok, and /readyz answered on the same connection', async () => {
    const served = generateCertificates(SERVICE);
    const findings = await servedFindings(served, served.caCert);
    assert.deepEqual(raised(findings), []);
    assert.ok(findings.some((finding) => finding.severity === 'ok' && finding.check === 'webhook-certificate' && /verified in a TLS handshake/.test(finding.detail)), JSON.stringify(findings));
    assert.ok(findings.some((finding) => finding.severity === 'ok' && /answers GET \/readyz at the url: 200/.test(finding.detail)));
  });

  it('a caBundle of another CA: CA_BUNDLE_MISMATCH, with what the handshake said', async () => {
    const served = generateCertificates(SERVICE);
    const other = generateCertificates(SERVICE);
    const findings = await servedFindings(served, other.caCert);
    assert.deepEqual(raised(findings), ['CA_BUNDLE_MISMATCH']);
    assert.match(findings.find((finding) => finding.code === 'CA_BUNDLE_MISMATCH')!.detail, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i);
  });

  it('a certificate that does not name the url host: CERTIFICATE_NAME_MISMATCH', async () => {
    const served = generateCertificates({ ...SERVICE, hosts: ['localhost'] });
    assert.deepEqual(raised(await servedFindings(served, served.caCert)), ['CERTIFICATE_NAME_MISMATCH']);
  });

  it('an expired certificate: CERTIFICATE_EXPIRED (the caBundle still verifies it otherwise)', async () => {
    const served = generateCertificates({ ...SERVICE, validityDays: 30, now: daysAgo(40) });
    const findings = await servedFindings(served, served.caCert);
    assert.deepEqual(raised(findings), ['CERTIFICATE_EXPIRED'], JSON.stringify(findings));
  });

  it('a certificate not valid yet: CERTIFICATE_NOT_YET_VALID', async () => {
    const served = generateCertificates({ ...SERVICE, validityDays: 30, now: new Date(Date.now() + 2 * DAY) });
    assert.deepEqual(raised(await servedFindings(served, served.caCert)), ['CERTIFICATE_NOT_YET_VALID']);
  });

  it('5 days left of 30: CERTIFICATE_EXPIRES_SOON (a warning: the verdict stays ok)', async () => {
    const served = generateCertificates({ ...SERVICE, validityDays: 30, now: daysAgo(25) });
    const findings = await servedFindings(served, served.caCert);
    assert.deepEqual(raised(findings), ['CERTIFICATE_EXPIRES_SOON']);
    assert.equal(findings.find((finding) => finding.code === 'CERTIFICATE_EXPIRES_SOON')!.severity, 'warning');
  });

  it('a short-lived certificate warns only in the last third of its lifetime', async () => {
    const fresh = generateCertificates({ ...SERVICE, validitySeconds: 3600 });
    assert.deepEqual(raised(await servedFindings(fresh, fresh.caCert)), []);
    // Issued 50 minutes ago (plus the 5 minutes of clock skew the generator backdates): 15 minutes left of 65.
    const late = generateCertificates({ ...SERVICE, validitySeconds: 3600, now: new Date(Date.now() - 45 * 60_000) });
    assert.deepEqual(raised(await servedFindings(late, late.caCert)), ['CERTIFICATE_EXPIRES_SOON']);
  });

  it("the caBundle's CA expiring soon: CERTIFICATE_EXPIRES_SOON naming the CA", async () => {
    const ca = createCertificateAuthority('old-ca', 3650, daysAgo(3646));
    const served = issueServingCertificate(ca, SERVICE);
    const findings = await servedFindings(served, served.caCert);
    assert.deepEqual(raised(findings), ['CERTIFICATE_EXPIRES_SOON']);
    assert.match(findings.find((finding) => finding.code === 'CERTIFICATE_EXPIRES_SOON')!.detail, /the caBundle's CA/);
  });

  it('no caBundle and a certificate the system roots do not know: CA_BUNDLE_EMPTY', async () => {
    const served = generateCertificates(SERVICE);
    assert.deepEqual(raised(await servedFindings(served, '')), ['CA_BUNDLE_EMPTY']);
  });

  it('a webhook that completes the handshake but never answers /readyz: the certificate is still judged, the probe ends at its timeout', async () => {
    const served = generateCertificates(SERVICE);
    // Sends a header byte by byte, slower than the idle timeout resets: only the overall deadline ends it.
    const server = createServer({ cert: served.cert, key: served.key }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/mutate`);
      const started = Date.now();
      const observation = await probeUrl(url, served.caCert, 1000);
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
      assert.ok(observation.connected);
      assert.deepEqual(raised(checkServedCertificate(urlWebhook(url, served.caCert), observation, new Date())), []);
      assert.deepEqual(raised(checkReadiness(urlWebhook(url, served.caCert), observation.readyz, 'at the url')), ['CHECK_FAILED']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('nothing listening: WEBHOOK_UNREACHABLE', async () => {
    const url = new URL(`https://127.0.0.1:${await freePort()}/mutate`);
    const observation = await probeUrl(url, '', 2000);
    assert.equal(observation.connected, false);
    assert.deepEqual(raised(checkServedCertificate(urlWebhook(url, ''), observation, new Date())), ['WEBHOOK_UNREACHABLE']);
  });
});

describe('doctor: the certificate of a service clientConfig, from its Secret', () => {
  const secret = (certificates: GeneratedCertificates): { name: string; fetched: { status: 'ok'; value: unknown } } => ({
    name: 'pod-identity-webhook/pod-identity-webhook-certs',
    fetched: { status: 'ok', value: { data: { 'tls.crt': Buffer.from(certificates.cert).toString('base64') } } },
  });
  const check = (certificates: GeneratedCertificates, caBundle: string): string[] => raised(checkSecretCertificate(serviceWebhook(caBundle), secret(certificates), [], new Date()));

  it('verified, named NAME.NAMESPACE.svc, time left: ok, and the finding says it was compared from the Secret', () => {
    const certificates = generateCertificates(SERVICE);
    const findings = checkSecretCertificate(serviceWebhook(certificates.caCert), secret(certificates), [], new Date());
    assert.deepEqual(raised(findings), []);
    assert.match(findings[0]!.detail, /Compared from the Secret: the API server's service proxy does not show the certificate the webhook serves/);
  });

  it('expired, expiring, not yet valid, another CA', () => {
    const expired = generateCertificates({ ...SERVICE, validityDays: 30, now: daysAgo(31) });
    assert.deepEqual(check(expired, expired.caCert), ['CERTIFICATE_EXPIRED']);
    const soon = generateCertificates({ ...SERVICE, validityDays: 90, now: daysAgo(88) });
    assert.deepEqual(check(soon, soon.caCert), ['CERTIFICATE_EXPIRES_SOON']);
    const future = generateCertificates({ ...SERVICE, validityDays: 30, now: new Date(Date.now() + DAY) });
    assert.deepEqual(check(future, future.caCert), ['CERTIFICATE_NOT_YET_VALID']);
    const other = generateCertificates(SERVICE);
    assert.deepEqual(check(soon, other.caCert), ['CERTIFICATE_EXPIRES_SOON', 'CA_BUNDLE_MISMATCH']);
  });

  it('a Secret without tls.crt (self-managed before its first write), or none at all: CERTIFICATE_NOT_CHECKED, an info', () => {
    const webhook = serviceWebhook('x');
    const empty = checkSecretCertificate(webhook, { name: 'ns/empty', fetched: { status: 'ok', value: { data: {} } } }, [], new Date());
    assert.equal(empty[0]!.code, 'CERTIFICATE_NOT_CHECKED');
    assert.equal(empty[0]!.severity, 'info');
    assert.match(empty[0]!.detail, /has no tls\.crt yet/);
    const none = checkSecretCertificate(webhook, undefined, ['ns/a', 'ns/b'], new Date());
    assert.match(none[0]!.detail, /none of the Secrets ns\/a, ns\/b exists/);
  });
});
