/** The benchmark's sections and its report (started by bench/run.ts once the peer is settled). */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeCertificateFiles } from '../src/shared/certs/files.js';
import { DEFAULT_MUTATION_OPTIONS } from '../src/webhook/engine/defaults.js';
import { mutatePod } from '../src/webhook/engine/mutate.js';
import { readPod } from '../src/webhook/read-objects.js';
import { type AdmissionResult, type AdmissionRow, benchAdmission } from './admission.js';
import { type ApiResult, benchApiServer } from './api-server.js';
import { benchProbe, benchSideBySide, cacheLines, SIDE_BY_SIDE_SIZES } from './cache.js';
import { argv, certificates, DURATION, listOption, option, quick, root, round, RUNS, say, skipped, target, targets, work } from './context.js';
import { PEER_MODULE, PEER_VERSION, type PeerResolution } from './peer.js';
import { canPin, killAll } from './processes.js';
import { benchSts, type StsRow } from './sts.js';
import { benchLogin, loginLines } from './login.js';
import { BENCH_ROLE_ARN, realisticPod } from './workloads.js';

const only = option('only')?.split(',');
const runs = (section: string) => only === undefined || only.includes(section);
/** Pod sizes of the engine section, which always measures all three (its target compares them). */
const ENGINE_SIZES = [1, 10, 50];
const SIZES = listOption('sizes', ENGINE_SIZES);
const CONCURRENCY = listOption('connections', [1, 32]);
/** `--busy-wait=N` adds N µs of busy-waiting to `work`'s handler: how much N µs of extra code costs. */
const BUSY_WAIT = listOption('busy-wait', [0])[0]!;
const COMPARE = option('compare')?.split(',').filter(Boolean) ?? [];
const SERVICE_ACCOUNTS = quick ? 5_000 : 50_000;

// ---- the engine alone --------------------------------------------------------------------------

interface EngineRow {
  containers: number;
  mutationsPerSecond: number;
  microsecondsPerMutation: number;
  microsecondsPerContainer: number;
  patchBytes: number;
  patchOperations: number;
}

function benchEngine(): EngineRow[] {
  return ENGINE_SIZES.map((containers) => {
    const object = realisticPod(containers);
    const serviceAccount = { name: 'service', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': BENCH_ROLE_ARN } };
    const once = () => {
      const view = readPod(object);
      if (!view.ok) throw new Error(view.error);
      return mutatePod(view.value, serviceAccount, DEFAULT_MUTATION_OPTIONS).patch;
    };
    const patch = once();
    for (let warm = performance.now(); performance.now() - warm < 300; ) once();
    let iterations = 0;
    const started = performance.now();
    const budget = quick ? 300 : 1000;
    while (performance.now() - started < budget) {
      for (let index = 0; index < 100; index += 1) once();
      iterations += 100;
    }
    const micros = ((performance.now() - started) * 1000) / iterations;
    return {
      containers,
      mutationsPerSecond: round(1e6 / micros, 0),
      microsecondsPerMutation: round(micros),
      microsecondsPerContainer: round(micros / containers),
      patchBytes: JSON.stringify(patch).length,
      patchOperations: patch.length,
    };
  });
}

// ---- report ------------------------------------------------------------------------------------

const loadAverage = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const fmt = (value: number | undefined, digits: number): string => (value === undefined || Number.isNaN(value) ? '–' : String(round(value, digits)));

function admissionLines(result: AdmissionResult, lines: string[]): void {
  const { rows } = result;
  const find = (containers: number, connections: number, pinned: boolean, server: string) =>
    rows.find((row) => row.containers === containers && row.connections === connections && row.pinned === pinned && row.server === server);
  const cases = [...new Map(rows.map((row) => [`${row.containers}/${row.connections}/${row.pinned}`, row])).values()];
  lines.push('', 'Admission over HTTPS, keep-alive (median of runs; pinned: every server on CPU 1, the load generator on CPU 0):', '');
  lines.push(
    '| containers | connections | pinned | server | req/s | p50 ms | p99 ms | CPU µs/req | ours/work | ours/echo | ours/peer | this/ours |',
    '| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const { containers, connections, pinned } of cases) {
    const ours = find(containers, connections, pinned, 'ours')!;
    const work = find(containers, connections, pinned, 'work')!;
    const echo = find(containers, connections, pinned, 'echo')!;
    const peer = find(containers, connections, pinned, 'peer');
    const order = ['ours', ...rows.filter((row) => row.containers === containers && row.connections === connections && row.pinned === pinned && row.server.startsWith('ours@')).map((row) => row.server), 'peer', 'work', 'echo'];
    for (const server of order) {
      const row = find(containers, connections, pinned, server);
      if (!row) continue;
      const where = `| ${containers} | ${connections} | ${pinned ? 'yes' : 'no'} | ${server} |`;
      if (row.unavailable !== undefined) {
        lines.push(`${where} not available: ${row.unavailable} | | | | | | | |`);
        continue;
      }
      const peerRatio = peer && peer.unavailable === undefined ? fmt(ours.requestsPerSecond / peer.requestsPerSecond, 2) : '–';
      const ratios = server === 'ours' ? `${fmt(ours.requestsPerSecond / work.requestsPerSecond, 2)} | ${fmt(ours.requestsPerSecond / echo.requestsPerSecond, 2)} | ${peerRatio} |  |` : server === 'work' || server === 'echo' ? ' | | | |' : ` | | | ${fmt(row.requestsPerSecond / ours.requestsPerSecond, 2)} |`;
      lines.push(`${where} ${fmt(row.requestsPerSecond, 0)} | ${fmt(row.p50Ms, 3)} | ${fmt(row.p99Ms, 3)} | ${fmt(row.cpuMicrosecondsPerRequest, 1)} | ${ratios}`);
    }
  }
  for (const note of result.peerNotes) lines.push('', `Peer: ${note}.`);

  for (const { containers, connections, pinned } of cases) {
    if (pinned) continue;
    const ratio = find(containers, connections, false, 'ours')!.requestsPerSecond / find(containers, connections, false, 'work')!.requestsPerSecond;
    target(`throughput ≥ 0.9 × work (${containers} containers, ${connections} connections)`, ratio >= 0.9, `${round(ratio)} ×`);
  }
  const ten32 = [find(10, 32, false, 'ours'), find(10, 32, false, 'work')];
  if (ten32[0] && ten32[1]) {
    const ratio = ten32[0].p99Ms / ten32[1].p99Ms;
    target('p99 at 32 connections ≤ 1.5 × work, 10 containers', ratio <= 1.5, `${round(ratio)} × (${round(ten32[0].p99Ms, 3)} ms vs ${round(ten32[1].p99Ms, 3)} ms)`);
  }
  const ten1 = find(10, 1, false, 'ours');
  if (ten1) target('p99 at 1 connection ≤ 2 ms, 10 containers', ten1.p99Ms <= 2, `${round(ten1.p99Ms, 3)} ms`);

  // Against the peer, per pod size.
  for (const containers of [...new Set(rows.map((row) => row.containers))]) {
    const mine = rows.filter((row) => row.containers === containers && row.server === 'ours');
    const theirs = (row: AdmissionRow) => find(row.containers, row.connections, row.pinned, 'peer');
    const missing = mine.map(theirs).find((row) => row === undefined || row.unavailable !== undefined);
    const unavailable = missing === undefined ? undefined : `peer unavailable: ${missing?.unavailable ?? 'not measured'}`;
    const compare = (name: string, cases: AdmissionRow[], better: (ours: AdmissionRow, peer: AdmissionRow) => boolean, show: (row: AdmissionRow) => string) => {
      if (cases.length === 0) return;
      if (unavailable !== undefined) return skipped(name, unavailable);
      const pairs = cases.map((row) => [row, theirs(row)!] as const);
      target(name, pairs.every(([ours, peer]) => better(ours, peer)), pairs.map(([ours, peer]) => `${ours.connections} conn.${ours.pinned ? ' pinned' : ''}: ${show(ours)} vs ${show(peer)}`).join('; '));
    };
    compare(`CPU per answered review ≤ the peer's, ${containers} containers`, mine, (ours, peer) => (ours.cpuMicrosecondsPerRequest ?? Infinity) <= (peer.cpuMicrosecondsPerRequest ?? -Infinity), (row) => `${fmt(row.cpuMicrosecondsPerRequest, 1)} µs`);
    compare(`pinned throughput ≥ the peer's, ${containers} containers`, mine.filter((row) => row.pinned), (ours, peer) => ours.requestsPerSecond >= peer.requestsPerSecond, (row) => `${fmt(row.requestsPerSecond, 0)} req/s`);
    compare(`p99 at 1 connection ≤ the peer's, ${containers} containers`, mine.filter((row) => !row.pinned && row.connections === 1), (ours, peer) => ours.p99Ms <= peer.p99Ms, (row) => `${fmt(row.p99Ms, 3)} ms`);
    compare(`p99 at 32 connections, pinned, ≤ the peer's, ${containers} containers`, mine.filter((row) => row.pinned && row.connections === 32), (ours, peer) => ours.p99Ms <= peer.p99Ms, (row) => `${fmt(row.p99Ms, 3)} ms`);
  }
}

function apiLines(result: ApiResult | { unavailable: string }, lines: string[]): void {
  const names = ['ours ≥ 0.98 × the minimal stand-in', "ours ≥ the peer's"];
  if ('unavailable' in result) {
    lines.push('', `Through a real API server: not available: ${result.unavailable}`);
    for (const connections of [1, 8]) for (const name of names) skipped(`through the real API server, ${name} (pods/s, ${connections} connections)`, `the section did not run: ${result.unavailable}`);
    return;
  }
  lines.push('', `Through a real API server (kube-apiserver ${result.kubernetes} and etcd on loopback; server-side dry-run pod creations, ${result.containers}-container pods; median of runs):`, '');
  lines.push('| connections | webhook | pods/s | p50 ms | p99 ms | ÷ none | ours ÷ this |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const connections of [1, 8]) {
    const row = (mode: string) => result.rows.find((entry) => entry.mode === mode && entry.connections === connections);
    const none = row('none')!;
    const ours = row('ours')!;
    for (const mode of ['none', 'ours', 'peer', 'stand-in']) {
      const entry = row(mode);
      if (!entry) continue;
      if (entry.unavailable !== undefined) {
        lines.push(`| ${connections} | ${mode} | not available: ${entry.unavailable} | | | | |`);
        continue;
      }
      lines.push(`| ${connections} | ${mode} | ${fmt(entry.podsPerSecond, 0)} | ${fmt(entry.p50Ms, 3)} | ${fmt(entry.p99Ms, 3)} | ${fmt(entry.podsPerSecond / none.podsPerSecond, 3)} | ${mode === 'ours' ? '' : fmt(ours.podsPerSecond / entry.podsPerSecond, 3)} |`);
    }
    const standIn = row('stand-in')!;
    const ratio = ours.podsPerSecond / standIn.podsPerSecond;
    target(`through the real API server, ${names[0]} (pods/s, ${connections} connections)`, ratio >= 0.98, `${round(ratio, 3)} × (${fmt(ours.podsPerSecond, 0)} vs ${fmt(standIn.podsPerSecond, 0)})`);
    const peer = row('peer');
    if (!peer || peer.unavailable !== undefined) skipped(`through the real API server, ${names[1]} (pods/s, ${connections} connections)`, `peer unavailable: ${peer?.unavailable ?? 'not measured'}`);
    else target(`through the real API server, ${names[1]} (pods/s, ${connections} connections)`, ours.podsPerSecond >= peer.podsPerSecond, `${round(ours.podsPerSecond / peer.podsPerSecond, 3)} × (${fmt(ours.podsPerSecond, 0)} vs ${fmt(peer.podsPerSecond, 0)})`);
  }
}

function stsLines(sts: StsRow, lines: string[]): void {
  lines.push('', 'Lab STS, AssumeRoleWithWebIdentity over HTTP (baseline: bare jose RS256 verification, one at a time, one process):', '');
  lines.push('| connections | req/s | p50 ms | p99 ms | ratio to baseline |', '| ---: | ---: | ---: | ---: | ---: |');
  for (const row of sts.sts) lines.push(`| ${row.connections} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${round(row.requestsPerSecond / sts.baselineVerificationsPerSecond)} |`);
  lines.push(`| baseline | ${sts.baselineVerificationsPerSecond} verifications/s | | | 1 |`);
  const ratio = sts.sts.find((row) => row.connections === 8)!.requestsPerSecond / sts.baselineVerificationsPerSecond;
  target('STS at 8 connections ≥ 0.5 × bare verification', ratio >= 0.5, `${round(ratio)} ×`);
}

// ---- run everything ----------------------------------------------------------------------------

export async function main(peer: PeerResolution): Promise<void> {
  try {
    await run(peer);
    killAll();
    rmSync(work, { recursive: true, force: true });
  } catch (error) {
    killAll();
    process.stderr.write(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n(logs kept in ${work})\n`);
    process.exitCode = 1;
  }
}

async function run(peer: PeerResolution): Promise<void> {
  const began = performance.now();
  const pinning = canPin(availableParallelism());
  const cpuList = pinning.ok ? execFileSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' }).split(':').at(-1)!.trim() : '';
  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, quick, cpus: cpuList };
  await writeCertificateFiles(work, certificates);
  say(`pod-identity-webhook benchmark on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}${quick ? ', quick mode' : ''}; load average ${loadAverage()}`);
  const loads: Record<string, number> = {};
  const section = async <T>(name: string, body: () => Promise<T> | T): Promise<T | undefined> => {
    if (!runs(name)) return undefined;
    loads[name] = loadAverage();
    return body();
  };
  const pinnedConnections = pinning.ok && !argv.includes('--no-pin') ? CONCURRENCY.filter((connections) => connections > 1) : [];
  if (!pinning.ok) say(`no pinned runs: ${pinning.reason}`);

  const admission = await section('admission', () =>
    benchAdmission({ sizes: SIZES, connections: CONCURRENCY, pinnedConnections, busyWaitMicroseconds: BUSY_WAIT, compare: COMPARE, peer, cpus: cpuList }),
  );
  const engine = await section('engine', benchEngine);
  const cache = await section('cache', async () => ({
    empty: await benchProbe(0, false),
    full: await benchProbe(SERVICE_ACCOUNTS, true),
    side: await benchSideBySide(SIDE_BY_SIDE_SIZES, peer),
  }));
  const api = await section('apiserver', () => benchApiServer(peer));
  const sts = await section('sts', benchSts);
  const login = await section('login', benchLogin);

  const lines: string[] = [];
  const peerLine = peer.ok ? `peer: ${peer.peer.source} (${peer.peer.reviewVersion} reviews)` : `peer (${PEER_MODULE}@${PEER_VERSION}): not available: ${peer.reason}`;
  lines.push('', `Machine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}; ${peerLine}`);
  lines.push(`1-minute load average at the start of each section: ${Object.entries(loads).map(([name, value]) => `${name} ${value}`).join(', ')}; at the end ${loadAverage()}`);
  if (admission) admissionLines(admission, lines);
  if (engine) {
    lines.push('', 'Engine alone (readPod + mutatePod, one process):', '');
    lines.push('| containers | mutations/s | µs/mutation | µs/container | patch bytes | patch ops |', '| ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of engine) lines.push(`| ${row.containers} | ${row.mutationsPerSecond} | ${row.microsecondsPerMutation} | ${row.microsecondsPerContainer} | ${row.patchBytes} | ${row.patchOperations} |`);
    const growth = Math.max(...engine.slice(1).map((row, index) => row.microsecondsPerContainer / engine[index]!.microsecondsPerContainer));
    target('engine cost per container roughly constant from 1 to 50 containers (no step above 1.25 ×)', growth <= 1.25, `largest step ${round(growth)} ×`);
  }
  if (cache) cacheLines(cache.empty, cache.full, cache.side, lines);
  if (api) apiLines(api, lines);
  if (sts) stsLines(sts, lines);
  if (login) loginLines(login, lines);

  lines.push('', 'Targets:', '');
  for (const item of targets) lines.push(`${item.status.padEnd(7)} ${item.name}: ${item.detail}`);
  // Why the peer is missing is said once, on the machine line; rows and targets point there.
  if (!peer.ok) for (let index = 2; index < lines.length; index += 1) lines[index] = lines[index]!.replaceAll(peer.reason, 'see the peer on the machine line');
  const seconds = round((performance.now() - began) / 1000, 0);
  lines.push('', `finished in ${seconds} s; logs of every process in ${work} (removed on success)`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const narrowed = only !== undefined || argv.some((arg) => /^--(sizes|connections|busy-wait|compare|no-pin|kubernetes|api-containers|runs|duration)(=|$)/.test(arg));
  if (!narrowed) {
    writeFileSync(
      join(root, 'bench', 'results.json'),
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine,
          loadAverage: loads,
          durationSeconds: DURATION,
          runs: RUNS,
          peer: peer.ok ? { source: peer.peer.source, reviewVersion: peer.peer.reviewVersion } : { module: `${PEER_MODULE}@${PEER_VERSION}`, unavailable: peer.reason },
          admission: admission && { ...admission, rows: admission.rows.map(({ runs: _runs, ...row }) => row) },
          engine,
          cache,
          apiServer: api,
          sts,
          login,
          targets,
          seconds,
        },
        null,
        2,
      )}\n`,
    );
  }
}
