import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { awsIamAuthenticator } from './support/components.js';
import { removeDirectory, trackDirectory } from './support/processes.js';
import type { ApiServerOutcome, CorpusRun, ReviewOutcome } from './support/login-reference/corpus.js';
import { namespaceUnavailable, runInNamespace } from './support/login-reference/namespace.js';
import { differences, documentedDifferences, matches } from './support/login-reference/differences.js';

describe('cluster login beside aws-iam-authenticator: the same tokens, aws-auth and access entries, answer by answer', function () {
  this.timeout(300_000);
  let run: CorpusRun;
  let dir: string;

  before(async function () {
    const unavailable = namespaceUnavailable();
    if (unavailable) {
      console.log(`      skipped: ${unavailable}`);
      this.skip();
    }
    const reference = awsIamAuthenticator();
    dir = trackDirectory(mkdtempSync(join(tmpdir(), 'piw-login-reference-run-')));
    const resultFile = join(dir, 'result.json');
    const outcome = await runInNamespace(dir, join(ROOT, 'dist', 'test', 'e2e', 'support', 'login-reference', 'inside.js'), [resultFile, reference.binary], 240_000);
    assert.equal(outcome.code, 0, `the corpus run failed:\n${outcome.output}`);
    run = JSON.parse(readFileSync(resultFile, 'utf8')) as CorpusRun;
  });
  after(() => {
    if (dir) removeDirectory(dir);
  });

  it('reviews every token through both servers, the reference being v0.7.18', () => {
    assert.equal(run.referenceVersion, 'v0.7.18');
    for (const [source, reason] of Object.entries(run.skippedSources)) console.log(`      token source ${source} skipped: ${reason}`);
    assert.ok(run.results.length > 100, `only ${run.results.length} reviews`);
  });

  it('logs in the same principals, with the same username, uid, groups and extra, but for the differences docs/cluster-login.md documents', () => {
    const found = differences(run.results);
    const documented = documentedDifferences(readFileSync(join(ROOT, 'docs', 'cluster-login.md'), 'utf8'));
    const show = (value: unknown): string => JSON.stringify(value);
    const undocumented = found.filter((difference) => !documented.some((row) => row.field === difference.field && matches(row.pattern, difference.id)));
    assert.deepEqual(
      undocumented.map((difference) => `${difference.id} ${difference.field}: ours ${show(difference.ours)}, reference ${show(difference.reference)}`),
      [],
      'differences not in the table of docs/cluster-login.md',
    );
    const stale = documented.filter((row) => !found.some((difference) => row.field === difference.field && matches(row.pattern, difference.id)));
    assert.deepEqual(
      stale.map((row) => `${row.pattern} ${row.field}`),
      [],
      'rows of the table that no difference matches any more (remove them)',
    );
  });

  it('kube-apiserver, with each as its token webhook in turn, makes the same user of each answer as the server gave directly', () => {
    const direct = new Map(run.results.map((result) => [result.id, result]));
    const expected = (outcome: ReviewOutcome | undefined): ApiServerOutcome =>
      outcome && 'authenticated' in outcome && outcome.authenticated
        ? { status: 201, user: { username: outcome.username, uid: outcome.uid, groups: [...(outcome.groups ?? []), 'system:authenticated'], extra: outcome.extra } }
        : { status: 401 };
    assert.ok(run.apiServer.results.length >= 10);
    for (const result of run.apiServer.results) {
      const reviewed = direct.get(result.id);
      assert.deepEqual(result.ours, expected(reviewed?.ours), `${result.id} through kube-apiserver ${run.apiServer.version} with ours`);
      assert.deepEqual(result.reference, expected(reviewed?.reference), `${result.id} through kube-apiserver ${run.apiServer.version} with aws-iam-authenticator (webhook ${run.apiServer.referenceWebhookVersion})`);
    }
    assert.ok(run.apiServer.results.filter((result) => result.ours.status === 201).length >= 6, 'most of the tokens sent through the API server log in');
  });

  it('is not vacuous: both servers log in most principals, and refuse the expired, tampered, other-cluster and wrong-host tokens', () => {
    const authenticated = (outcome: ReviewOutcome): boolean => 'authenticated' in outcome && outcome.authenticated;
    const both = run.results.filter((result) => authenticated(result.ours) && authenticated(result.reference));
    assert.ok(both.length >= 40, `only ${both.length} tokens logged in through both`);
    for (const result of run.results.filter((result) => /crafted-(expired|tampered|other-cluster|wrong-host)$/.test(result.id))) {
      assert.equal(authenticated(result.ours), false, `${result.id}: ours`);
      assert.equal(authenticated(result.reference), false, `${result.id}: reference`);
    }
  });
});
