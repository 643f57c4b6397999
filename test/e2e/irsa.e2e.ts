import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAwsEnv } from '../helpers/lab.js';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import { LabServices } from './support/lab-services.js';
import { createNamespace, createPod, createServiceAccount, podManifest, ROLE_PREFIX } from './support/pods.js';
import { freePort } from './support/processes.js';
import { serviceAccountToken } from './support/webhook.js';

const ROLE = `${ROLE_PREFIX}e2e-app`;
const NAMESPACE = 'irsa';

interface Jwk {
  kid?: string;
  kty?: string;
  n?: string;
  e?: string;
}

function jwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

for (const release of kubernetesReleases()) {
  describe(`IRSA with a real kube-apiserver ${release.version}: its tokens, the lab issuer serving its sa.key, the lab STS`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;
    let lab: LabServices | undefined;
    let cp: ControlPlane;
    const podUids = new Map<string, string>();

    before(async () => {
      const issuerPort = await freePort();
      controlPlane = await ControlPlane.prepare(release, issuerPort);
      cp = controlPlane;
      lab = await LabServices.start(cp, issuerPort, [{ arn: ROLE, subject: `system:serviceaccount:${NAMESPACE}:app` }]);
      await cp.start();
      await createNamespace(cp.admin, NAMESPACE);
      for (const name of ['app', 'intruder']) {
        // Both claim the role; only app is trusted by it.
        await createServiceAccount(cp.admin, NAMESPACE, name, ROLE);
        podUids.set(name, (await createPod(cp.admin, NAMESPACE, podManifest(name, name))).metadata?.uid ?? '');
      }
    });
    after(async () => {
      await lab?.stop();
      await controlPlane?.stop();
    });

    /** A TokenRequest token bound to the pod of the same name, as the kubelet gets for a projected volume. */
    function podToken(name: string, audience = 'sts.amazonaws.com'): Promise<string> {
      return serviceAccountToken(cp, NAMESPACE, name, {
        audiences: [audience],
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid: podUids.get(name) },
      });
    }

    /** GetCallerIdentity with the AWS SDK's default chain in the environment the webhook gives a pod. */
    async function callerIdentity(token: string): Promise<string> {
      const tokenFile = join(cp.dir, 'token');
      writeFileSync(tokenFile, token);
      return withAwsEnv({ AWS_ROLE_ARN: ROLE, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ENDPOINT_URL_STS: lab!.stsUrl, AWS_REGION: 'us-east-1' }, async () => {
        const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
        return identity.Arn ?? '';
      });
    }

    it("the lab issuer publishes the same kid and key as the API server's own /openid/v1/jwks, under the same issuer", async () => {
      const response = await cp.admin.request('GET', '/openid/v1/jwks', undefined, { accept: 'application/jwk-set+json' });
      assert.equal(response.status, 200, response.text);
      const apiserverJwks = response.body as { keys: Jwk[] };
      const labJwks = (await (await fetch(`${lab!.issuerUrl}/keys`, { signal: AbortSignal.timeout(5000) })).json()) as { keys: Jwk[] };
      const pick = ({ kid, kty, n, e }: Jwk): Jwk => ({ kid, kty, n, e });
      assert.equal(apiserverJwks.keys.length, 1);
      assert.deepEqual(labJwks.keys.map(pick), apiserverJwks.keys.map(pick));
      const discovery = await cp.admin.get('/.well-known/openid-configuration');
      const labDiscovery = (await (await fetch(`${lab!.issuerUrl}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) })).json()) as { issuer: string };
      assert.equal(discovery.issuer, cp.issuer);
      assert.equal(labDiscovery.issuer, cp.issuer);
      assert.equal(jwtPart(await podToken('app'), 0).kid, apiserverJwks.keys[0]!.kid, "the kid the API server signs with");
    });

    it('a TokenRequest token bound to a pod gets credentials from the lab STS through the AWS SDK', async () => {
      const token = await podToken('app');
      const claims = jwtPart(token, 1) as { iss?: string; sub?: string; aud?: string[]; 'kubernetes.io'?: { pod?: { name?: string; uid?: string } } };
      assert.equal(claims.iss, cp.issuer);
      assert.equal(claims.sub, `system:serviceaccount:${NAMESPACE}:app`);
      assert.deepEqual(claims.aud, ['sts.amazonaws.com']);
      assert.deepEqual(claims['kubernetes.io']?.pod, { name: 'app', uid: podUids.get('app') });
      assert.match(await callerIdentity(token), /^arn:aws:sts::111122223333:assumed-role\/e2e-app\/.+$/);
    });

    it("a token of another ServiceAccount is denied by the role's trust policy (AccessDenied)", async () => {
      await assert.rejects(callerIdentity(await podToken('intruder')), (error: Error) => {
        assert.equal(error.name, 'AccessDenied', error.message);
        return true;
      });
    });

    it('a token for another audience is refused (InvalidIdentityToken, which the SDK names InvalidIdentityTokenException)', async () => {
      await assert.rejects(callerIdentity(await podToken('app', 'other-audience')), (error: Error) => {
        assert.equal(error.name, 'InvalidIdentityTokenException', error.message);
        return true;
      });
    });
  });
}
