import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { generateCertificates } from '../../src/shared/certs/generate.js';
import type { JsonObject } from '../../src/shared/json.js';
import { ApiClient } from '../../src/shared/k8s/api-client.js';
import { type ClusterAccess, clusterAccess } from '../../src/shared/k8s/request-auth.js';

/** What the API server saw of one request. */
interface Seen {
  readonly authorization: string | null;
  readonly impersonate: string | null;
  readonly servername: string | null;
  readonly clientCertificate: string | null;
}

const base64 = (text: string): string => Buffer.from(text).toString('base64');

/**
 * Every kubeconfig form the serving process relies on, applied by request-auth.ts (no client-node
 * config.js) or, for the rarer ones, by client-node itself, against a real HTTPS server that
 * reports what it received: the CA, insecure-skip-tls-verify, tls-server-name, client
 * certificates, tokens, basic auth, impersonation, exec plugins (with client-node's cache and
 * expiry), a proxy and the oidc auth-provider.
 */
describe('cluster access: every kubeconfig form against a real HTTPS server', function () {
  this.timeout(30_000);
  // The server's certificate names 127.0.0.1 and kubernetes.default.svc; the other one only kubernetes.default.svc.
  const serving = generateCertificates({ service: 'kubernetes', namespace: 'default', hosts: ['127.0.0.1'] });
  const dnsOnly = generateCertificates({ service: 'kubernetes', namespace: 'default' });
  const client = generateCertificates({ service: 'client', namespace: 'default' });
  let server: Server;
  let dnsOnlyServer: Server;
  let url: string;
  let dnsOnlyUrl: string;
  let dir: string;

  const listen = async (certificates: typeof serving): Promise<[Server, string]> => {
    const created = createServer({ cert: certificates.cert, key: certificates.key, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const seen: Seen = {
        authorization: req.headers.authorization ?? null,
        impersonate: (req.headers['impersonate-user'] as string | undefined) ?? null,
        servername: typeof socket.servername === 'string' ? socket.servername : null,
        clientCertificate: peer && 'fingerprint256' in peer && peer.fingerprint256 ? peer.fingerprint256 : null,
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
    });
    await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
    return [created, `https://127.0.0.1:${(created.address() as AddressInfo).port}`];
  };

  before(async () => {
    [server, url] = await listen(serving);
    [dnsOnlyServer, dnsOnlyUrl] = await listen(dnsOnly);
  });
  after(() => {
    server.close();
    dnsOnlyServer.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-request-auth-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function config(cluster: JsonObject, user: JsonObject): JsonObject {
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: url, 'certificate-authority-data': base64(serving.caCert), ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'apps' } }],
      'current-context': 'x',
    };
  }

  async function access(cluster: JsonObject, user: JsonObject): Promise<ClusterAccess> {
    const built = await clusterAccess(config(cluster, user));
    assert.ok(built.ok, built.ok ? '' : built.error);
    return built.value;
  }

  async function seen(cluster: ClusterAccess): Promise<Seen> {
    const api = new ApiClient(cluster);
    try {
      return (await api.getJson('/seen', AbortSignal.timeout(5000))) as Seen;
    } finally {
      api.close();
    }
  }

  it('the CA verifies the server, and a bearer token is sent; server and namespace are read', async () => {
    const cluster = await access({}, { token: 'the-token' });
    assert.equal(cluster.server, url);
    assert.equal(cluster.namespace, 'apps');
    assert.equal(cluster.proxyUrl, undefined);
    assert.deepEqual(await seen(cluster), { authorization: 'Bearer the-token', impersonate: null, servername: null, clientCertificate: null });
    // Without the CA the server is not trusted.
    await assert.rejects(seen(await access({ 'certificate-authority-data': null }, { token: 'the-token' })), /self-signed|unable to verify|certificate/);
  });

  it('a client certificate and key are presented', async () => {
    const cluster = await access({}, { 'client-certificate-data': base64(client.cert), 'client-key-data': base64(client.key) });
    const answer = await seen(cluster);
    assert.equal(answer.clientCertificate, new X509Certificate(client.cert).fingerprint256);
    assert.equal(answer.authorization, null);
  });

  it('basic auth: username and password', async () => {
    const answer = await seen(await access({}, { username: 'admin', password: 's3cret' }));
    assert.equal(answer.authorization, `Basic ${base64('admin:s3cret')}`);
  });

  it('as: the Impersonate-User header', async () => {
    const answer = await seen(await access({}, { token: 't', as: 'system:serviceaccount:apps:reader' }));
    assert.equal(answer.impersonate, 'system:serviceaccount:apps:reader');
    assert.equal(answer.authorization, 'Bearer t');
  });

  it('insecure-skip-tls-verify: a server no CA vouches for is accepted', async () => {
    const answer = await seen(await access({ 'certificate-authority-data': null, 'insecure-skip-tls-verify': true }, { token: 't' }));
    assert.equal(answer.authorization, 'Bearer t');
  });

  it('tls-server-name: the certificate is checked against that name and it is sent as SNI', async () => {
    const named = { server: dnsOnlyUrl, 'certificate-authority-data': base64(dnsOnly.caCert) };
    await assert.rejects(seen(await access(named, { token: 't' })), /127\.0\.0\.1|altnames|Hostname/i, 'the certificate does not name 127.0.0.1');
    const answer = await seen(await access({ ...named, 'tls-server-name': 'kubernetes.default.svc' }, { token: 't' }));
    assert.equal(answer.servername, 'kubernetes.default.svc');
  });

  it('exec plugins run through client-node\'s ExecAuth: a credential is reused until its expirationTimestamp', async () => {
    const runs = join(dir, 'runs');
    writeFileSync(runs, '');
    const plugin = (expiration: string): JsonObject => {
      const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec', expirationTimestamp: expiration } });
      const script = join(dir, `plugin-${expiration.slice(0, 4)}.sh`);
      writeFileSync(script, `#!/bin/sh\necho run >> '${runs}'\nprintf '%s' '${credential}'\n`);
      chmodSync(script, 0o755);
      return { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script, interactiveMode: 'Never' } };
    };
    const runCount = (): number => readFileSync(runs, 'utf8').split('\n').filter(Boolean).length;
    const fresh = await access({}, plugin('2999-01-01T00:00:00Z'));
    assert.equal((await seen(fresh)).authorization, 'Bearer from-exec');
    assert.equal((await seen(fresh)).authorization, 'Bearer from-exec');
    assert.equal(runCount(), 1, 'an unexpired credential is cached');
    writeFileSync(runs, '');
    const expired = await access({}, plugin('2000-01-01T00:00:00Z'));
    await seen(expired);
    await seen(expired);
    assert.equal(runCount(), 2, 'an expired credential is asked for again');
  });

  it('an inline token wins over an exec plugin\'s, as in client-node', async () => {
    const script = join(dir, 'plugin.sh');
    writeFileSync(script, `#!/bin/sh\nprintf '%s' '${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec' } })}'\n`);
    chmodSync(script, 0o755);
    const answer = await seen(await access({}, { token: 'inline', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: script } }));
    assert.equal(answer.authorization, 'Bearer inline');
  });

  it('proxy-url: client-node (loaded for it) tunnels through the proxy', async () => {
    let tunnels = 0;
    const proxy: HttpServer = createHttpServer();
    proxy.on('connect', (req, socket, head) => {
      tunnels += 1;
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const cluster = await access({ 'proxy-url': proxyUrl }, { token: 'proxied' });
      assert.equal(cluster.proxyUrl, proxyUrl);
      assert.equal((await seen(cluster)).authorization, 'Bearer proxied');
      assert.equal(tunnels, 1);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it('auth-provider oidc: client-node (loaded for it) sends the unexpired id-token', async () => {
    const payload = Buffer.from(JSON.stringify({ iss: 'https://issuer.example', exp: 4_102_444_800 })).toString('base64url');
    const idToken = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${payload}.c2ln`;
    const cluster = await access({}, { 'auth-provider': { name: 'oidc', config: { 'client-id': 'k', 'id-token': idToken, 'idp-issuer-url': 'https://issuer.example' } } });
    assert.equal((await seen(cluster)).authorization, `Bearer ${idToken}`);
  });

  it('bad clusters are one line, not a crash at the first request', async () => {
    for (const [cluster, message] of [
      [{ server: null }, /^cluster "c" has no server$/],
      [{ server: 'not a url' }, /^cluster "c": server "not a url" is not a URL$/],
      [{ server: 'ftp://127.0.0.1' }, /is not http\(s\)$/],
      [{ server: 'http://127.0.0.1:1' }, /plain http, which needs insecure-skip-tls-verify: true$/],
      [{ 'certificate-authority-data': 7 }, /^cluster "c": certificate-authority-data is not text$/],
      [{ 'proxy-url': 8080 }, /^cluster "c": proxy-url is not text$/],
    ] as const) {
      const built = await clusterAccess(config(cluster, { token: 't' }));
      assert.equal(built.ok, false);
      assert.match(built.ok ? '' : built.error, message);
    }
    const noContext = await clusterAccess({ ...config({}, {}), 'current-context': 'missing' });
    assert.equal(noContext.ok ? '' : noContext.error, 'has no context "missing" naming a cluster');
  });
});
