import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ANNOTATION, TOKEN_VOLUME_NAME } from '../../src/webhook/engine/defaults.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import { optionsArbitrary, podArbitrary, serviceAccountArbitrary } from '../helpers/arbitraries.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { readPod } from '../../src/webhook/read-objects.js';
import { assertOnlyAdditions } from '../helpers/preservation.js';
import { uniquenessViolations } from '../helpers/pod-validation.js';

describe('mutation engine properties (fast-check)', () => {
  it('the patch always applies, keeps every original field, and a second pass is a no-op', () => {
    fc.assert(
      fc.property(podArbitrary, serviceAccountArbitrary, optionsArbitrary, (pod, serviceAccount, options) => {
        const view = readPod(pod);
        assert.ok(view.ok, !view.ok ? view.error : '');
        const first = mutatePod(view.value, serviceAccount, options);
        const patched = applyPatch(pod, first.patch);
        const marker = `$.metadata.annotations.${options.annotationPrefix}/${ANNOTATION.injectedRoleArn}`;
        assertOnlyAdditions(pod, patched, new Set([marker]));

        const again = readPod(patched);
        assert.ok(again.ok);
        assert.deepEqual(mutatePod(again.value, serviceAccount, options).patch, []);
      }),
      { numRuns: 500 },
    );
  });

  it('never makes a pod the API server would refuse: no repeated volume, mount path or env name, no mount of a missing volume', () => {
    fc.assert(
      fc.property(podArbitrary, serviceAccountArbitrary, optionsArbitrary, (pod, serviceAccount, options) => {
        const view = readPod(pod);
        assert.ok(view.ok);
        const before = new Set(uniquenessViolations(pod));
        const patched = applyPatch(pod, mutatePod(view.value, serviceAccount, options).patch);
        const added = uniquenessViolations(patched).filter((violation) => !before.has(violation));
        assert.deepEqual(added, [], 'the patch added violations');
      }),
      { numRuns: 1000 },
    );
  });

  it('every container not skipped ends up with the role, the token file and the mount', () => {
    fc.assert(
      fc.property(podArbitrary, optionsArbitrary, (pod, options) => {
        const serviceAccount = { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } };
        const view = readPod(pod);
        assert.ok(view.ok);
        const patched = applyPatch(pod, mutatePod(view.value, serviceAccount, options).patch);
        const after = readPod(patched);
        assert.ok(after.ok);
        const skip = new Set(
          (pod.metadata?.annotations?.['eks.amazonaws.com/skip-containers'] ?? '').split(',').map((name) => name.trim()),
        );
        const occupied = (c: { volumeMounts?: readonly { name?: string; mountPath?: string }[] }): boolean =>
          c.volumeMounts?.some((m) => m.name !== TOKEN_VOLUME_NAME && m.mountPath?.replace(/\/$/, '') === options.tokenMountPath) ?? false;
        for (const c of [...after.value.containers, ...(after.value.initContainers ?? [])]) {
          if (skip.has(c.name) || occupied(c)) continue;
          const names = new Set(c.env?.map((variable) => variable.name));
          assert.ok(names.has('AWS_ROLE_ARN') && names.has('AWS_WEB_IDENTITY_TOKEN_FILE'), `container ${c.name} lacks identity env`);
          assert.ok(c.volumeMounts?.some((m) => m.name === TOKEN_VOLUME_NAME), `container ${c.name} lacks the token mount`);
          assert.ok(after.value.volumeNames?.includes(TOKEN_VOLUME_NAME), 'pod lacks the token volume');
        }
      }),
      { numRuns: 300 },
    );
  });
});
