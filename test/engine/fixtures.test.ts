import assert from 'node:assert/strict';
import { ANNOTATION, POD_IDENTITY_LABEL } from '../../src/webhook/engine/defaults.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { readPod } from '../../src/webhook/read-objects.js';
import { loadMutationCase, mutationCaseNames } from '../helpers/mutation-cases.js';
import { assertOnlyAdditions } from '../helpers/preservation.js';

describe('mutation engine fixture cases (test/fixtures/mutation)', () => {
  const names = mutationCaseNames();

  it('has a reviewed expectation for every case', () => {
    assert.ok(names.length >= 55, `only ${names.length} cases`);
    for (const name of names) {
      const fixture = loadMutationCase(name);
      assert.ok(fixture.expectedPatch && fixture.expectedPod && fixture.expectedWarnings, `${name}: expectation files missing`);
    }
  });

  for (const name of names) {
    describe(name, () => {
      const fixture = loadMutationCase(name);

      it(fixture.description, () => {
        const result = mutatePod(fixture.pod.view, fixture.serviceAccount, fixture.options, fixture.expirationJitter);
        assert.deepEqual(result.patch, fixture.expectedPatch);
        assert.deepEqual(result.warnings, fixture.expectedWarnings);
      });

      it('the expected patch applies (jsonpatch) to give the expected pod, keeping every original field', () => {
        const patched = applyPatch(fixture.pod.object, fixture.expectedPatch ?? []);
        assert.deepEqual(patched, fixture.expectedPod);
        const marker = `$.metadata.annotations.${fixture.options.annotationPrefix}/${ANNOTATION.injectedRoleArn}`;
        assertOnlyAdditions(fixture.pod.object, patched, new Set([marker, `$.metadata.labels.${POD_IDENTITY_LABEL}`]));
      });

      it('is idempotent: the engine on its own output gives an empty patch', () => {
        const view = readPod(fixture.expectedPod);
        assert.ok(view.ok);
        assert.deepEqual(mutatePod(view.value, fixture.serviceAccount, fixture.options, 0.5).patch, []);
      });
    });
  }
});
