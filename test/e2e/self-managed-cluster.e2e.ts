import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { keyId } from '../../src/lab/keys.js';
import { withAwsEnv } from '../helpers/lab.js';
import { ROOT } from '../helpers/paths.js';
import { CliProcess } from '../helpers/process.js';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import { createNamespace, createPod, createServiceAccount, podManifest } from './support/pods.js';
import { freePort, runCommand, stopProcess, track } from './support/processes.js';
import { StaticHost } from './support/static-host.js';
import { commandLines, flagLines, testedBlock, testedBlocks } from './support/tested-blocks.js';
import { serviceAccountToken } from './support/webhook.js';

const GUIDE = join(ROOT, 'docs', 'self-managed-cluster.md');
/** The guide's example names, replaced by this test's: the bucket's host, the bucket, the key directory. */
const EXAMPLE_HOST = 'my-oidc-bucket.s3.us-east-1.amazonaws.com';
const EXAMPLE_BUCKET = 's3://my-oidc-bucket/';
const EXAMPLE_PKI = '/etc/kubernetes/pki/';
const NAMESPACE = 'payments';

interface Jwks {
  keys: Array<{ kid?: string; kty?: string }>;
}

function jwtHeader(token: string): { kid?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string };
}

function only<T>(values: readonly T[] | undefined, what: string): T {
  assert.equal(values?.length, 1, `the guide gives ${what} once`);
  return values[0]!;
}

for (const release of kubernetesReleases()) {
  describe(`the self-managed cluster guide (docs/self-managed-cluster.md), step by step, on kube-apiserver ${release.version}`, function () {
    this.timeout(300_000);
    const blocks = testedBlocks(GUIDE);
    let controlPlane: ControlPlane | undefined;
    let host: StaticHost | undefined;
    let sts: CliProcess | undefined;
    let cp: ControlPlane;
    let published: StaticHost;
    let stsUrl = '';
    let hostPort = '';
    let pki = '';
    let roleArn = '';
    const podUids = new Map<string, string>();
    /** The files the guide's commands write (name → content). */
    const files = new Map<string, string>();

    /** The guide's text with its example host and key directory replaced by this test's. */
    const local = (text: string): string => text.replaceAll(EXAMPLE_HOST, hostPort).replaceAll(EXAMPLE_PKI, `${pki}/`);
    const issuer = (): string => local(only(flagLines(testedBlock(blocks, 'kube-apiserver-flags')).get('service-account-issuer'), '--service-account-issuer'));

    /** The guide's flags, then each rotation block's replacing the flags it names. */
    function apiserverFlags(...rotation: string[]): Record<string, string[]> {
      const flags = flagLines(local(testedBlock(blocks, 'kube-apiserver-flags')));
      for (const name of rotation) for (const [flag, values] of flagLines(local(testedBlock(blocks, name)))) flags.set(flag, values);
      return Object.fromEntries(flags);
    }

    /** Runs a block of the guide's shell commands (openssl) with bash -e. */
    async function shell(name: string): Promise<void> {
      const result = await runCommand('bash', ['-ec', local(testedBlock(blocks, name))]);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    }

    /** Step 3 and 4: the guide's kubectl get --raw lines with the suite's kubectl, then its aws s3 cp lines into the static host. */
    async function fetchAndPublish(): Promise<void> {
      for (const line of commandLines(testedBlock(blocks, 'fetch-documents'))) {
        const match = /^kubectl get --raw (\S+) > (\S+)$/.exec(line);
        assert.ok(match, `a fetch line the test cannot perform: ${line}`);
        const result = await cp.kubectl(['get', '--raw', match[1]!]);
        assert.equal(result.code, 0, `${line}: ${result.stderr}`);
        files.set(match[2]!, result.stdout);
      }
      for (const line of commandLines(testedBlock(blocks, 'publish'))) {
        const match = /^aws s3 cp (\S+) (\S+) --content-type (\S+)$/.exec(line);
        const [, file = '', destination = '', contentType = ''] = match ?? [];
        assert.ok(destination.startsWith(EXAMPLE_BUCKET), `a publish line the test cannot perform: ${line}`);
        const body = files.get(file);
        assert.ok(body !== undefined, `${line}: no file ${file} was fetched before`);
        published.objects.set(`/${destination.slice(EXAMPLE_BUCKET.length)}`, { body, contentType });
      }
    }

    /** What IAM and STS do with the issuer: its discovery document at <issuer>/.well-known/openid-configuration, then jwks_uri. */
    async function publishedDocuments(): Promise<{ discovery: { issuer?: string; jwks_uri?: string }; jwks: Jwks; types: string[] }> {
      const discovery = await published.get(`${issuer()}/.well-known/openid-configuration`);
      assert.equal(discovery.status, 200, discovery.body);
      const document = JSON.parse(discovery.body) as { issuer?: string; jwks_uri?: string };
      const jwks = await published.get(document.jwks_uri ?? '');
      assert.equal(jwks.status, 200, `${document.jwks_uri ?? '(no jwks_uri)'}: ${jwks.body}`);
      return { discovery: document, jwks: JSON.parse(jwks.body) as Jwks, types: [discovery.contentType, jwks.contentType] };
    }

    /** A TokenRequest token of a pod's ServiceAccount, bound to the pod, as the kubelet gets it. */
    function podToken(name: string, audiences = ['sts.amazonaws.com']): Promise<string> {
      return serviceAccountToken(cp, NAMESPACE, name, {
        audiences,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: podUids.get(name) },
      });
    }

    /** A token for the API server itself (no audience: the API server's). */
    function apiToken(name: string): Promise<string> {
      return serviceAccountToken(cp, NAMESPACE, name, { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: podUids.get(name) } });
    }

    async function authenticated(token: string): Promise<boolean> {
      const review = await cp.admin.create('/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
      return (review.status as { authenticated?: boolean } | undefined)?.authenticated === true;
    }

    /** GetCallerIdentity through the AWS SDK's default chain, in the environment the webhook gives the pod. */
    async function callerIdentity(token: string): Promise<string> {
      const tokenFile = join(cp.dir, 'token');
      writeFileSync(tokenFile, token);
      return withAwsEnv({ AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ENDPOINT_URL_STS: stsUrl, AWS_REGION: 'us-east-1' }, async () => {
        const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
        return identity.Arn ?? '';
      });
    }

    const kidOf = (file: string): string => keyId(createPublicKey(readFileSync(join(pki, file))));

    before(async () => {
      const issuerPort = await freePort();
      hostPort = `127.0.0.1:${issuerPort}`;
      controlPlane = await ControlPlane.prepare(release, issuerPort);
      cp = controlPlane;
      pki = join(cp.dir, 'pki');
      mkdirSync(pki);
      host = await StaticHost.start(issuerPort);
      published = host;
      await shell('signing-key');
      await cp.start({ flags: apiserverFlags() });
      const serviceAccount = parse(testedBlock(blocks, 'service-account')) as { metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } };
      assert.deepEqual([serviceAccount.metadata?.namespace, serviceAccount.metadata?.name], [NAMESPACE, 's3-reader'], "the guide's ServiceAccount");
      roleArn = serviceAccount.metadata?.annotations?.['eks.amazonaws.com/role-arn'] ?? '';
      await createNamespace(cp.admin, NAMESPACE);
      const applied = await cp.kubectl(['apply', '-f', '-'], { input: testedBlock(blocks, 'service-account') });
      assert.equal(applied.code, 0, applied.stderr);
      // Claims the same role; the trust policy names s3-reader alone.
      await createServiceAccount(cp.admin, NAMESPACE, 'intruder', roleArn);
      for (const name of ['s3-reader', 'intruder']) podUids.set(name, (await createPod(cp.admin, NAMESPACE, podManifest(name, name))).metadata?.uid ?? '');
    });
    after(async () => {
      if (sts) await stopProcess(sts.child);
      await host?.close();
      await controlPlane?.stop();
    });

    it("serves, with the guide's flags, a discovery document naming the issuer and the published jwks_uri, and a JWKS of sa.pub's key", async () => {
      const flags = apiserverFlags();
      await fetchAndPublish();
      const discovery = JSON.parse(files.get('openid-configuration.json') ?? '{}') as { issuer?: string; jwks_uri?: string };
      assert.equal(discovery.issuer, issuer());
      assert.equal(discovery.jwks_uri, only(flags['service-account-jwks-uri'], '--service-account-jwks-uri'));
      assert.ok(discovery.jwks_uri?.startsWith(`${issuer()}/`), 'the JWKS is published under the issuer');
      const jwks = JSON.parse(files.get('jwks.json') ?? '{}') as Jwks;
      assert.deepEqual(jwks.keys.map((key) => key.kid), [kidOf('sa.pub')], 'the kid pod-identity-webhook issuer computes from sa.pub');
      assert.equal(jwtHeader(await podToken('s3-reader')).kid, kidOf('sa.pub'), 'the tokens are signed with sa.key');
      // The guide names the built-in ClusterRole that may read the two documents.
      const role = await cp.admin.get('/apis/rbac.authorization.k8s.io/v1/clusterroles/system:service-account-issuer-discovery');
      const granted = ((role.rules ?? []) as Array<{ verbs?: string[]; nonResourceURLs?: string[] }>).filter((rule) => rule.verbs?.includes('get')).flatMap((rule) => rule.nonResourceURLs ?? []);
      for (const path of ['/.well-known/openid-configuration', '/openid/v1/jwks']) assert.ok(granted.includes(path), `system:service-account-issuer-discovery grants get on ${path}`);
    });

    it('the published copies answer at <issuer>/.well-known/openid-configuration and at jwks_uri, as the API server serves them, as application/json', async () => {
      const documents = await publishedDocuments();
      assert.deepEqual(documents.discovery, JSON.parse(files.get('openid-configuration.json')!));
      assert.deepEqual(documents.jwks, JSON.parse(files.get('jwks.json')!));
      assert.deepEqual(documents.types, ['application/json', 'application/json']);
    });

    it("with the guide's OIDC provider and trust policy, STS gives the ServiceAccount's pod credentials through the AWS SDK; another ServiceAccount is denied", async () => {
      const create = only(commandLines(testedBlock(blocks, 'oidc-provider')), 'create-open-id-connect-provider');
      const provider = /^aws iam create-open-id-connect-provider --url (\S+) --client-id-list (\S+)$/.exec(local(create));
      assert.ok(provider, `a provider command the test cannot read: ${create}`);
      assert.equal(provider[1], issuer(), 'the provider URL is the issuer, exactly');
      // As IAM: the keys come from the jwks_uri of the discovery document published at the issuer.
      const { discovery } = await publishedDocuments();
      const labConfig = join(cp.dir, 'lab.yaml');
      writeFileSync(
        labConfig,
        JSON.stringify({
          apiVersion: 'pod-identity-webhook.io/v1alpha1',
          kind: 'LabConfig',
          providers: [{ issuer: provider[1], audiences: provider[2]!.split(','), jwksUrl: discovery.jwks_uri }],
          roles: [{ arn: roleArn, trustPolicy: local(testedBlock(blocks, 'trust-policy')) }],
        }),
      );
      const caFile = join(cp.dir, 'published-ca.crt');
      writeFileSync(caFile, published.caCert);
      sts = CliProcess.start(['sts', '--config', labConfig, '--port', '0', '--bind-address', '127.0.0.1', '--secret-file', join(cp.dir, 'sts-secret.key')], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
      });
      track(sts.child);
      stsUrl = String((await sts.line('sts-listening', 20_000)).address);
      assert.match(await callerIdentity(await podToken('s3-reader')), /^arn:aws:sts::111122223333:assumed-role\/s3-reader\/.+$/);
      assert.ok(published.requests.includes(`GET ${new URL(discovery.jwks_uri ?? '').pathname}`), 'STS fetched the published JWKS');
      await assert.rejects(callerIdentity(await podToken('intruder')), (error: Error) => {
        assert.equal(error.name, 'AccessDenied', error.message);
        return true;
      });
    });

    it('the API server takes no token meant for STS (--api-audiences without sts.amazonaws.com), and takes its own', async () => {
      assert.equal(await authenticated(await podToken('s3-reader')), false);
      assert.equal(await authenticated(await apiToken('s3-reader')), true);
    });

    it("rotates the signing key as the guide says: old and new tokens work throughout, at STS and in the cluster, until the old key is dropped", async () => {
      const oldStsToken = await podToken('s3-reader');
      const oldApiToken = await apiToken('s3-reader');
      await shell('rotation-new-key');
      const [oldKid, newKid] = [kidOf('sa.pub'), kidOf('sa-2.pub')];

      await cp.restartApiserver({ flags: apiserverFlags('rotation-verify-both') });
      await fetchAndPublish();
      assert.deepEqual((await publishedDocuments()).jwks.keys.map((key) => key.kid).sort(), [oldKid, newKid].sort(), 'the published JWKS holds both keys');
      assert.equal(jwtHeader(await podToken('s3-reader')).kid, oldKid, 'the old key still signs');

      await cp.restartApiserver({ flags: apiserverFlags('rotation-verify-both', 'rotation-sign-new') });
      const newStsToken = await podToken('s3-reader');
      assert.equal(jwtHeader(newStsToken).kid, newKid, 'the new key signs');
      assert.match(await callerIdentity(newStsToken), /assumed-role\/s3-reader\//);
      assert.match(await callerIdentity(oldStsToken), /assumed-role\/s3-reader\//);
      assert.equal(await authenticated(oldApiToken), true, 'the API server still verifies the old key');

      await cp.restartApiserver({ flags: apiserverFlags('rotation-verify-both', 'rotation-sign-new', 'rotation-drop-old') });
      await fetchAndPublish();
      assert.deepEqual((await publishedDocuments()).jwks.keys.map((key) => key.kid), [newKid], 'the published JWKS holds the new key alone');
      assert.equal(await authenticated(oldApiToken), false, 'a token of the dropped key is refused');
      assert.equal(await authenticated(await apiToken('s3-reader')), true);
      assert.match(await callerIdentity(await podToken('s3-reader')), /assumed-role\/s3-reader\//);
    });
  });
}
