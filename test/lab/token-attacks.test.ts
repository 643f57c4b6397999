import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startIssuer, type RunningIssuer } from '../../src/lab/issuer-server.js';
import type { RunningHttpServer } from '../../src/lab/http.js';
import { jwksOf, type IssuerKey } from '../../src/lab/keys.js';
import { parseLabConfig, providerId } from '../../src/lab/sts/config.js';
import { startSts } from '../../src/lab/sts/start.js';
import { mintProjectedToken } from '../../src/lab/token.js';
import { silentLogger } from '../../src/shared/log.js';
import { ACCOUNT, rsaIssuerKey, trustPolicyFor } from '../helpers/lab.js';

const ROLE_A = `arn:aws:iam::${ACCOUNT}:role/a`;
const FIXED_NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Signs any header and payload with RS256, including headers jose would refuse to produce. */
function signRaw(key: IssuerKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey!).toString('base64url')}`;
}

describe('lab STS against token attacks', function () {
  this.timeout(30_000);
  let keyA: IssuerKey;
  let keyB: IssuerKey;
  let issuerA: RunningIssuer;
  let issuerB: RunningIssuer;
  let sts: RunningHttpServer;
  let now = FIXED_NOW;
  let jwksFetchesA = 0;

  before(async () => {
    keyA = await rsaIssuerKey();
    keyB = await rsaIssuerKey();
    issuerA = await startIssuer({
      bindAddress: '127.0.0.1',
      port: 0,
      keys: () => {
        jwksFetchesA += 1;
        return [keyA];
      },
    });
    issuerB = await startIssuer({ bindAddress: '127.0.0.1', port: 0, keys: () => [keyB] });
    const config = parseLabConfig({
      providers: [
        { issuer: issuerA.issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuerA.issuer}/keys` },
        { issuer: issuerB.issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuerB.issuer}/keys` },
      ],
      roles: [{ arn: ROLE_A, trustPolicy: trustPolicyFor(providerId(issuerA.issuer), 'system:serviceaccount:default:app') }],
    });
    assert.ok(config.ok);
    sts = await startSts({
      config: config.value,
      serverKey: randomBytes(32),
      bindAddress: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      clockToleranceSeconds: 30,
      now: () => new Date(now),
    });
  });
  after(async () => {
    await sts.close();
    await issuerA.close();
    await issuerB.close();
  });
  afterEach(() => {
    now = FIXED_NOW;
  });

  const assume = (token: string) =>
    new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials: { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' }, maxAttempts: 1 }).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE_A, RoleSessionName: 'attack', WebIdentityToken: token }),
    );
  const code = async (token: string): Promise<string> => {
    try {
      await assume(token);
      return 'OK';
    } catch (error) {
      return (error as Error).name;
    }
  };
  const claims = (overrides: Record<string, unknown> = {}) => {
    const seconds = Math.floor(FIXED_NOW / 1000);
    return { iss: issuerA.issuer, sub: 'system:serviceaccount:default:app', aud: ['sts.amazonaws.com'], iat: seconds, nbf: seconds, exp: seconds + 600, ...overrides };
  };

  it('a correctly signed token is accepted (the baseline for the attacks below)', async () => {
    assert.equal(await code(signRaw(keyA, { alg: 'RS256', kid: keyA.kid }, claims())), 'OK');
  });

  it('a kid naming a key of another configured issuer is refused', async () => {
    // Signed by B's key, carrying B's kid, but claiming to come from A: A's JWKS has no such key.
    assert.equal(await code(signRaw(keyB, { alg: 'RS256', kid: keyB.kid }, claims())), 'InvalidIdentityTokenException');
    // The same token from B's issuer is valid, but B is not trusted by role a.
    assert.equal(await code(signRaw(keyB, { alg: 'RS256', kid: keyB.kid }, claims({ iss: issuerB.issuer }))), 'AccessDenied');
  });

  it('jku and x5u headers are never followed', async () => {
    const attacker = await rsaIssuerKey();
    let hits = 0;
    const trap = createServer((_req, res) => {
      hits += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwksOf([attacker])));
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    try {
      const token = signRaw(attacker, { alg: 'RS256', kid: attacker.kid, jku: `${trapUrl}/jwks`, x5u: `${trapUrl}/cert.pem` }, claims());
      assert.equal(await code(token), 'InvalidIdentityTokenException');
      assert.equal(hits, 0, 'the STS fetched a URL named by the token');
    } finally {
      trap.close();
    }
  });

  it('a crit header is refused even when the signature is valid', async () => {
    const token = signRaw(keyA, { alg: 'RS256', kid: keyA.kid, crit: ['exp-extension'], 'exp-extension': 1 }, claims());
    assert.equal(await code(token), 'InvalidIdentityTokenException');
  });

  it('a crit of b64 (an unencoded payload) is refused as well', async () => {
    assert.equal(await code(signRaw(keyA, { alg: 'RS256', kid: keyA.kid, crit: ['b64'], b64: true }, claims())), 'InvalidIdentityTokenException');
  });

  it('exactly three strict base64url segments: no white space, padding or other spellings, one trailing newline trimmed', async () => {
    const good = signRaw(keyA, { alg: 'RS256', kid: keyA.kid }, claims());
    const [header, payload, signature] = good.split('.') as [string, string, string];
    assert.equal(await code(`${good}\n`), 'OK', 'one trailing newline (as in a token file) is trimmed');
    const malformed: Array<[string, string]> = [
      ['two trailing newlines', `${good}\n\n`],
      ['a trailing space', `${good} `],
      ['white space inside the signature', `${header}.${payload}.${signature.slice(0, 10)} ${signature.slice(10)}`],
      ['a newline inside the signature', `${header}.${payload}.${signature.slice(0, 10)}\n${signature.slice(10)}`],
      ['= padding', `${header}.${payload}.${signature}==`],
      ['standard base64 characters', `${header}.${payload}.${signature.replaceAll('-', '+').replaceAll('_', '/')}${signature.includes('-') || signature.includes('_') ? '' : '+'}`],
      ['a fourth segment', `${good}.x`],
      ['an empty signature', `${header}.${payload}.`],
    ];
    for (const [title, token] of malformed) assert.equal(await code(token), 'InvalidIdentityTokenException', title);
    // Another spelling of the same signature bytes: the last character's unused bits set.
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // With a length that is not a multiple of 4 the last character carries unused bits.
    if (signature.length % 4 !== 0) {
      const respelt = `${signature.slice(0, -1)}${alphabet[alphabet.indexOf(last) | 1]}`;
      assert.notEqual(respelt, signature);
      assert.deepEqual(Buffer.from(respelt, 'base64url'), Buffer.from(signature, 'base64url'), 'same bytes, other spelling');
      assert.equal(await code(`${header}.${payload}.${respelt}`), 'InvalidIdentityTokenException', 'a non-canonical spelling');
    }
  });

  it('claims the trust policy reads must have the projected-token types: a list or null sub is refused', async () => {
    for (const sub of [['system:serviceaccount:default:app'], null, 42, '']) {
      assert.equal(await code(signRaw(keyA, { alg: 'RS256', kid: keyA.kid }, claims({ sub }))), 'InvalidIdentityTokenException', JSON.stringify(sub));
    }
    assert.equal(await code(signRaw(keyA, { alg: 'RS256', kid: keyA.kid }, claims({ aud: [1] }))), 'InvalidIdentityTokenException');
    assert.equal(await code(signRaw(keyA, { alg: 'RS256', kid: keyA.kid }, claims({ 'kubernetes.io': 'x' }))), 'InvalidIdentityTokenException');
  });

  it('a claim given twice is refused (parsers would disagree on which one counts)', async () => {
    const encode = (text: string) => Buffer.from(text).toString('base64url');
    const body = JSON.stringify(claims()).replace(/^\{/, `{"sub":"system:serviceaccount:other:x",`);
    const input = `${encode(JSON.stringify({ alg: 'RS256', kid: keyA.kid }))}.${encode(body)}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), keyA.privateKey!).toString('base64url')}`;
    assert.equal(await code(token), 'InvalidIdentityTokenException');
  });

  it('a token without kid or with an embedded jwk is verified only against the provider\'s keys', async () => {
    assert.equal(await code(signRaw(keyA, { alg: 'RS256' }, claims())), 'OK', 'the single provider key is used');
    const attacker = await rsaIssuerKey();
    assert.equal(await code(signRaw(attacker, { alg: 'RS256', jwk: attacker.jwk }, claims())), 'InvalidIdentityTokenException');
  });

  it('made-up kids cannot make the STS hammer the issuer: one JWKS refetch per 2 s cooldown at most', async () => {
    const attacker = await rsaIssuerKey();
    const before = jwksFetchesA;
    const started = Date.now();
    for (let index = 0; index < 20; index += 1) {
      const token = signRaw(attacker, { alg: 'RS256', kid: randomBytes(16).toString('base64url') }, claims());
      assert.equal(await code(token), 'InvalidIdentityTokenException');
    }
    const elapsed = Date.now() - started;
    assert.ok(jwksFetchesA - before <= 1 + Math.floor(elapsed / 2000), `${jwksFetchesA - before} JWKS fetches in ${elapsed} ms`);
  });

  describe('clock skew boundaries (tolerance 30 s)', () => {
    const seconds = Math.floor(FIXED_NOW / 1000);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['expired 29 s ago', { exp: seconds - 29 }, 'OK'],
      ['expired 31 s ago', { exp: seconds - 31 }, 'ExpiredTokenException'],
      ['valid from 29 s in the future', { nbf: seconds + 29, iat: seconds + 29 }, 'OK'],
      ['valid from 31 s in the future', { nbf: seconds + 31, iat: seconds + 31 }, 'InvalidIdentityTokenException'],
      ['issued 29 s in the future (iat), valid now (nbf)', { iat: seconds + 29 }, 'OK'],
      ['issued 31 s in the future (iat), valid now (nbf)', { iat: seconds + 31 }, 'InvalidIdentityTokenException'],
      ['issued a year in the future (iat), without nbf', { iat: seconds + 365 * 86400, nbf: undefined }, 'InvalidIdentityTokenException'],
    ];
    for (const [title, overrides, expected] of cases) {
      it(`${title} → ${expected}`, async () => {
        assert.equal(await code(signRaw(keyA, { alg: 'RS256', kid: keyA.kid }, claims(overrides))), expected);
      });
    }
  });

  it('the STS clock, not the caller, decides expiry', async () => {
    const token = await mintProjectedToken(keyA, {
      issuer: issuerA.issuer,
      audiences: ['sts.amazonaws.com'],
      namespace: 'default',
      serviceAccount: 'app',
      expirationSeconds: 600,
      issuedAt: Math.floor(FIXED_NOW / 1000),
    });
    assert.equal(await code(token), 'OK');
    now = FIXED_NOW + 700 * 1000;
    assert.equal(await code(token), 'ExpiredTokenException');
  });
});
