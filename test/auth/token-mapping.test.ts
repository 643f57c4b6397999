import assert from 'node:assert/strict';
import { canonicalize } from '../../src/shared/aws/arn.js';
import { mapIdentity, readAwsAuth } from '../../src/authenticator/aws-auth.js';
import type { CallerIdentity } from '../../src/authenticator/templates.js';
import { createClusterToken, execCredential, parseClusterToken, STS_PARTITIONS, type StsPartition, stsHostPartition, TOKEN_PREFIX } from '../../src/authenticator/token.js';

const CREDENTIALS = { accessKeyId: 'ASIAEXAMPLEEXAMPLE12', secretAccessKey: 'secret', sessionToken: 'session-token' };
const NOW = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
const NOW_SECONDS = NOW.getTime() / 1000;

function tokenFor(url: string): string {
  return TOKEN_PREFIX + Buffer.from(url).toString('base64url');
}

describe('cluster tokens (aws-iam-authenticator format)', () => {
  it('k8s-aws-v1. + unpadded base64url of a presigned GetCallerIdentity URL with the cluster id signed', async () => {
    const { token, expiration } = await createClusterToken({ clusterId: 'prod-1', credentials: CREDENTIALS, region: 'eu-west-1', stsEndpoint: 'https://sts.eu-west-1.amazonaws.com', now: NOW });
    assert.ok(token.startsWith('k8s-aws-v1.'));
    const encoded = token.slice('k8s-aws-v1.'.length);
    assert.match(encoded, /^[A-Za-z0-9_-]+$/, 'base64url without padding');
    const url = new URL(Buffer.from(encoded, 'base64url').toString());
    assert.equal(url.origin, 'https://sts.eu-west-1.amazonaws.com');
    assert.equal(url.pathname, '/');
    const query = Object.fromEntries(url.searchParams);
    assert.equal(query.Action, 'GetCallerIdentity');
    assert.equal(query.Version, '2011-06-15');
    assert.equal(query['X-Amz-Algorithm'], 'AWS4-HMAC-SHA256');
    assert.equal(query['X-Amz-Credential'], 'ASIAEXAMPLEEXAMPLE12/20261123/eu-west-1/sts/aws4_request');
    assert.equal(query['X-Amz-Date'], '20261123T120000Z');
    assert.equal(query['X-Amz-Expires'], '60');
    assert.equal(query['X-Amz-SignedHeaders'], 'host;x-k8s-aws-id');
    assert.equal(query['X-Amz-Security-Token'], 'session-token');
    assert.match(query['X-Amz-Signature'] ?? '', /^[0-9a-f]{64}$/);
    assert.equal(expiration.getTime(), NOW.getTime() + 14 * 60 * 1000, 'a minute before STS stops accepting it');
    assert.deepEqual(execCredential({ token, expiration }), {
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: {},
      status: { expirationTimestamp: '2026-11-23T12:14:00Z', token },
    });
  });

  it('accepts AWS STS hosts and configured lab origins only: nothing else is ever fetched', async () => {
    const { token } = await createClusterToken({ clusterId: 'c', credentials: CREDENTIALS, region: 'us-east-1', stsEndpoint: 'https://sts.us-east-1.amazonaws.com', now: NOW });
    const url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString());
    const policy = { labStsOrigins: ['http://127.0.0.1:8082'], nowSeconds: NOW_SECONDS };
    const withOrigin = (origin: string) => tokenFor(`${origin}/${url.search}`);
    const accepted = ['https://sts.amazonaws.com', 'https://sts.us-east-1.amazonaws.com', 'https://sts-fips.us-gov-west-1.amazonaws.com', 'https://sts.cn-north-1.amazonaws.com.cn', 'http://127.0.0.1:8082'];
    for (const origin of accepted) assert.ok(parseClusterToken(withOrigin(origin), policy).ok, origin);
    const refused: Array<[string, RegExp]> = [
      [withOrigin('https://evil.example.com'), /unexpected host "evil.example.com"/],
      [withOrigin('http://sts.amazonaws.com'), /unexpected host/],
      [withOrigin('https://sts.us-east-1.amazonaws.com.evil.com'), /unexpected host/],
      [withOrigin('https://sts.amazonaws.com:8443'), /unexpected host/],
      [withOrigin('http://127.0.0.1:8083'), /unexpected host "127.0.0.1:8083"/],
      [withOrigin('http://169.254.169.254'), /unexpected host/],
      [tokenFor(`https://sts.amazonaws.com@evil.example.com/${url.search}`), /unexpected host "evil.example.com"/],
      [tokenFor(`https://user:pass@sts.amazonaws.com/${url.search}`), /unexpected host/],
      [tokenFor(`https://sts.amazonaws.com/other${url.search}`), /unexpected path/],
      [tokenFor(`https://sts.amazonaws.com/${url.search}&Action=AssumeRole`), /appears more than once/],
      [tokenFor(`https://sts.amazonaws.com/${url.search.replace('GetCallerIdentity', 'AssumeRole')}`), /not a GetCallerIdentity call/],
      [tokenFor(`https://sts.amazonaws.com/${url.search}&Extra=1`), /query parameter "Extra" is not allowed/],
      [tokenFor(`https://sts.amazonaws.com/${url.search.replace('host%3Bx-k8s-aws-id', 'host')}`), /x-k8s-aws-id header is not signed/],
      [tokenFor(`https://sts.amazonaws.com/${url.search.replace('X-Amz-Expires=60', 'X-Amz-Expires=3600')}`), /X-Amz-Expires/],
      ['k8s-aws-v2.abc', /missing the "k8s-aws-v1." prefix/],
      [`${TOKEN_PREFIX}not base64!`, /not base64url/],
      [`${TOKEN_PREFIX}${'A'.repeat(5000)}`, /too large/],
    ];
    for (const [token, message] of refused) {
      const parsed = parseClusterToken(token, policy);
      assert.ok(!parsed.ok && message.test(parsed.error), `${Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString().slice(0, 80)} → ${JSON.stringify(parsed)}`);
    }
  });

  it("--partition: only that partition's STS hosts (aws-iam-authenticator's --partition); lab origins still accepted", async () => {
    const { token } = await createClusterToken({ clusterId: 'c', credentials: CREDENTIALS, region: 'us-east-1', stsEndpoint: 'https://sts.us-east-1.amazonaws.com', now: NOW });
    const url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString());
    const withOrigin = (origin: string) => tokenFor(`${origin}/${url.search}`);
    const hosts: Record<string, StsPartition | undefined> = {
      'https://sts.amazonaws.com': 'aws',
      'https://sts.us-east-1.amazonaws.com': 'aws',
      'https://sts-fips.us-east-2.amazonaws.com': 'aws',
      'https://sts.us-gov-west-1.amazonaws.com': 'aws-us-gov',
      'https://sts-fips.us-gov-east-1.amazonaws.com': 'aws-us-gov',
      'https://sts.cn-north-1.amazonaws.com.cn': 'aws-cn',
      // A region and a domain that do not go together belong to no partition.
      'https://sts.cn-north-1.amazonaws.com': undefined,
      'https://sts.us-east-1.amazonaws.com.cn': undefined,
    };
    for (const [origin, partition] of Object.entries(hosts)) {
      assert.equal(stsHostPartition(new URL(origin).hostname), partition, origin);
      for (const wanted of STS_PARTITIONS) {
        const parsed = parseClusterToken(withOrigin(origin), { labStsOrigins: [], partition: wanted, nowSeconds: NOW_SECONDS });
        assert.equal(parsed.ok, partition === wanted, `${origin} with --partition ${wanted}`);
        if (!parsed.ok) assert.match(parsed.error, new RegExp(`is not an STS endpoint of partition ${wanted}$`));
      }
      assert.ok(parseClusterToken(withOrigin(origin), { labStsOrigins: [], nowSeconds: NOW_SECONDS }).ok, `${origin} without --partition`);
    }
    assert.ok(parseClusterToken(withOrigin('http://127.0.0.1:8082'), { labStsOrigins: ['http://127.0.0.1:8082'], partition: 'aws', nowSeconds: NOW_SECONDS }).ok, 'a lab origin');
  });

  it('expires 15 minutes after X-Amz-Date, whatever X-Amz-Expires says', async () => {
    const { token } = await createClusterToken({ clusterId: 'c', credentials: CREDENTIALS, region: 'us-east-1', stsEndpoint: 'https://sts.amazonaws.com', now: NOW });
    const policy = (offset: number) => ({ labStsOrigins: [], nowSeconds: NOW_SECONDS + offset });
    assert.ok(parseClusterToken(token, policy(899)).ok);
    const expired = parseClusterToken(token, policy(901));
    assert.ok(!expired.ok && /expired/.test(expired.error));
    const future = parseClusterToken(token, policy(-301));
    assert.ok(!future.ok && /in the future/.test(future.error));
  });
});

describe('aws-auth mapping', () => {
  const { config } = readAwsAuth(`apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data:
  mapRoles: |
    - rolearn: arn:aws:iam::111122223333:role/Admins
      username: admin:{{SessionName}}
      groups: [cluster-admins, "acct-{{AccountID}}"]
    - rolearn: arn:aws:iam::111122223333:role/nodes
      username: system:node:{{EC2PrivateDNSName}}
      groups: [system:nodes]
    - rolearn: arn:aws:iam::111122223333:role/raw
      username: raw:{{SessionNameRaw}}:{{AccessKeyID}}
    - rolearn: arn:aws:iam::111122223333:role/typo
      username: x:{{Nope}}
  mapUsers: |
    - userarn: arn:aws:iam::111122223333:user/alice
      username: alice
      groups: [developers]
    - userarn: arn:aws:iam::111122223333:user/bob
      username: bob:{{SessionName}}
  mapAccounts: |
    - "444455556666"
`);
  const caller = (arn: string): CallerIdentity => ({ ...canonicalize(arn)!, userId: 'AROAEXAMPLE', accessKeyId: 'ASIAKEY' });

  it('canonicalises assumed-role ARNs to their role and keeps users', () => {
    assert.deepEqual(canonicalize('arn:aws:sts::111122223333:assumed-role/admins/bob@example.com'), {
      arn: 'arn:aws:sts::111122223333:assumed-role/admins/bob@example.com',
      canonicalArn: 'arn:aws:iam::111122223333:role/admins',
      partition: 'aws',
      account: '111122223333',
      sessionName: 'bob@example.com',
    });
    assert.equal(canonicalize('arn:aws-cn:iam::111122223333:user/ops/alice')?.canonicalArn, 'arn:aws-cn:iam::111122223333:user/ops/alice');
    assert.equal(canonicalize('arn:aws:iam::111122223333:group/x'), undefined);
  });

  it('maps roles case-insensitively and expands the templates', () => {
    assert.deepEqual(mapIdentity(caller('arn:aws:sts::111122223333:assumed-role/admins/bob@example.com'), config), {
      ok: true,
      username: 'admin:bob-example.com',
      groups: ['cluster-admins', 'acct-111122223333'],
      entry: 'mapRoles[0]',
    });
    assert.deepEqual(mapIdentity(caller('arn:aws:sts::111122223333:assumed-role/nodes/ip-10-0-1-7.ec2.internal'), config), {
      ok: true,
      username: 'system:node:ip-10-0-1-7.ec2.internal',
      groups: ['system:nodes'],
      entry: 'mapRoles[1]',
    });
    const raw = mapIdentity(caller('arn:aws:sts::111122223333:assumed-role/raw/me@home'), config);
    assert.ok(raw.ok && raw.username === 'raw:me@home:ASIAKEY');
  });

  it('of duplicate entries the last is in force, as aws-iam-authenticator keys them by lowercased ARN; mapRoles before mapUsers', () => {
    const { config: duplicated } = readAwsAuth(`apiVersion: v1
kind: ConfigMap
data:
  mapRoles: |
    - {rolearn: "arn:aws:iam::111122223333:role/admins", username: first, groups: [one]}
    - {rolearn: "arn:aws:iam::111122223333:role/Admins", username: second, groups: [two]}
    - {rolearn: "arn:aws:iam::111122223333:user/carol", username: carol-as-role}
  mapUsers: |
    - {userarn: "arn:aws:iam::111122223333:user/dave", username: dave-1}
    - {userarn: "arn:aws:iam::111122223333:user/dave", username: dave-2}
    - {userarn: "arn:aws:iam::111122223333:user/carol", username: carol}
`);
    assert.deepEqual(mapIdentity(caller('arn:aws:sts::111122223333:assumed-role/admins/s'), duplicated), { ok: true, username: 'second', groups: ['two'], entry: 'mapRoles[1]' });
    assert.deepEqual(mapIdentity(caller('arn:aws:iam::111122223333:user/dave'), duplicated), { ok: true, username: 'dave-2', groups: [], entry: 'mapUsers[1]' });
    assert.deepEqual(mapIdentity(caller('arn:aws:iam::111122223333:user/carol'), duplicated), { ok: true, username: 'carol-as-role', groups: [], entry: 'mapRoles[2]' });
  });

  it('maps users, then accounts; refuses the unmapped and broken templates with a reason', () => {
    assert.deepEqual(mapIdentity(caller('arn:aws:iam::111122223333:user/alice'), config), { ok: true, username: 'alice', groups: ['developers'], entry: 'mapUsers[0]' });
    assert.deepEqual(mapIdentity(caller('arn:aws:sts::444455556666:assumed-role/any/s'), config), {
      ok: true,
      username: 'arn:aws:iam::444455556666:role/any',
      groups: [],
      entry: 'mapAccounts',
    });
    assert.deepEqual(mapIdentity(caller('arn:aws:sts::111122223333:assumed-role/other/s'), config), {
      ok: false,
      reason: 'arn:aws:iam::111122223333:role/other is not mapped in aws-auth (mapRoles, mapUsers, mapAccounts)',
    });
    assert.deepEqual(mapIdentity(caller('arn:aws:sts::111122223333:assumed-role/typo/s'), config), { ok: false, reason: 'mapRoles[3]: unknown template variable {{Nope}}' });
    const bob = mapIdentity(caller('arn:aws:iam::111122223333:user/bob'), config);
    assert.ok(!bob.ok && /needs a role session/.test(bob.reason));
  });
});
