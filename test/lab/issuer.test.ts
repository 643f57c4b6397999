import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { startIssuer } from '../../src/lab/issuer-server.js';
import { keyId, loadIssuerKey, loadOrCreateIssuerKey } from '../../src/lab/keys.js';
import { mintProjectedToken } from '../../src/lab/token.js';
import { runCli } from '../helpers/cli.js';
import { rsaIssuerKey } from '../helpers/lab.js';
import { CliProcess } from '../helpers/process.js';

describe('OIDC issuer and token minting', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-issuer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('computes kid as Kubernetes does: base64url(SHA-256(DER SubjectPublicKeyInfo))', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const expected = createHash('sha256').update(der).digest().toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    assert.equal(keyId(publicKey), expected);
    assert.equal(keyId(publicKey).length, 43);
  });

  it('loads a PKCS#1 private key (a kube-apiserver sa.key), a PKCS#8 one, and a public key that cannot sign', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
    writeFileSync(join(dir, 'pkcs8.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'sa.pub'), createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }));
    const pkcs1 = await loadIssuerKey(join(dir, 'sa.key'));
    const pkcs8 = await loadIssuerKey(join(dir, 'pkcs8.key'));
    const pub = await loadIssuerKey(join(dir, 'sa.pub'));
    assert.ok(pkcs1.ok && pkcs8.ok && pub.ok);
    assert.equal(pkcs1.value.kid, pkcs8.value.kid);
    assert.equal(pub.value.kid, pkcs1.value.kid);
    assert.equal(pub.value.privateKey, undefined);
    await assert.rejects(mintProjectedToken(pub.value, { issuer: 'x', audiences: ['a'], namespace: 'n', serviceAccount: 's', expirationSeconds: 60 }), /public key: it cannot sign/);
  });

  it('refuses EC keys (the lab signs and accepts RS256 only) and unreadable files', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'ec.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    assert.deepEqual(await loadIssuerKey(join(dir, 'ec.key')), { ok: false, error: `${join(dir, 'ec.key')}: only RSA keys are supported (tokens are signed RS256), got ec` });
    writeFileSync(join(dir, 'junk.key'), 'not a key');
    const junk = await loadIssuerKey(join(dir, 'junk.key'));
    assert.ok(!junk.ok && junk.error.includes('is not a PEM RSA key'));
  });

  it('generates the default key once, private to the owner', async () => {
    const path = join(dir, 'nested', 'issuer.key');
    const first = await loadOrCreateIssuerKey(path);
    assert.ok(first.ok && first.created);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const second = await loadOrCreateIssuerKey(path);
    assert.ok(second.ok && !second.created);
    assert.equal(second.value.kid, first.value.kid);
    // A path that exists but is not a readable key file is reported, never replaced.
    const notAFile = await loadOrCreateIssuerKey(join(dir, 'nested'));
    assert.deepEqual(notAFile, { ok: false, code: 'ERR_FILE_NOT_REGULAR', error: `cannot read key ${join(dir, 'nested')}: is a directory, expected a file` });
  });

  it('mints tokens with the projected-token claims of a real API server', async () => {
    const key = await rsaIssuerKey();
    const token = await mintProjectedToken(key, {
      issuer: 'https://issuer.example.com',
      audiences: ['sts.amazonaws.com'],
      namespace: 'shop',
      serviceAccount: 'cart',
      serviceAccountUid: 'sa-uid',
      pod: { name: 'cart-1', uid: 'pod-uid' },
      node: { name: 'ip-10-0-1-7.ec2.internal', uid: 'node-uid' },
      expirationSeconds: 3600,
      issuedAt: 1_700_000_000,
    });
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'RS256', kid: key.kid });
    const { jti, ...claims } = decodeJwt(token);
    // A random id per token, as a 1.32+ API server writes it (the audit log's issued-credential-id).
    assert.match(String(jti), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(claims, {
      aud: ['sts.amazonaws.com'],
      exp: 1_700_003_600,
      iat: 1_700_000_000,
      nbf: 1_700_000_000,
      iss: 'https://issuer.example.com',
      sub: 'system:serviceaccount:shop:cart',
      'kubernetes.io': {
        namespace: 'shop',
        node: { name: 'ip-10-0-1-7.ec2.internal', uid: 'node-uid' },
        pod: { name: 'cart-1', uid: 'pod-uid' },
        serviceaccount: { name: 'cart', uid: 'sa-uid' },
      },
    });
    const again = decodeJwt(await mintProjectedToken(key, { issuer: 'https://issuer.example.com', audiences: ['x'], namespace: 'shop', serviceAccount: 'cart', expirationSeconds: 60 }));
    assert.notEqual(again.jti, jti);
    assert.equal((again['kubernetes.io'] as { node?: unknown }).node, undefined);
  });

  it('serves discovery and a JWKS with every key; tokens verify against it', async () => {
    const signing = await rsaIssuerKey();
    const next = await rsaIssuerKey();
    const issuer = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => [signing, next] });
    try {
      const discovery = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      assert.deepEqual(discovery, {
        issuer: issuer.issuer,
        jwks_uri: `${issuer.issuer}/keys`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        claims_supported: ['sub', 'iss'],
      });
      const jwks = (await (await fetch(String(discovery.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
      assert.deepEqual(jwks.keys.map((jwk) => jwk.kid), [signing.kid, next.kid]);
      assert.ok(jwks.keys.every((jwk) => jwk.kty === 'RSA' && jwk.alg === 'RS256' && jwk.use === 'sig' && !('d' in jwk)));
      const token = await mintProjectedToken(signing, { issuer: issuer.issuer, audiences: ['sts.amazonaws.com'], namespace: 'n', serviceAccount: 's', expirationSeconds: 600 });
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(String(discovery.jwks_uri))), { issuer: issuer.issuer, audience: 'sts.amazonaws.com' });
      assert.equal(payload.sub, 'system:serviceaccount:n:s');
      assert.equal((await fetch(`${issuer.issuer}/other`)).status, 404);
    } finally {
      await issuer.close();
    }
  });

  it('puts discovery under the path of an issuer URL that has one', async () => {
    const key = await rsaIssuerKey();
    const probe = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => [key] });
    const port = probe.port;
    await probe.close();
    const issuer = await startIssuer({ bindAddress: '127.0.0.1', port, issuerUrl: `http://127.0.0.1:${port}/clusters/kind/`, keys: () => [key] });
    try {
      assert.equal(issuer.issuer, `http://127.0.0.1:${port}/clusters/kind`);
      const discovery = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      assert.equal(discovery.jwks_uri, `http://127.0.0.1:${port}/clusters/kind/keys`);
      assert.equal((await fetch(String(discovery.jwks_uri))).status, 200);
    } finally {
      await issuer.close();
    }
  });

  it('issuer and token commands: serve a given sa.key and mint tokens it verifies', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(dir, 'sa.key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const server = CliProcess.start(['issuer', '--port', '0', '--key', keyFile]);
    try {
      const listening = await server.line('issuer-listening');
      const issuerUrl = String(listening.issuer);
      assert.deepEqual(listening.kids, [keyId(createPublicKey(privateKey))]);
      const minted = await runCli(['token', '--namespace', 'default', '--service-account', 'demo-app', '--pod', 'demo-app-1', '--expiration', '600', '--key', keyFile, '--issuer-url', issuerUrl]);
      assert.equal(minted.code, 0, minted.stderr);
      const { payload } = await jwtVerify(minted.stdout.trim(), createRemoteJWKSet(new URL(`${issuerUrl}/keys`)), { issuer: issuerUrl, audience: 'sts.amazonaws.com' });
      assert.equal(payload.sub, 'system:serviceaccount:default:demo-app');
      assert.equal((payload['kubernetes.io'] as { pod: { name: string } }).pod.name, 'demo-app-1');
      assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 600);
      assert.equal(await server.stop(), 0);
    } finally {
      await server.stop('SIGKILL');
    }
  });

  it('token command: several audiences, and one-line errors', async () => {
    const keyFile = join(dir, 'k.key');
    writeFileSync(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const minted = await runCli(['token', '--namespace', 'a', '--service-account', 'b', '--audience', 'one', '--audience', 'two', '--key', keyFile]);
    assert.deepEqual(decodeJwt(minted.stdout.trim()).aud, ['one', 'two']);
    const missing = await runCli(['token', '--namespace', 'a', '--service-account', 'b', '--key', join(dir, 'nope.key')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^pod-identity-webhook: cannot read key .*nope\.key/);
    const noSa = await runCli(['token', '--namespace', 'a']);
    assert.equal(noSa.code, 2);
    assert.match(noSa.stderr, /required option '--service-account <name>' not specified/);
    assert.ok(readFileSync(keyFile, 'utf8').includes('PRIVATE KEY'));
  });
});
