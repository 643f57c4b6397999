/**
 * Admission over HTTPS with keep-alive: ours, the peer (the AWS Go webhook), any `--compare` builds
 * of ours, and the two bare baselines, each in its own process, interleaved; then the c ≥ 2 cases
 * again with every server pinned to CPU 1 and the load generator (this process) to CPU 0.
 */
import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { allowResponse } from '../src/webhook/admission/review.js';
import { DEFAULT_MUTATION_OPTIONS } from '../src/webhook/engine/defaults.js';
import { mutatePod } from '../src/webhook/engine/mutate.js';
import { readPod } from '../src/webhook/read-objects.js';
import { checkAnswer, identityDifference, otherContainerDifferences, type ReviewVersion } from './answers.js';
import { certFile, cli, deploymentEnv, DURATION, keyFile, log, postOnce, root, round, RUNS, say, work } from './context.js';
import { type LoadResult, median, runLoad } from './load.js';
import { peerArgs, type Peer } from './peer.js';
import { cpuMicroseconds, freePort, pin, startNode, startProcess, stop } from './processes.js';
import { admissionReviewFor, BENCH_ROLE_ARN, realisticPod, REVIEW_UID } from './workloads.js';

export interface AdmissionRow {
  readonly containers: number;
  readonly connections: number;
  /** Every server on CPU 1, the load generator on CPU 0. */
  readonly pinned: boolean;
  readonly server: string;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of the server process per answered request (median of runs); undefined without /proc. */
  readonly cpuMicrosecondsPerRequest: number | undefined;
  /** Set instead of figures when the server could not be measured. */
  readonly unavailable?: string;
  readonly runs: readonly LoadResult[];
}

export interface AdmissionSettings {
  readonly sizes: readonly number[];
  readonly connections: readonly number[];
  /** Connections measured again pinned (empty: no pinned runs). */
  readonly pinnedConnections: readonly number[];
  readonly busyWaitMicroseconds: number;
  /** Directories holding other builds of ours (their dist/src/cli.js), measured as `ours@<dir name>`. */
  readonly compare: readonly string[];
  readonly peer: { readonly ok: true; readonly peer: Peer } | { readonly ok: false; readonly reason: string };
  /** The CPU list the benchmark process started with, restored after the pinned runs. */
  readonly cpus: string;
}

export interface AdmissionResult {
  readonly rows: AdmissionRow[];
  /** Why the peer has no figures (the whole section or some sizes), if it has none. */
  readonly peerUnavailable: string | undefined;
  /** What the answer check found about the peer beyond env, mounts and volume. */
  readonly peerNotes: string[];
}

interface Running {
  readonly name: string;
  readonly url: string;
  readonly pid: number | undefined;
  readonly reviewVersion: ReviewVersion;
  stop(): Promise<void>;
}

const SERVICE_ACCOUNT = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'service', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': BENCH_ROLE_ARN } } };

function reviewBody(containers: number, version: ReviewVersion): string {
  return JSON.stringify(admissionReviewFor(realisticPod(containers), version));
}

async function startOurs(name: string, cliPath: string, cpus: string | undefined): Promise<Running> {
  const server = await startNode([cliPath, 'serve', '--service-accounts', join(work, 'serviceaccounts.yaml'), '--port', '0', '--metrics-port', '0', '--tls-cert', certFile, '--tls-key', keyFile], {
    logFile: log(`${name}${cpus ? '-pinned' : ''}.log`),
    readyEvent: 'listening',
    env: deploymentEnv(),
    cpus,
  });
  const port = Number(new URL(String(server.ready.address)).port);
  return { name, url: `https://127.0.0.1:${port}/mutate`, pid: server.child.pid, reviewVersion: 'admission.k8s.io/v1', stop: () => stop(server.child) };
}

/** The peer, with its informer on `kubeconfig`; ready once it answers a review with a patch. */
export async function startPeer(peer: Peer, kubeconfig: string, logName: string, cpus: string | undefined, readyReview: { body: string; containers: number }): Promise<Running> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const url = `https://127.0.0.1:${port}/mutate`;
  const server = await startProcess(peer.binary, peerArgs({ kubeconfig, cert: certFile, key: keyFile, port, metricsPort }), {
    logFile: log(logName),
    cpus,
    timeoutMs: 300_000,
    ready: async () => checkAnswer(peer.reviewVersion, REVIEW_UID, realisticPod(readyReview.containers), (await postOnce(url, readyReview.body, 2000)).text).ok,
  });
  return { name: 'peer', url, pid: server.child.pid, reviewVersion: peer.reviewVersion, stop: () => stop(server.child) };
}

async function startBaseline(mode: 'echo' | 'work', containers: number, busyWait: number, cpus: string | undefined): Promise<Running> {
  const payload = join(work, mode === 'echo' ? `response-${containers}.json` : `patch-${containers}.json`);
  const extra = mode === 'work' && busyWait > 0 ? [String(busyWait)] : [];
  const server = await startNode([join(root, 'dist', 'bench', 'servers', 'baseline-server.js'), mode, certFile, keyFile, payload, ...extra], { logFile: log(`${mode}.log`), cpus });
  return { name: mode, url: `https://127.0.0.1:${Number(server.ready.port)}/mutate`, pid: server.child.pid, reviewVersion: 'admission.k8s.io/v1', stop: () => stop(server.child) };
}

/** Every server loaded in turn for RUNS rounds (after a 1 s warm-up each): drift hits them alike. */
async function measure(servers: readonly Running[], containers: number, connections: number): Promise<Map<string, { runs: LoadResult[]; cpu: number[] }>> {
  const bodies = new Map<ReviewVersion, string>();
  const bodyOf = (server: Running): string => {
    let body = bodies.get(server.reviewVersion);
    if (body === undefined) bodies.set(server.reviewVersion, (body = reviewBody(containers, server.reviewVersion)));
    return body;
  };
  const load = (server: Running, durationSeconds: number) => runLoad({ url: server.url, body: bodyOf(server), contentType: 'application/json', connections, durationSeconds });
  for (const server of servers) await load(server, 1);
  const measured = new Map(servers.map((server) => [server.name, { runs: [] as LoadResult[], cpu: [] as number[] }]));
  for (let run = 0; run < RUNS; run += 1) {
    for (const server of servers) {
      const cpuBefore = cpuMicroseconds(server.pid);
      const result = await load(server, DURATION);
      const cpuAfter = cpuMicroseconds(server.pid);
      if (result.errors > 0 || result.non2xx > 0) throw new Error(`${server.name}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
      const entry = measured.get(server.name)!;
      entry.runs.push(result);
      if (cpuBefore !== undefined && cpuAfter !== undefined && result.requests > 0) entry.cpu.push((cpuAfter - cpuBefore) / result.requests);
    }
  }
  return measured;
}

function rowsOf(measured: Map<string, { runs: LoadResult[]; cpu: number[] }>, containers: number, connections: number, pinned: boolean): AdmissionRow[] {
  return [...measured].map(([server, { runs, cpu }]) => ({
    containers,
    connections,
    pinned,
    server,
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    cpuMicrosecondsPerRequest: cpu.length === runs.length ? median(cpu) : undefined,
    runs,
  }));
}

const unavailableRow = (containers: number, connections: number, pinned: boolean, server: string, reason: string): AdmissionRow => ({
  containers,
  connections,
  pinned,
  server,
  requestsPerSecond: Number.NaN,
  p50Ms: Number.NaN,
  p99Ms: Number.NaN,
  cpuMicrosecondsPerRequest: undefined,
  unavailable: reason,
  runs: [],
});

/** Ours' answer (the reference) must be exactly the precomputed one; every other server's must mean the same. */
async function checkAnswers(servers: readonly Running[], containers: number, expected: string): Promise<Map<string, string>> {
  const problems = new Map<string, string>();
  const pod = realisticPod(containers);
  const reference = checkAnswer('admission.k8s.io/v1', REVIEW_UID, pod, expected);
  if (!reference.ok) throw new Error(`the precomputed response for ${containers} containers: ${reference.problem}`);
  for (const server of servers) {
    if (server.name === 'work' || server.name === 'echo') continue;
    const text = (await postOnce(server.url, reviewBody(containers, server.reviewVersion))).text;
    if (server.name.startsWith('ours')) {
      if (text !== expected) throw new Error(`${server.name}'s response for ${containers} containers differs from the baselines' precomputed one`);
      continue;
    }
    const answer = checkAnswer(server.reviewVersion, REVIEW_UID, pod, text);
    const difference = answer.ok ? identityDifference(answer.identity, reference.identity) : answer.problem;
    if (difference !== undefined) problems.set(server.name, `its answer for ${containers} containers does not mean what ours means: ${difference}`);
  }
  return problems;
}

export async function benchAdmission(settings: AdmissionSettings): Promise<AdmissionResult> {
  writeFileSync(join(work, 'serviceaccounts.yaml'), stringify(SERVICE_ACCOUNT));
  const rows: AdmissionRow[] = [];
  const peerNotes: string[] = [];
  let peerUnavailable = settings.peer.ok ? undefined : settings.peer.reason;
  const stops: Array<() => Promise<void>> = [];
  const ownBuilds = [{ name: 'ours', cliPath: cli }, ...settings.compare.map((dir) => ({ name: `ours@${basename(resolve(dir))}`, cliPath: join(resolve(dir), 'dist', 'src', 'cli.js') }))];
  try {
    const shared: Running[] = [];
    for (const build of ownBuilds) shared.push(await startOurs(build.name, build.cliPath, undefined));
    stops.push(...shared.map((server) => () => server.stop()));

    // The peer reads the same ServiceAccount from the fake API server, in its own process.
    let peerKubeconfig: string | undefined;
    if (settings.peer.ok) {
      try {
        peerKubeconfig = join(work, 'kubeconfig-admission');
        const api = await startNode([join(root, 'dist', 'bench', 'servers', 'fake-apiserver-process.js'), '0', peerKubeconfig, join(work, 'serviceaccounts.yaml')], { logFile: log('fake-apiserver-admission.log') });
        stops.push(() => stop(api.child));
        const peer = await startPeer(settings.peer.peer, peerKubeconfig, 'peer.log', undefined, { body: reviewBody(1, settings.peer.peer.reviewVersion), containers: 1 });
        shared.push(peer);
        stops.push(() => peer.stop());
        // Would a kube-apiserver calling it with v1 reviews accept its answer?
        const v1 = checkAnswer('admission.k8s.io/v1', REVIEW_UID, realisticPod(1), (await postOnce(peer.url, reviewBody(1, 'admission.k8s.io/v1'))).text);
        peerNotes.push(`answers admission.k8s.io/v1 reviews: ${v1.ok ? 'yes' : `no (${v1.problem})`}`);
      } catch (error) {
        peerUnavailable = `it did not start: ${error instanceof Error ? error.message : String(error)}`;
      }
    }

    for (const containers of settings.sizes) {
      const review = admissionReviewFor(realisticPod(containers));
      const view = readPod((review.request as { object: unknown }).object);
      if (!view.ok) throw new Error(view.error);
      const patch = mutatePod({ ...view.value, namespace: 'shop' }, { name: 'service', namespace: 'shop', annotations: SERVICE_ACCOUNT.metadata.annotations }, DEFAULT_MUTATION_OPTIONS).patch;
      const response = JSON.stringify(allowResponse('admission.k8s.io/v1', REVIEW_UID, patch, []));
      writeFileSync(join(work, `response-${containers}.json`), response);
      writeFileSync(join(work, `patch-${containers}.json`), JSON.stringify(patch));

      const problems = await checkAnswers(shared, containers, response);
      const peerHere = shared.find((server) => server.name === 'peer');
      if (peerHere && !problems.has('peer') && containers === settings.sizes[0]) {
        const pod = realisticPod(containers);
        const mine = checkAnswer('admission.k8s.io/v1', REVIEW_UID, pod, response);
        const theirs = checkAnswer(peerHere.reviewVersion, REVIEW_UID, pod, (await postOnce(peerHere.url, reviewBody(containers, peerHere.reviewVersion))).text);
        if (mine.ok && theirs.ok) {
          const other = otherContainerDifferences(mine.pod, theirs.pod);
          peerNotes.push(`its patch (${theirs.patchOperations} operations, ${theirs.patchBytes} bytes, against ours' ${mine.patchOperations} and ${mine.patchBytes}) ${other.length === 0 ? 'leaves every other container field as it was' : `also changes ${other.join(', ')}`}`);
        }
      }
      const measuredHere = shared.filter((server) => !problems.has(server.name));
      const peerReason = peerUnavailable ?? problems.get('peer');

      const baselines = [await startBaseline('work', containers, settings.busyWaitMicroseconds, undefined), await startBaseline('echo', containers, 0, undefined)];
      try {
        for (const connections of settings.connections) {
          const measured = await measure([...measuredHere, ...baselines], containers, connections);
          rows.push(...rowsOf(measured, containers, connections, false));
          if (peerReason !== undefined) rows.push(unavailableRow(containers, connections, false, 'peer', peerReason));
          say(`admission ${containers} containers × ${connections} connections: ${[...measured].map(([name, entry]) => `${name} ${round(median(entry.runs.map((run) => run.requestsPerSecond)), 0)}`).join(', ')} req/s`);
        }
      } finally {
        for (const server of baselines) await server.stop();
      }

      if (settings.pinnedConnections.length === 0) continue;
      // The per-core figure replicas scale by: each server alone on CPU 1, the load generator on CPU 0.
      const pinned: Running[] = [];
      try {
        for (const build of ownBuilds) pinned.push(await startOurs(build.name, build.cliPath, '1'));
        if (measuredHere.some((server) => server.name === 'peer') && settings.peer.ok && peerKubeconfig) {
          pinned.push(await startPeer(settings.peer.peer, peerKubeconfig, 'peer-pinned.log', '1', { body: reviewBody(containers, settings.peer.peer.reviewVersion), containers }));
        }
        pinned.push(await startBaseline('work', containers, settings.busyWaitMicroseconds, '1'), await startBaseline('echo', containers, 0, '1'));
        pin(process.pid, '0');
        for (const connections of settings.pinnedConnections) {
          const measured = await measure(pinned, containers, connections);
          rows.push(...rowsOf(measured, containers, connections, true));
          if (peerReason !== undefined) rows.push(unavailableRow(containers, connections, true, 'peer', peerReason));
          say(`admission ${containers} containers × ${connections} connections, pinned: ${[...measured].map(([name, entry]) => `${name} ${round(median(entry.runs.map((run) => run.requestsPerSecond)), 0)}`).join(', ')} req/s`);
        }
      } finally {
        pin(process.pid, settings.cpus);
        for (const server of pinned) await server.stop();
      }
    }
  } finally {
    for (const stopOne of stops.reverse()) await stopOne();
  }
  return { rows, peerUnavailable, peerNotes };
}
