import assert from 'node:assert/strict';
import type { RequestListener } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import type { PatchOperation } from '../../src/webhook/engine/types.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { containerName } from '../helpers/arbitraries.js';
import { fixtureAdmissionApp } from '../helpers/fixture-app.js';
import { admissionReview, decodePatch, pod, responseOf } from '../helpers/reviews.js';

interface EnvVar {
  name: string;
  value?: string;
}
interface PatchedPod {
  metadata?: { annotations?: Record<string, string> };
  spec: {
    containers: Array<{ name: string; env?: EnvVar[]; volumeMounts?: Array<{ name: string; mountPath: string }> }>;
    volumes?: Array<{ name: string; projected?: { sources: Array<{ serviceAccountToken: { audience: string } }> } }>;
  };
}

describe('security properties of the webhook', function () {
  this.timeout(60_000);
  let app: RequestListener;

  before(async () => {
    app = await fixtureAdmissionApp();
  });

  const mutate = async (object: Record<string, unknown>, namespace = 'default'): Promise<{ patch: PatchOperation[]; warnings: string[]; patched: PatchedPod }> => {
    const response = await request(app).post('/mutate').set('content-type', 'application/json').send(JSON.stringify(admissionReview(object, { namespace }))).expect(200);
    const patch = decodePatch(response.body);
    return { patch, warnings: responseOf(response.body).warnings ?? [], patched: applyPatch(object, patch) as unknown as PatchedPod };
  };

  const envOf = (patched: PatchedPod, index = 0): Record<string, string | undefined> =>
    Object.fromEntries((patched.spec.containers[index]?.env ?? []).map((variable) => [variable.name, variable.value]));

  it('a pod\'s own annotations can never set or change the role, audience, mount path or regional STS', async () => {
    const annotations = {
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/admin',
      'eks.amazonaws.com/audience': 'attacker-audience',
      'eks.amazonaws.com/token-mount-path': '/attacker',
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
      'eks.amazonaws.com/injected-role-arn': 'arn:aws:iam::111122223333:role/admin',
    };
    const { patched } = await mutate(pod('app', { annotations }));
    assert.equal(envOf(patched).AWS_ROLE_ARN, 'arn:aws:iam::111122223333:role/app');
    assert.equal(envOf(patched).AWS_WEB_IDENTITY_TOKEN_FILE, '/var/run/secrets/eks.amazonaws.com/serviceaccount/token');
    assert.equal(envOf(patched).AWS_STS_REGIONAL_ENDPOINTS, undefined);
    assert.equal(patched.spec.volumes?.[0]?.projected?.sources[0]?.serviceAccountToken.audience, 'sts.amazonaws.com');
    assert.equal(patched.metadata?.annotations?.['eks.amazonaws.com/injected-role-arn'], 'arn:aws:iam::111122223333:role/app');
    // And a pod whose ServiceAccount has no role gets nothing, whatever it claims.
    assert.deepEqual((await mutate(pod('norole', { annotations }))).patch, []);
  });

  it('property: whatever annotations a pod carries, the role and audience come from its ServiceAccount', async () => {
    const prefixed = fc.dictionary(
      fc.constantFrom('role-arn', 'audience', 'token-mount-path', 'sts-regional-endpoints', 'injected-role-arn', 'token-expiration', 'skip-containers').map((name) => `eks.amazonaws.com/${name}`),
      fc.oneof(fc.constant('arn:aws:iam::999999999999:role/admin'), fc.string({ maxLength: 20 })),
    );
    await fc.assert(
      fc.asyncProperty(prefixed, async (annotations) => {
        const { patched } = await mutate(pod('app', { annotations, containers: [{ name: 'app' }, { name: 'sidecar' }] }));
        for (const [index, container] of patched.spec.containers.entries()) {
          const env = envOf(patched, index);
          if (env.AWS_ROLE_ARN !== undefined) assert.equal(env.AWS_ROLE_ARN, 'arn:aws:iam::111122223333:role/app', container.name);
        }
        for (const volume of patched.spec.volumes ?? []) {
          assert.equal(volume.projected?.sources[0]?.serviceAccountToken.audience, 'sts.amazonaws.com');
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a pod in namespace B never gets the role of a same-named ServiceAccount in namespace A', async () => {
    assert.equal(envOf((await mutate(pod('shared'), 'team-b')).patched).AWS_ROLE_ARN, 'arn:aws:iam::111122223333:role/team-b');
    assert.equal(envOf((await mutate(pod('shared'), 'team-a')).patched).AWS_ROLE_ARN, 'arn:aws:iam::111122223333:role/team-a');
    assert.deepEqual((await mutate(pod('shared'), 'team-c')).patch, [], 'no ServiceAccount "shared" in team-c');
    const claiming = await mutate(pod('shared', { namespace: 'team-a' }), 'team-c');
    assert.deepEqual(claiming.patch, [], 'the object cannot claim another namespace than the request');
  });

  it('property: skip-containers never removes identity from containers it does not name, nor anything already there', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(containerName, { minLength: 1, maxLength: 5 }), fc.array(containerName, { maxLength: 4 }), async (names, skip) => {
        const containers = names.map((name, index) => (index === 0 ? { name, env: [{ name: 'KEEP', value: 'me' }] } : { name }));
        const { patched, patch } = await mutate(pod('app', { containers, annotations: { 'eks.amazonaws.com/skip-containers': skip.join(',') } }));
        assert.ok(patch.every((op) => op.op === 'add' || op.path.startsWith('/metadata/annotations/')), 'only additions');
        for (const [index, container] of patched.spec.containers.entries()) {
          const env = envOf(patched, index);
          if (index === 0) assert.equal(env.KEEP, 'me');
          if ((skip as string[]).includes(container.name)) assert.equal(env.AWS_ROLE_ARN, undefined);
          else assert.equal(env.AWS_ROLE_ARN, 'arn:aws:iam::111122223333:role/app');
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a container that points AWS_WEB_IDENTITY_TOKEN_FILE elsewhere keeps it, and the user is warned', async () => {
    const { patched, warnings } = await mutate(pod('app', { containers: [{ name: 'app', env: [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/mine/token' }] }] }));
    assert.equal(envOf(patched).AWS_WEB_IDENTITY_TOKEN_FILE, '/mine/token');
    assert.equal(envOf(patched).AWS_ROLE_ARN, 'arn:aws:iam::111122223333:role/app');
    assert.deepEqual(warnings, [
      'pod-identity-webhook: container "app" already sets AWS_WEB_IDENTITY_TOKEN_FILE to "/mine/token"; kept it instead of injecting "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"',
    ]);
  });
});
