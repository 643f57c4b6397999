import assert from 'node:assert/strict';
import request from 'supertest';
import type { RequestListener } from 'node:http';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import { readPod } from '../../src/webhook/read-objects.js';
import { createLogger } from '../../src/shared/log.js';
import { createApp, MAX_BODY_BYTES } from '../../src/webhook/server/app.js';
import { createWebhookMetrics, type WebhookMetrics } from '../../src/webhook/server/metrics.js';
import { createRegistry } from '../../src/shared/metrics.js';
import type { ServiceAccountLookup, ServiceAccountSource } from '../../src/webhook/serviceaccounts/source.js';
import { fixtureServiceAccounts } from '../helpers/fixture-app.js';
import { admissionReview, decodePatch, pod, responseOf } from '../helpers/reviews.js';
import { LogCapture } from '../helpers/wait.js';

describe('admission HTTP API (supertest)', () => {
  let app: RequestListener;
  let logs: LogCapture;
  let metrics: WebhookMetrics;
  let ready = true;

  before(async () => {
    const source = await fixtureServiceAccounts();
    logs = new LogCapture();
    metrics = createWebhookMetrics(createRegistry({ processMetrics: false }));
    app = createApp({
      decisions: { serviceAccounts: source, options: { ...DEFAULT_MUTATION_OPTIONS, awsDefaultRegion: 'us-west-2' } },
      metrics,
      logger: createLogger(logs.write),
      readiness: () => ({ ready, checks: { serviceAccounts: ready } }),
    });
  });

  const post = (body: unknown) => request(app).post('/mutate?timeout=10s').set('content-type', 'application/json').send(JSON.stringify(body));

  it('mutates a pod CREATE (v1): uid echoed, JSONPatch base64, the engine\'s patch', async () => {
    const object = pod('app');
    const review = admissionReview(object, { uid: 'uid-1' });
    const response = await post(review).expect(200).expect('content-type', /application\/json/);
    assert.equal(response.body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(response.body.kind, 'AdmissionReview');
    const answer = responseOf(response.body);
    assert.equal(answer.uid, 'uid-1');
    assert.equal(answer.allowed, true);
    assert.equal(answer.patchType, 'JSONPatch');
    const view = readPod({ ...object, metadata: { ...(object.metadata as object), namespace: 'default' } });
    assert.ok(view.ok);
    const expected = mutatePod(view.value, { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } }, {
      ...DEFAULT_MUTATION_OPTIONS,
      awsDefaultRegion: 'us-west-2',
    });
    assert.deepEqual(decodePatch(response.body), expected.patch);
    assert.equal(answer.warnings, undefined);
  });

  it('answers v1beta1 reviews in v1beta1', async () => {
    const response = await post(admissionReview(pod('app'), { apiVersion: 'admission.k8s.io/v1beta1', uid: 'beta' })).expect(200);
    assert.equal(response.body.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(responseOf(response.body).uid, 'beta');
    assert.ok(decodePatch(response.body).length > 0);
  });

  it('mutates dryRun requests the same way', async () => {
    const wet = decodePatch((await post(admissionReview(pod('app'))).expect(200)).body);
    const dry = decodePatch((await post(admissionReview(pod('app'), { dryRun: true })).expect(200)).body);
    assert.deepEqual(dry, wet);
  });

  it('uses the request namespace for a pod without metadata.namespace (and the pod\'s namespace agrees otherwise)', async () => {
    const a = decodePatch((await post(admissionReview(pod('shared'), { namespace: 'team-a' })).expect(200)).body);
    const b = decodePatch((await post(admissionReview(pod('shared', { namespace: 'team-b' }), { namespace: 'team-b' })).expect(200)).body);
    assert.ok(JSON.stringify(a).includes('role/team-a') && !JSON.stringify(a).includes('role/team-b'));
    assert.ok(JSON.stringify(b).includes('role/team-b') && !JSON.stringify(b).includes('role/team-a'));
  });

  it('never takes a ServiceAccount from another namespace: a pod claiming one is not mutated', async () => {
    const response = await post(admissionReview(pod('shared', { namespace: 'team-a' }), { namespace: 'team-b' })).expect(200);
    const answer = responseOf(response.body);
    assert.equal(answer.allowed, true);
    assert.equal(answer.patch, undefined);
    assert.match(answer.warnings?.[0] ?? '', /differs from the request namespace "team-b"/);
  });

  const unchanged: Array<[string, () => Record<string, unknown>]> = [
    ['a ServiceAccount without a role', () => admissionReview(pod('norole'))],
    ['a ServiceAccount that does not exist', () => admissionReview(pod('missing'))],
    ['a pod UPDATE', () => admissionReview(pod('app'), { operation: 'UPDATE' })],
    ['a pod subresource (ephemeralcontainers)', () => admissionReview(pod('app'), { operation: 'CREATE', subResource: 'ephemeralcontainers' })],
    ['a Deployment', () => admissionReview({ kind: 'Deployment' }, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } })],
    ['a ConfigMap', () => admissionReview({ kind: 'ConfigMap' }, { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } })],
  ];
  for (const [title, review] of unchanged) {
    it(`allows ${title} unchanged: no patch, no patchType`, async () => {
      const body = review();
      const response = await post(body).expect(200);
      assert.deepEqual(response.body, {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: (body.request as { uid: string }).uid, allowed: true },
      });
    });
  }

  it('returns engine warnings (invalid role ARN) without a patch', async () => {
    const answer = responseOf((await post(admissionReview(pod('badarn'))).expect(200)).body);
    assert.equal(answer.allowed, true);
    assert.equal(answer.patch, undefined);
    assert.deepEqual(answer.warnings, [
      'pod-identity-webhook: ServiceAccount default/badarn annotation eks.amazonaws.com/role-arn="arn:aws:iam::111122223333:user/alice" is not an IAM role ARN (arn:<partition>:iam::<12-digit account>:role/<name>); no AWS identity was injected',
    ]);
  });

  it('admits a pod it cannot read, unmutated, with a warning that says why', async () => {
    const answer = responseOf((await post(admissionReview({ metadata: { name: 'x' }, spec: { containers: 'nope' } })).expect(200)).body);
    assert.deepEqual(answer.warnings, ['pod-identity-webhook: could not read the pod (spec.containers must be an array); no AWS identity was injected']);
    assert.equal(answer.allowed, true);
  });

  describe('bad requests', () => {
    it('415 for a wrong content type', async () => {
      const response = await request(app).post('/mutate').set('content-type', 'text/plain').send('{}').expect(415);
      assert.equal(responseOf(response.body).status?.code, 415);
      assert.match(responseOf(response.body).status?.message ?? '', /Content-Type must be application\/json/);
    });

    it('415 for a body without any content type', async () => {
      const response = await request(app).post('/mutate').send(Buffer.from('{}')).unset('content-type').expect(415);
      assert.equal(responseOf(response.body).allowed, false);
    });

    it('413 for a body over 3 MiB', async () => {
      const big = JSON.stringify(admissionReview({ ...pod('app'), padding: 'x'.repeat(MAX_BODY_BYTES) }));
      const response = await request(app).post('/mutate').set('content-type', 'application/json').send(big).expect(413);
      assert.equal(responseOf(response.body).status?.code, 413);
    });

    it('accepts a body just under 3 MiB', async () => {
      const base = JSON.stringify(admissionReview({ ...pod('app'), padding: '' }));
      const padded = JSON.stringify(admissionReview({ ...pod('app'), padding: 'x'.repeat(MAX_BODY_BYTES - base.length - 100) }));
      assert.ok(padded.length < MAX_BODY_BYTES);
      const response = await request(app).post('/mutate').set('content-type', 'application/json').send(padded).expect(200);
      assert.equal(responseOf(response.body).patchType, 'JSONPatch');
    });

    it('400 for invalid JSON, as an AdmissionReview', async () => {
      const response = await request(app).post('/mutate').set('content-type', 'application/json').send('{"apiVersion":').expect(400);
      assert.deepEqual(response.body, {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: '', allowed: false, status: { code: 400, message: 'the request body is not valid JSON', status: 'Failure' } },
      });
    });

    it('400 for a review without request.uid', async () => {
      const review = admissionReview(pod('app'));
      delete (review.request as Record<string, unknown>).uid;
      const response = await post(review).expect(400);
      assert.equal(responseOf(response.body).status?.message, 'request.uid is missing or empty');
    });

    it('400 naming the uid when the request is otherwise malformed', async () => {
      const review = admissionReview(pod('app'), { uid: 'u-9' });
      delete (review.request as Record<string, unknown>).operation;
      const response = await post(review).expect(400);
      assert.equal(responseOf(response.body).uid, 'u-9');
      assert.equal(responseOf(response.body).status?.message, 'request.operation is missing');
    });
  });

  it('logs one JSON line per request with uid, namespace, pod, decision and duration', async () => {
    logs.lines.length = 0;
    await post(admissionReview(pod('app'), { uid: 'log-me' })).expect(200);
    const lines = logs.events('admission');
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line?.uid, 'log-me');
    assert.equal(line?.namespace, 'default');
    assert.equal(line?.pod, 'web-7d9f8');
    assert.equal(line?.serviceAccount, 'app');
    assert.equal(line?.decision, 'mutated');
    assert.equal(typeof line?.durationMs, 'number');
    assert.equal(typeof line?.time, 'string');
  });

  it('logs and counts refused requests too', async () => {
    logs.lines.length = 0;
    await request(app).post('/mutate').set('content-type', 'text/plain').send('{}').expect(415);
    await request(app).post('/mutate').set('content-type', 'application/json').send('{"oops"').expect(400);
    assert.deepEqual(
      logs.events('admission').map((line) => [line.decision, line.status]),
      [
        ['bad-request', 415],
        ['bad-request', 400],
      ],
    );
  });

  it('counts decisions in metrics', async () => {
    const before = (await metrics.registry.getSingleMetricAsString('pod_identity_webhook_admission_requests_total')).match(/decision="mutated"} (\d+)/)?.[1];
    await post(admissionReview(pod('app'))).expect(200);
    const after = (await metrics.registry.getSingleMetricAsString('pod_identity_webhook_admission_requests_total')).match(/decision="mutated"} (\d+)/)?.[1];
    assert.equal(Number(after), Number(before) + 1);
  });

  it('serves /healthz always and /readyz by readiness', async () => {
    await request(app).get('/healthz').expect(200, { status: 'ok' });
    ready = true;
    await request(app).get('/readyz').expect(200);
    ready = false;
    const response = await request(app).get('/readyz').expect(503);
    assert.deepEqual(response.body, { status: 'not ready', checks: { serviceAccounts: false } });
    ready = true;
  });

  it('404s unknown paths and methods', async () => {
    await request(app).get('/mutate').expect(404);
    await request(app).post('/other').send({}).expect(404);
    await request(app).post('/healthz').send({}).expect(404);
    const missing = await request(app).get('/nothing').expect(404).expect('content-type', 'application/json; charset=utf-8');
    assert.deepEqual(missing.body, { status: 'not found', endpoints: ['POST /mutate', 'GET /healthz', 'GET /readyz'] });
  });

  it('probes as the kubelet sends them: the query ignored, HEAD answered without a body', async () => {
    await request(app).get('/healthz?verbose=1').expect(200, { status: 'ok' });
    const head = await request(app).head('/readyz').expect(200);
    assert.equal(head.text, undefined);
  });
});

describe('admission when the ServiceAccount lookup fails', () => {
  it('denies with 503 and a message telling the creator to retry, and logs an error', async () => {
    const failing: ServiceAccountSource = {
      lookup: async (): Promise<ServiceAccountLookup> => ({ status: 'error', message: 'the API did not answer within 2000 ms' }),
      isReady: () => true,
      describe: () => 'failing',
      stop: async () => undefined,
    };
    const logs = new LogCapture();
    const app = createApp({
      decisions: { serviceAccounts: failing, options: DEFAULT_MUTATION_OPTIONS },
      metrics: createWebhookMetrics(createRegistry({ processMetrics: false })),
      logger: createLogger(logs.write),
      readiness: () => ({ ready: true, checks: {} }),
    });
    const response = await request(app).post('/mutate').set('content-type', 'application/json').send(admissionReview(pod('app'), { uid: 'u' })).expect(200);
    assert.deepEqual(responseOf(response.body), {
      uid: 'u',
      allowed: false,
      status: {
        code: 503,
        status: 'Failure',
        message: 'pod-identity-webhook could not look up ServiceAccount default/app: the API did not answer within 2000 ms; retry the request',
      },
    });
    assert.equal(logs.events('admission')[0]?.level, 'error');
  });
});
