import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import FakeTimers from '@sinonjs/fake-timers';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { base64url, SignJWT, UnsecuredJWT } from 'jose';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, type Lab, ROLE_ARN, rsaIssuerKey, SHORT_ROLE_ARN, startLab, withAwsEnv } from '../helpers/lab.js';
import { sdkError } from '../helpers/sdk-error.js';

describe('lab STS driven by the real AWS SDK for JavaScript v3', function () {
  this.timeout(30_000);
  let lab: Lab;
  let dir: string;

  beforeEach(async () => {
    lab = await startLab();
    dir = mkdtempSync(join(tmpdir(), 'piw-sts-'));
  });
  afterEach(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (): STSClient =>
    new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials: { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' }, maxAttempts: 1 });

  const assume = async (token: string, overrides: { RoleArn?: string; DurationSeconds?: number; RoleSessionName?: string } = {}) =>
    client().send(new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'test-session', WebIdentityToken: token, ...overrides }));

  /** The environment the webhook injects, pointing the SDK at the lab STS. */
  const podEnv = (tokenFile: string): Record<string, string> => ({
    AWS_ROLE_ARN: ROLE_ARN,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_STS: lab.sts.url,
  });

  it('the default credential chain assumes the role from the token file and GetCallerIdentity answers with SigV4-verified identity', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${await lab.mint()}\n`); // a trailing newline, as some tools write it
    const identity = await withAwsEnv(podEnv(tokenFile), async () => new STSClient({}).send(new GetCallerIdentityCommand({})));
    assert.match(identity.Arn ?? '', new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/demo-app/aws-sdk-js-session-\\d+$`));
    assert.equal(identity.Account, ACCOUNT);
    assert.match(identity.UserId ?? '', /^AROA[A-Z2-7]{17}:aws-sdk-js-session-\d+$/);
    assert.equal(lab.assumed.length, 1);
    assert.equal(lab.assumed[0]?.subject, 'system:serviceaccount:default:demo-app');
  });

  it('returns every documented field of AssumeRoleWithWebIdentity', async () => {
    const result = await assume(await lab.mint(), { DurationSeconds: 900 });
    assert.match(result.Credentials?.AccessKeyId ?? '', /^ASIA[A-Z2-7]{16}$/);
    assert.equal(result.Credentials?.SecretAccessKey?.length, 40);
    assert.ok((result.Credentials?.SessionToken?.length ?? 0) > 100);
    const expiresIn = (result.Credentials!.Expiration!.getTime() - Date.now()) / 1000;
    assert.ok(expiresIn > 890 && expiresIn <= 900, `expires in ${expiresIn} s`);
    assert.equal(result.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/demo-app/test-session`);
    assert.match(result.AssumedRoleUser?.AssumedRoleId ?? '', /^AROA[A-Z2-7]{17}:test-session$/);
    assert.equal(result.SubjectFromWebIdentityToken, 'system:serviceaccount:default:demo-app');
    assert.equal(result.Audience, 'sts.amazonaws.com');
    assert.equal(result.Provider, `arn:aws:iam::${ACCOUNT}:oidc-provider/${lab.provider}`);
  });

  it('refreshes credentials by reading the token file again: in the background near expiry, at once after it', async () => {
    const clock = FakeTimers.install({ toFake: ['Date'], now: Date.now() });
    try {
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, await lab.mint({ pod: { name: 'first' } }));
      await withAwsEnv(podEnv(tokenFile), async () => {
        const sdk = new STSClient({});
        await sdk.send(new GetCallerIdentityCommand({}));
        await sdk.send(new GetCallerIdentityCommand({}));
        assert.equal(lab.assumed.length, 1, 'cached credentials are reused while fresh');

        // The kubelet rotates the projected token; the credentials (1 h) come within the SDK's 5-minute window.
        writeFileSync(tokenFile, await lab.mint({ pod: { name: 'second' } }));
        clock.setSystemTime(Date.now() + 3400 * 1000);
        await sdk.send(new GetCallerIdentityCommand({})); // still-valid credentials; a refresh starts in the background
        await waitFor('the background refresh', () => lab.assumed.length === 2);

        // Past the expiry of those credentials the SDK refreshes before the call.
        clock.setSystemTime(Date.now() + 3700 * 1000);
        writeFileSync(tokenFile, await lab.mint({ pod: { name: 'third' } }));
        const identity = await sdk.send(new GetCallerIdentityCommand({}));
        assert.equal(lab.assumed.length, 3);
        assert.equal(identity.Arn, lab.assumed[2]?.assumedRoleArn);
      });
      const pods = lab.assumed.map((entry) => (entry.claims['kubernetes.io'] as { pod: { name: string } }).pod.name);
      assert.deepEqual(pods, ['first', 'second', 'third']);
    } finally {
      clock.uninstall();
    }
  });

  describe('each failure surfaces the exact AWS error code', () => {
    const cases: Array<[string, (lab: Lab) => Promise<unknown>, string, number]> = [
      ['wrong audience', async (l) => assumeWith(l, await l.mint({ audiences: ['not-sts'] })), 'InvalidIdentityTokenException', 400],
      ['wrong issuer', async (l) => assumeWith(l, await l.mint({ issuer: 'https://evil.example.com' })), 'InvalidIdentityTokenException', 400],
      ['expired token', async (l) => assumeWith(l, await l.mint({ issuedAt: Math.floor(Date.now() / 1000) - 7200, expirationSeconds: 3600 })), 'ExpiredTokenException', 400],
      ['not-yet-valid token', async (l) => assumeWith(l, await l.mint({ issuedAt: Math.floor(Date.now() / 1000) + 600 })), 'InvalidIdentityTokenException', 400],
      ['unknown kid', async (l) => assumeWith(l, await l.mint({}, await rsaIssuerKey())), 'InvalidIdentityTokenException', 400],
      ['tampered signature', async (l) => assumeWith(l, tamperSignature(await l.mint())), 'InvalidIdentityTokenException', 400],
      ['tampered payload', async (l) => assumeWith(l, tamperPayload(await l.mint())), 'InvalidIdentityTokenException', 400],
      ['alg: none', async (l) => assumeWith(l, unsigned(l)), 'InvalidIdentityTokenException', 400],
      ['HS256 signed with the public key', async (l) => assumeWith(l, await hs256WithPublicKey(l)), 'InvalidIdentityTokenException', 400],
      ['sub not allowed by the trust policy', async (l) => assumeWith(l, await l.mint({ serviceAccount: 'intruder' })), 'AccessDenied', 403],
      ['DurationSeconds above the role maximum', async (l) => assumeWith(l, await l.mint(), { DurationSeconds: 7200 }), 'ValidationError', 400],
      ['DurationSeconds below 900', async (l) => assumeWith(l, await l.mint(), { DurationSeconds: 899 }), 'ValidationError', 400],
      ['unknown role', async (l) => assumeWith(l, await l.mint(), { RoleArn: `arn:aws:iam::${ACCOUNT}:role/nope` }), 'AccessDenied', 403],
      ['invalid RoleSessionName', async (l) => assumeWith(l, await l.mint(), { RoleSessionName: 'has space' }), 'ValidationError', 400],
      ['not a JWT', async (l) => assumeWith(l, 'not.a.jwt'), 'InvalidIdentityTokenException', 400],
      ['token over 20,000 characters', async (l) => assumeWith(l, `${await l.mint()}${'A'.repeat(20_000)}`), 'ValidationError', 400],
    ];
    for (const [title, run, code, status] of cases) {
      it(`${title} → ${code}`, async () => {
        const error = await sdkError(run(lab));
        assert.equal(error.name, code, error.message);
        assert.equal(error.$metadata?.httpStatusCode, status);
        assert.equal(lab.assumed.length, 0);
      });
    }

    it('AccessDenied does not say which condition failed (as real STS)', async () => {
      const error = await sdkError(assume(await lab.mint({ serviceAccount: 'intruder' })));
      assert.equal(error.message, 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
    });

    it('a tampered SigV4 signature → SignatureDoesNotMatch', async () => {
      const result = await assume(await lab.mint());
      const credentials = {
        accessKeyId: result.Credentials!.AccessKeyId!,
        secretAccessKey: result.Credentials!.SecretAccessKey!,
        sessionToken: result.Credentials!.SessionToken!,
      };
      const tampered = new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials, maxAttempts: 1 });
      tampered.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers: Record<string, string> };
          request.headers.authorization = request.headers.authorization!.replace(/Signature=([0-9a-f])/, (_m, first: string) => `Signature=${first === '0' ? '1' : '0'}`);
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low', name: 'tamperSignature' },
      );
      const error = await sdkError(tampered.send(new GetCallerIdentityCommand({})));
      assert.equal(error.name, 'SignatureDoesNotMatch');
      assert.equal(error.$metadata?.httpStatusCode, 403);
      // The untampered client with the same credentials succeeds.
      const identity = await new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials }).send(new GetCallerIdentityCommand({}));
      assert.equal(identity.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/demo-app/test-session`);
    });

    it('a body changed after signing → SignatureDoesNotMatch, even with a matching x-amz-content-sha256 header added', async () => {
      const result = await assume(await lab.mint());
      const credentials = { accessKeyId: result.Credentials!.AccessKeyId!, secretAccessKey: result.Credentials!.SecretAccessKey!, sessionToken: result.Credentials!.SessionToken! };
      const tampered = new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials, maxAttempts: 1 });
      tampered.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers: Record<string, string>; body: string };
          request.headers['x-amz-content-sha256'] = createHash('sha256').update(request.body).digest('hex');
          request.body = `${request.body}&Tampered=yes`;
          request.headers['content-length'] = String(Buffer.byteLength(request.body));
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low', name: 'tamperBody' },
      );
      const error = await sdkError(tampered.send(new GetCallerIdentityCommand({})));
      assert.equal(error.name, 'SignatureDoesNotMatch');
    });

    it('malformed percent-encoding and repeated parameters → MalformedQueryString, never two readings of one signature', async () => {
      const result = await assume(await lab.mint());
      const credentials = { accessKeyId: result.Credentials!.AccessKeyId!, secretAccessKey: result.Credentials!.SecretAccessKey!, sessionToken: result.Credentials!.SessionToken! };
      const url = new URL(lab.sts.url);
      const presign = async (query: Record<string, string>): Promise<string> => {
        const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'sts', sha256: Sha256 });
        const signed = await signer.presign({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query, headers: { host: url.host } }, { expiresIn: 60 });
        return Object.entries(signed.query ?? {}).map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`).join('&');
      };
      const get = async (rawQuery: string) => {
        const response = await fetch(`${lab.sts.url}/?${rawQuery}`, { headers: { accept: 'application/json' } });
        return { status: response.status, body: (await response.json()) as { Error?: { Code?: string } } };
      };
      const signed = await presign({ Action: 'GetCallerIdentity', Version: '2011-06-15', Foo: '%FF' });
      assert.match(signed, /Foo=%25FF/);
      assert.equal((await get(signed)).status, 200, 'the request as signed is answered');
      // Same signature, parameter now an undecodable escape: it used to canonicalise like %25FF and verify.
      const respelt = await get(signed.replace('Foo=%25FF', 'Foo=%FF'));
      assert.deepEqual([respelt.status, respelt.body.Error?.Code], [404, 'MalformedQueryString']);
      const twice = await get(`${signed}&Action=GetCallerIdentity`);
      assert.deepEqual([twice.status, twice.body.Error?.Code], [404, 'MalformedQueryString']);
    });

    it('a wrong secret key → SignatureDoesNotMatch; a forged session token → InvalidClientTokenId', async () => {
      const result = await assume(await lab.mint());
      const base = { accessKeyId: result.Credentials!.AccessKeyId!, secretAccessKey: result.Credentials!.SecretAccessKey!, sessionToken: result.Credentials!.SessionToken! };
      const call = (credentials: typeof base) => new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials, maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
      assert.equal((await sdkError(call({ ...base, secretAccessKey: 'x'.repeat(40) }))).name, 'SignatureDoesNotMatch');
      assert.equal((await sdkError(call({ ...base, sessionToken: `${base.sessionToken}x` }))).name, 'InvalidClientTokenId');
      assert.equal((await sdkError(call({ ...base, accessKeyId: 'ASIAAAAAAAAAAAAAAAAA' }))).name, 'InvalidClientTokenId');
      const { sessionToken: _omitted, ...withoutToken } = base;
      assert.equal((await sdkError(call(withoutToken as typeof base))).name, 'InvalidClientTokenId');
    });
  });

  it('sessions survive an STS restart with the same server key, and not with another', async () => {
    const result = await assume(await lab.mint());
    const credentials = { accessKeyId: result.Credentials!.AccessKeyId!, secretAccessKey: result.Credentials!.SecretAccessKey!, sessionToken: result.Credentials!.SessionToken! };
    const call = () => new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials, maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
    await lab.restartSts();
    assert.equal((await call()).Account, ACCOUNT);
    await lab.restartSts(Buffer.alloc(32, 7));
    assert.equal((await sdkError(call())).name, 'InvalidClientTokenId');
  });

  it('expired sessions → ExpiredToken', async () => {
    const result = await assume(await lab.mint(), { DurationSeconds: 900 });
    const credentials = { accessKeyId: result.Credentials!.AccessKeyId!, secretAccessKey: result.Credentials!.SecretAccessKey!, sessionToken: result.Credentials!.SessionToken! };
    const clock = FakeTimers.install({ toFake: ['Date'], now: Date.now() + 901 * 1000 });
    try {
      const error = await sdkError(new STSClient({ region: 'us-east-1', endpoint: lab.sts.url, credentials, maxAttempts: 1 }).send(new GetCallerIdentityCommand({})));
      assert.equal(error.name, 'ExpiredToken');
    } finally {
      clock.uninstall();
    }
  });

  it('a rotated key: the STS refetches the JWKS once for an unknown kid (after the cooldown) and accepts the new key', async () => {
    assert.ok(await assume(await lab.mint())); // the JWKS with the old key is now cached
    const next = await rsaIssuerKey();
    lab.keys.unshift(next);
    const token = await lab.mint({}, next);
    assert.equal((await sdkError(assume(token))).name, 'InvalidIdentityTokenException', 'within the 2 s cooldown the cached JWKS answers');
    await sleep(2100);
    const result = await assume(token);
    assert.ok(result.Credentials?.AccessKeyId);
  });

  it('the JWKS being unreachable → IDPCommunicationError, and recovery without restart once it is back', async () => {
    const port = lab.issuer.port;
    const token = await lab.mint();
    await lab.issuer.close();
    const error = await sdkError(assume(token));
    assert.equal(error.name, 'IDPCommunicationErrorException', error.message);
    assert.equal(error.$metadata?.httpStatusCode, 400);
    const { startIssuer } = await import('../../src/lab/issuer-server.js');
    const revived = await startIssuer({ bindAddress: '127.0.0.1', port, issuerUrl: lab.issuer.issuer, keys: () => lab.keys });
    try {
      assert.ok((await assume(token)).Credentials);
    } finally {
      await revived.close();
    }
  });

  it('answers errors as <ErrorResponse> XML in the STS namespace', async () => {
    const body = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: ROLE_ARN, RoleSessionName: 's1', WebIdentityToken: await lab.mint({ serviceAccount: 'x' }) });
    const response = await fetch(lab.sts.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
    assert.equal(response.status, 403);
    assert.match(response.headers.get('content-type') ?? '', /text\/xml/);
    assert.match(
      await response.text(),
      /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>AccessDenied<\/Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>/,
    );
    const unknown = await fetch(`${lab.sts.url}/?Action=DeleteEverything&Version=2011-06-15`);
    assert.equal(unknown.status, 400);
    assert.match(await unknown.text(), /<Code>InvalidAction<\/Code>/);
  });

  it('the short role (default MaxSessionDuration, trust policy given as JSON text) works the same', async () => {
    const result = await assume(await lab.mint(), { RoleArn: SHORT_ROLE_ARN, DurationSeconds: 3600 });
    assert.equal(result.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/short/test-session`);
  });

  async function assumeWith(l: Lab, token: string, overrides: { RoleArn?: string; DurationSeconds?: number; RoleSessionName?: string } = {}) {
    return new STSClient({ region: 'us-east-1', endpoint: l.sts.url, credentials: { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' }, maxAttempts: 1 }).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: ROLE_ARN, RoleSessionName: 'test-session', WebIdentityToken: token, ...overrides }),
    );
  }
});

function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.');
  const bytes = base64url.decode(signature!);
  bytes[0] = bytes[0]! ^ 0xff;
  return `${header}.${payload}.${base64url.encode(bytes)}`;
}

function tamperPayload(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!))) as Record<string, unknown>;
  claims.sub = 'system:serviceaccount:default:demo-app-admin';
  return `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
}

function unsigned(lab: Lab): string {
  const now = Math.floor(Date.now() / 1000);
  return new UnsecuredJWT({ 'kubernetes.io': { namespace: 'default' } })
    .setIssuer(lab.issuer.issuer)
    .setSubject('system:serviceaccount:default:demo-app')
    .setAudience(['sts.amazonaws.com'])
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .encode();
}

async function hs256WithPublicKey(lab: Lab): Promise<string> {
  const publicPem = lab.keys[0]!.publicKey.export({ type: 'spki', format: 'pem' });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', kid: lab.keys[0]!.kid })
    .setIssuer(lab.issuer.issuer)
    .setSubject('system:serviceaccount:default:demo-app')
    .setAudience(['sts.amazonaws.com'])
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(String(publicPem)));
}
