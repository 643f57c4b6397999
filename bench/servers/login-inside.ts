/**
 * The `login` section's measurement, run inside the namespace test/e2e/support/login-reference/
 * namespace.ts makes (AWS's STS host names → the lab STS over TLS on loopback): our `authenticator`
 * and aws-iam-authenticator `server` on the same aws-auth, reviewing the same pool of tokens, one
 * server at a time, warm (keep-alive connections) and cold (a new TLS connection per review).
 * Writes a LoginBench as JSON to the file named by its first argument.
 *
 *   node login-inside.js RESULT.json REFERENCE_BINARY DURATION_SECONDS RUNS CONNECTIONS
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { createClusterToken } from '../../src/authenticator/token.js';
import { SessionAuthority } from '../../src/lab/sts/sessions.js';
import { CLUSTER_ID, type PrincipalName, REGION, SCENARIOS } from '../../test/e2e/support/login-reference/corpus.js';
import { credentialsFor, startLabSts } from '../../test/e2e/support/login-reference/lab-sts.js';
import { prepareFixture, startPair } from '../../test/e2e/support/login-reference/servers.js';
import { cpuMicroseconds } from '../processes.js';

export type LoginServer = 'ours' | 'reference';
export type LoginCache = 'warm' | 'cold';

export interface LoginRow {
  readonly server: LoginServer;
  readonly cache: LoginCache;
  readonly reviewsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMicrosecondsPerReview: number | undefined;
  /** Answers that were not `authenticated: true` (must be 0). */
  readonly failures: number;
}

export interface LoginBench {
  readonly referenceVersion: string;
  readonly tokens: number;
  readonly connections: number;
  readonly rows: readonly LoginRow[];
}

const [resultFile, referenceBinary, durationText, runsText, connectionsText] = process.argv.slice(2);
const DURATION_MS = Math.min(60, Math.max(1, Number(durationText) || 2)) * 1000;
const RUNS = Math.min(9, Math.max(1, Number(runsText) || 1));
const CONNECTIONS = Math.min(64, Math.max(1, Number(connectionsText) || 8));
/** Principals the config-map scenario maps, each with its own tokens: the pool both servers review. */
const POOL: readonly PrincipalName[] = ['alice', 'admin', 'everyChar', 'roleAlice', 'bob'];
const TOKENS_PER_PRINCIPAL = 20;
const MAX_SAMPLES = 2_000_000;

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function post(port: number, ca: string | undefined, agent: Agent | false, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/authenticate', method: 'POST', agent, ca, rejectUnauthorized: ca !== undefined, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.length < 16 && chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).includes('"authenticated":true')));
        res.on('error', () => resolve(false));
      },
    );
    req.setTimeout(10_000, () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/** CONNECTIONS loops posting the pool's reviews in turn for DURATION_MS. */
async function load(port: number, ca: string | undefined, cache: LoginCache, bodies: readonly string[], pid: number | undefined, durationMs = DURATION_MS): Promise<Omit<LoginRow, 'server' | 'cache'>> {
  const agent = cache === 'warm' ? new Agent({ keepAlive: true, maxSockets: CONNECTIONS }) : false;
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const cpuBefore = cpuMicroseconds(pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() - started < durationMs && latencies.length < MAX_SAMPLES) {
        const body = bodies[next++ % bodies.length]!;
        const sent = performance.now();
        if (await post(port, ca, agent, body)) latencies.push(performance.now() - sent);
        else failures += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuMicroseconds(pid);
  if (agent) agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    reviewsPerSecond: latencies.length / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    cpuMicrosecondsPerReview: cpuBefore === undefined || cpuAfter === undefined || latencies.length === 0 ? undefined : (cpuAfter - cpuBefore) / (latencies.length + failures),
    failures,
  };
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  if (!resultFile || !referenceBinary) throw new Error('usage: login-inside.js RESULT.json REFERENCE_BINARY DURATION RUNS CONNECTIONS');
  const fixture = prepareFixture();
  const sessions = new SessionAuthority(randomBytes(32));
  const sts = await startLabSts(fixture, sessions);
  const bodies: string[] = [];
  for (const principal of POOL) {
    for (let index = 0; index < TOKENS_PER_PRINCIPAL; index += 1) {
      const { token } = await createClusterToken({ clusterId: CLUSTER_ID, credentials: credentialsFor(sessions, principal), region: REGION, stsEndpoint: `https://sts.${REGION}.amazonaws.com` });
      bodies.push(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1beta1', kind: 'TokenReview', spec: { token } }));
    }
  }
  const scenario = SCENARIOS.find((candidate) => candidate.name === 'config-map')!;
  const probe = JSON.parse(bodies[0]!).spec.token as string;
  const pair = await startPair(fixture, scenario, referenceBinary, probe);
  const rows: LoginRow[] = [];
  try {
    if (pair.pids.reference === undefined) throw new Error('aws-iam-authenticator did not start');
    const servers: Array<[LoginServer, number, string | undefined, number | undefined]> = [
      ['ours', pair.ports.ours, pair.caPem, pair.pids.ours],
      ['reference', pair.ports.reference, undefined, pair.pids.reference],
    ];
    for (const cache of ['warm', 'cold'] as const) {
      const runs = new Map<LoginServer, Array<Omit<LoginRow, 'server' | 'cache'>>>();
      for (let run = 0; run < RUNS; run += 1) {
        // Interleaved, so a busy minute of the machine falls on both.
        for (const [server, port, ca, pid] of servers) {
          await load(port, ca, cache, bodies, pid, 300); // warm-up, not counted
          const measured = await load(port, ca, cache, bodies, pid);
          runs.set(server, [...(runs.get(server) ?? []), measured]);
        }
      }
      for (const [server] of servers) {
        const measured = runs.get(server)!;
        rows.push({
          server,
          cache,
          reviewsPerSecond: median(measured.map((row) => row.reviewsPerSecond)),
          p50Ms: median(measured.map((row) => row.p50Ms)),
          p99Ms: median(measured.map((row) => row.p99Ms)),
          cpuMicrosecondsPerReview: measured.every((row) => row.cpuMicrosecondsPerReview !== undefined) ? median(measured.map((row) => row.cpuMicrosecondsPerReview!)) : undefined,
          failures: measured.reduce((sum, row) => sum + row.failures, 0),
        });
      }
    }
  } finally {
    await pair.stop();
    sts.close();
  }
  const result: LoginBench = { referenceVersion: '', tokens: bodies.length, connections: CONNECTIONS, rows };
  writeFileSync(resultFile, JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`login-inside: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
