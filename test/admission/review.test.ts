import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allowResponse, denyResponse, serializeReview } from '../../src/webhook/admission/review.js';
import type { PatchOperation } from '../../src/webhook/engine/types.js';

describe('AdmissionReview serialisation', () => {
  it('serializeReview writes exactly what JSON.stringify writes, for any uid, patch and warnings', () => {
    const operation: fc.Arbitrary<PatchOperation> = fc.record({
      op: fc.constantFrom('add' as const, 'replace' as const),
      path: fc.string(),
      value: fc.jsonValue({ maxDepth: 3 }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom('admission.k8s.io/v1' as const, 'admission.k8s.io/v1beta1' as const),
        fc.string({ unit: 'binary' }),
        fc.array(operation, { maxLength: 5 }),
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 3 }),
        (apiVersion, uid, patch, warnings) => {
          const review = allowResponse(apiVersion, uid, patch, warnings);
          assert.equal(serializeReview(review), JSON.stringify(review));
          assert.deepEqual(JSON.parse(serializeReview(review)), review);
        },
      ),
      { numRuns: 500 },
    );
    const denied = denyResponse('admission.k8s.io/v1', 'u', 503, 'x "quoted"');
    assert.equal(serializeReview(denied), JSON.stringify(denied));
  });
});
