/**
 * Cluster login beside aws-iam-authenticator: TokenReviews/s, p50/p99 and CPU per review of our
 * `authenticator` and the reference `server` on the same tokens and aws-auth, warm (keep-alive)
 * and cold (a TLS handshake per review), in a network namespace where AWS's STS host names reach
 * the lab STS (bench/servers/login-inside.ts). The reference is the binary
 * test/e2e/build-components.sh builds, or `--reference-authenticator=PATH`.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { awsIamAuthenticator } from '../test/e2e/support/components.js';
import { namespaceUnavailable, runInNamespace } from '../test/e2e/support/login-reference/namespace.js';
import { execFileSync } from 'node:child_process';
import { DURATION, option, root, round, RUNS, say, skipped, target, work } from './context.js';
import type { LoginBench, LoginRow } from './servers/login-inside.js';

export type LoginResult = (LoginBench & { readonly unavailable?: undefined }) | { readonly unavailable: string };

const TARGET_NAMES = ['warm', 'cold'].flatMap((cache) => [`login ${cache}: ours ≥ aws-iam-authenticator reviews/s`, `login ${cache}: ours ≤ aws-iam-authenticator CPU per review`, `login ${cache}: ours ≤ aws-iam-authenticator p99`]);

function referenceBinary(): { binary: string; version: string } | { unavailable: string } {
  const given = option('reference-authenticator');
  try {
    const binary = given ?? awsIamAuthenticator().binary;
    accessSync(binary, constants.X_OK);
    return { binary, version: execFileSync(binary, ['version', '--short'], { encoding: 'utf8', timeout: 10_000 }).trim() };
  } catch (error) {
    return { unavailable: `aws-iam-authenticator is not built (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); bash test/e2e/build-components.sh builds it, or pass --reference-authenticator=PATH` };
  }
}

export async function benchLogin(): Promise<LoginResult> {
  const reference = referenceBinary();
  if ('unavailable' in reference) return reference;
  const unavailable = namespaceUnavailable();
  if (unavailable) return { unavailable: `the section ${unavailable}` };
  const resultFile = join(work, 'login.json');
  say(`login: our authenticator beside aws-iam-authenticator ${reference.version}`);
  const run = await runInNamespace(work, join(root, 'dist', 'bench', 'servers', 'login-inside.js'), [resultFile, reference.binary, String(DURATION), String(RUNS), '8'], 600_000);
  if (run.code !== 0) return { unavailable: `the measurement failed (exit ${run.code}): ${run.output.trim().split('\n').slice(-3).join(' ').slice(0, 500)}` };
  return { ...(JSON.parse(readFileSync(resultFile, 'utf8')) as LoginBench), referenceVersion: reference.version };
}

const fmt = (value: number | undefined, digits: number): string => (value === undefined || Number.isNaN(value) ? '' : value.toFixed(digits));

export function loginLines(result: LoginResult, lines: string[]): void {
  if (result.unavailable !== undefined) {
    lines.push('', `Cluster login beside aws-iam-authenticator: SKIPPED: ${result.unavailable}`);
    for (const name of TARGET_NAMES) skipped(name, result.unavailable);
    return;
  }
  lines.push(
    '',
    `Cluster login beside aws-iam-authenticator ${result.referenceVersion} (TokenReview over HTTPS, ${result.connections} connections, ${result.tokens} tokens in turn, each verified at the lab STS over TLS; median of runs):`,
    '',
  );
  lines.push('| cache | server | reviews/s | p50 ms | p99 ms | CPU µs/review | failures | ours ÷ reference (reviews/s) |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const cache of ['warm', 'cold'] as const) {
    const row = (server: LoginRow['server']): LoginRow => result.rows.find((entry) => entry.server === server && entry.cache === cache)!;
    const ours = row('ours');
    const reference = row('reference');
    for (const entry of [ours, reference]) {
      lines.push(`| ${cache} | ${entry.server === 'ours' ? 'ours' : 'aws-iam-authenticator'} | ${fmt(entry.reviewsPerSecond, 0)} | ${fmt(entry.p50Ms, 3)} | ${fmt(entry.p99Ms, 3)} | ${fmt(entry.cpuMicrosecondsPerReview, 0)} | ${entry.failures} | ${entry === ours ? fmt(ours.reviewsPerSecond / reference.reviewsPerSecond, 3) : ''} |`);
    }
    const valid = ours.failures === 0 && reference.failures === 0;
    const invalid = `answers that did not authenticate: ours ${ours.failures}, reference ${reference.failures}`;
    const check = (name: string, pass: boolean, detail: string): void => (valid ? target(name, pass, detail) : skipped(name, invalid));
    check(TARGET_NAMES[cache === 'warm' ? 0 : 3]!, ours.reviewsPerSecond >= reference.reviewsPerSecond, `${round(ours.reviewsPerSecond / reference.reviewsPerSecond, 3)} × (${fmt(ours.reviewsPerSecond, 0)} vs ${fmt(reference.reviewsPerSecond, 0)})`);
    if (ours.cpuMicrosecondsPerReview === undefined || reference.cpuMicrosecondsPerReview === undefined) skipped(TARGET_NAMES[cache === 'warm' ? 1 : 4]!, 'no /proc to read CPU time from');
    else check(TARGET_NAMES[cache === 'warm' ? 1 : 4]!, ours.cpuMicrosecondsPerReview <= reference.cpuMicrosecondsPerReview, `${round(ours.cpuMicrosecondsPerReview / reference.cpuMicrosecondsPerReview, 3)} × (${fmt(ours.cpuMicrosecondsPerReview, 0)} vs ${fmt(reference.cpuMicrosecondsPerReview, 0)} µs)`);
    check(TARGET_NAMES[cache === 'warm' ? 2 : 5]!, ours.p99Ms <= reference.p99Ms, `${round(ours.p99Ms / reference.p99Ms, 3)} × (${fmt(ours.p99Ms, 3)} vs ${fmt(reference.p99Ms, 3)} ms)`);
  }
}
