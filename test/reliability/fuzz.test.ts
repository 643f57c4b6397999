import assert from 'node:assert/strict';
import type { RequestListener } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { isJsonObject } from '../../src/shared/json.js';
import { silentLogger } from '../../src/shared/log.js';
import { createApp } from '../../src/webhook/server/app.js';
import { createWebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import type { ServiceAccountLookup, ServiceAccountSource } from '../../src/webhook/serviceaccounts/source.js';
import { podArbitrary } from '../helpers/arbitraries.js';
import { admissionReview, decodePatch, responseOf } from '../helpers/reviews.js';

/** Every ServiceAccount named `default` has a role; others have none or do not exist. */
const source: ServiceAccountSource = {
  lookup: (namespace, name): ServiceAccountLookup => {
    if (name === 'default') return { status: 'found', from: 'cache', serviceAccount: { name, namespace, annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } } };
    if (name === 'norole') return { status: 'found', from: 'cache', serviceAccount: { name, namespace, annotations: {} } };
    return { status: 'not-found', from: 'cache' };
  },
  isReady: () => true,
  describe: () => 'fuzz',
  stop: async () => undefined,
};

// Mostly pod CREATEs (the interesting path), with the other shapes mixed in.
const operation = fc.oneof({ arbitrary: fc.constant('CREATE'), weight: 8 }, { arbitrary: fc.constantFrom('UPDATE', 'DELETE', 'CONNECT', ''), weight: 2 });
const kind = fc.oneof(
  { arbitrary: fc.constant({ group: '', version: 'v1', kind: 'Pod' }), weight: 9 },
  { arbitrary: fc.constant({ group: 'apps', version: 'v1', kind: 'Deployment' }), weight: 1 },
);
const validEnvelope = fc.record({ object: podArbitrary, operation, kind, apiVersion: fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1') });

/** A review with one field replaced by random JSON, or removed. */
const damagedEnvelope = fc
  .tuple(
    validEnvelope,
    fc.constantFrom(['apiVersion'], ['kind'], ['request'], ['request', 'uid'], ['request', 'kind'], ['request', 'resource'], ['request', 'operation'], ['request', 'object'], ['request', 'object', 'spec'], ['request', 'object', 'metadata']),
    fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
  )
  .map(([envelope, path, value]) => {
    const review = admissionReview(envelope.object, { operation: envelope.operation, kind: envelope.kind, apiVersion: envelope.apiVersion }) as Record<string, unknown>;
    let target: Record<string, unknown> = review;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (!isJsonObject(next)) return review;
      target = next;
    }
    if (value === undefined) delete target[path[path.length - 1]!];
    else target[path[path.length - 1]!] = value;
    return review;
  });

describe('fuzzing the admission server (fast-check)', function () {
  this.timeout(120_000);
  let app: RequestListener;
  before(() => {
    app = createApp({
      decisions: { serviceAccounts: source, options: DEFAULT_MUTATION_OPTIONS },
      metrics: createWebhookMetrics(createRegistry({ processMetrics: false })),
      logger: silentLogger,
      readiness: () => ({ ready: true, checks: {} }),
    });
  });

  const send = (body: string) => request(app).post('/mutate').set('content-type', 'application/json').send(body).timeout(10_000);

  /** The invariant: a well-formed AdmissionReview answer, or a 4xx AdmissionReview error; never a 5xx. */
  function checkAnswer(status: number, body: unknown, sent: unknown): void {
    assert.ok([200, 400, 413, 415].includes(status), `status ${status}`);
    assert.ok(isJsonObject(body) && body.kind === 'AdmissionReview', JSON.stringify(body).slice(0, 200));
    const answer = responseOf(body);
    assert.equal(typeof answer.allowed, 'boolean');
    if (status !== 200) {
      assert.equal(answer.allowed, false);
      assert.equal(answer.status?.code, status);
      assert.ok((answer.status?.message ?? '').length > 0);
      return;
    }
    const uid = isJsonObject(sent) && isJsonObject(sent.request) ? sent.request.uid : undefined;
    assert.equal(answer.uid, uid);
    if (answer.patch !== undefined) assert.equal(answer.patchType, 'JSONPatch');
  }

  it('valid and damaged reviews: always a well-formed answer; patches apply and a second pass is a no-op', async () => {
    let mutated = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { arbitrary: validEnvelope.map((e) => admissionReview(e.object, { operation: e.operation, kind: e.kind, apiVersion: e.apiVersion })), weight: 3 },
          { arbitrary: damagedEnvelope, weight: 1 },
        ),
        async (review) => {
        const response = await send(JSON.stringify(review));
        checkAnswer(response.status, response.body, review);
        const patch = decodePatch(response.body);
        if (patch.length === 0) return;
        mutated += 1;
        const object = (review.request as { object: unknown }).object;
        const patched = applyPatch(object, patch);
        const again = await send(JSON.stringify({ ...review, request: { ...(review.request as object), object: patched } }));
        assert.equal(again.status, 200);
        assert.deepEqual(decodePatch(again.body), [], 'the second pass must not change anything');
        },
      ),
      { numRuns: 400 },
    );
    assert.ok(mutated > 100, `only ${mutated} of 400 reviews were mutated: the property barely ran`);
  });

  it('arbitrary JSON bodies: always a 4xx AdmissionReview error or an answer, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        const response = await send(JSON.stringify(value));
        checkAnswer(response.status, response.body, value);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes: always a 4xx AdmissionReview error, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        const response = await send(Buffer.from(bytes).toString('latin1'));
        checkAnswer(response.status, response.body, undefined);
      }),
      { numRuns: 200 },
    );
  });
});
