/**
 * The ServiceAccount cache at scale: the fake API server in its own process holds N realistic
 * ServiceAccounts; the webhook lists and watches them.
 *
 * - The probe (bench/servers/webhook-probe.ts: the parts `serve --kubeconfig` assembles plus an IPC
 *   probe) gives heap after full collections and lookup latency.
 * - Side by side, ours as users run it (`serve --kubeconfig`, the Deployment's environment) and the
 *   peer: time from process start to ready, RSS then, once settled, and at its peak, read from /proc
 *   the same way for both. "Ready" is the same test for both: the process answers a review for a pod
 *   of the ServiceAccount the fake API server lists last with that ServiceAccount's role (the fake
 *   answers single GETs with 404 there, so only the list can tell it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { checkAnswer, type ReviewVersion } from './answers.js';
import { certFile, cli, deploymentEnv, keyFile, log, postOnce, quick, root, round, RUNS, say, skipped, target, work } from './context.js';
import { median } from './load.js';
import { peerArgs, type Peer } from './peer.js';
import { freePort, memoryOf, type Started, startNode, startProcess, stop } from './processes.js';
import { admissionReviewFor, realisticPod, REVIEW_UID } from './workloads.js';

export interface ProbeRow {
  serviceAccounts: number;
  syncMs: number;
  /** Right after the first list, after full collections. */
  rssMb: number;
  /** Once V8 has given back the memory the list used (its memory reducer runs when the process is idle). */
  settledRssMb: number;
  peakRssMb: number;
  heapMb: number;
  lookupP50Ms: number | undefined;
  lookupP99Ms: number | undefined;
}

export interface SideBySideRow {
  readonly server: 'ours' | 'peer';
  readonly serviceAccounts: number;
  /** Median over rounds: process start to the first correct answer for the last-listed ServiceAccount. */
  readonly readyMs: number;
  readonly rssAtReadyMb: number;
  /** After SETTLE seconds idle once ready. */
  readonly settledRssMb: number;
  readonly peakRssMb: number;
  readonly readyRuns: readonly number[];
  readonly unavailable?: string;
}

const mb = (bytes: unknown) => round(Number(bytes) / 1024 / 1024, 1);

/**
 * The side-by-side sizes: none (the process itself), a large cluster and a very large one (issue
 * 29). Each size also lists the one ServiceAccount the readiness check asks for.
 */
export const SIDE_BY_SIDE_SIZES: readonly number[] = quick ? [0, 5_000, 20_000] : [0, 50_000, 200_000];
/** The target for ours with no ServiceAccounts, settled (issue 29). */
const EMPTY_RSS_TARGET_MB = 80;
const SETTLE_SECONDS = quick ? 6 : 30;

/** The ServiceAccount the fake API server lists last (it sorts by namespace): in the cache only once the whole list is. */
const LAST = { namespace: 'zz-bench-ready', name: 'ready', role: 'arn:aws:iam::111122223333:role/bench-ready' };

function startFakeApi(count: number, kubeconfig: string, withLast: boolean): Promise<Started> {
  const extra: string[] = [];
  if (withLast) {
    const file = join(work, 'last-serviceaccount.yaml');
    writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: LAST.name, namespace: LAST.namespace, annotations: { 'eks.amazonaws.com/role-arn': LAST.role } } }));
    extra.push(file);
  }
  return startNode([join(root, 'dist', 'bench', 'servers', 'fake-apiserver-process.js'), String(count), kubeconfig, ...extra], {
    logFile: log('fake-apiserver.log'),
    timeoutMs: 300_000,
    // A live GET would answer the readiness check before the list is done.
    env: withLast ? { FAKE_API_HIDE_GETS: '1' } : {},
  });
}

export async function benchProbe(count: number, settle: boolean): Promise<ProbeRow> {
  const kubeconfig = join(work, `kubeconfig-${count}`);
  const api = await startFakeApi(count, kubeconfig, false);
  try {
    const probe = await startNode(['--expose-gc', join(root, 'dist', 'bench', 'servers', 'webhook-probe.js'), kubeconfig, certFile, keyFile], {
      logFile: log(`probe-${count}.log`),
      env: deploymentEnv(),
      ipc: true,
      timeoutMs: 300_000,
    });
    const ask = (question: 'measure' | 'rss') =>
      new Promise<Record<string, unknown>>((resolve) => {
        probe.child.once('message', (message) => resolve(message as Record<string, unknown>));
        probe.child.send(question);
      });
    const measured = await ask('measure');
    let settled = measured;
    // Left idle, V8 gives back what the list used (its memory reducer); wait for that, up to 40 s.
    for (let waited = 0; settle && waited < 40_000; waited += 2000) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      settled = await ask('rss');
      if (Number(settled.rssBytes) < Number(measured.rssBytes) * 0.85) break;
    }
    await stop(probe.child);
    const latency = measured.lookupMs as { p50: number; p99: number } | undefined;
    if (Number(measured.cached) !== count) throw new Error(`the cache holds ${String(measured.cached)} of ${count} ServiceAccounts`);
    return {
      serviceAccounts: count,
      syncMs: round(Number(measured.syncMs), 0),
      rssMb: mb(measured.rssBytes),
      settledRssMb: mb(settled.rssBytes),
      peakRssMb: mb(settled.peakRssBytes),
      heapMb: mb(measured.heapUsedBytes),
      lookupP50Ms: latency ? round(latency.p50, 5) : undefined,
      lookupP99Ms: latency ? round(latency.p99, 5) : undefined,
    };
  } finally {
    await stop(api.child);
  }
}

function readyCheck(url: string, version: ReviewVersion): () => Promise<boolean> {
  const base = realisticPod(1);
  const pod = { ...base, metadata: { generateName: 'ready-', namespace: LAST.namespace }, spec: { ...(base.spec as Record<string, unknown>), serviceAccountName: LAST.name } };
  const review = admissionReviewFor(pod, version);
  (review.request as Record<string, unknown>).namespace = LAST.namespace;
  const body = JSON.stringify(review);
  return async () => {
    const answer = checkAnswer(version, REVIEW_UID, pod, (await postOnce(url, body, 2000)).text);
    return answer.ok && JSON.stringify(answer.identity.containers[0]?.env).includes(LAST.role);
  };
}

/** One start of a server: spawn, time to ready, RSS then; with `settle`, RSS after SETTLE_SECONDS idle and the peak. */
async function startAndMeasure(server: 'ours' | 'peer', peer: Peer | undefined, kubeconfig: string, settle: boolean): Promise<{ readyMs: number; rssAtReady: number; settled: number; peak: number }> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}/mutate`;
  const started = performance.now();
  const child =
    server === 'ours'
      ? await startNode([cli, 'serve', '--kubeconfig', kubeconfig, '--bind-address', '127.0.0.1', '--port', String(port), '--metrics-port', '0', '--tls-cert', certFile, '--tls-key', keyFile], {
          logFile: log('ours-cluster.log'),
          env: deploymentEnv(),
          ready: readyCheck(url, 'admission.k8s.io/v1'),
          timeoutMs: 300_000,
        })
      : await startProcess(peer!.binary, peerArgs({ kubeconfig, cert: certFile, key: keyFile, port, metricsPort: await freePort() }), {
          logFile: log('peer-cluster.log'),
          ready: readyCheck(url, peer!.reviewVersion),
          timeoutMs: 300_000,
        });
  const readyMs = performance.now() - started;
  try {
    const atReady = memoryOf(child.child.pid);
    let last = atReady;
    for (let waited = 0; settle && waited < SETTLE_SECONDS * 1000; waited += 2000) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      last = memoryOf(child.child.pid);
    }
    return { readyMs, rssAtReady: atReady?.rssBytes ?? Number.NaN, settled: last?.rssBytes ?? Number.NaN, peak: last?.peakRssBytes ?? Number.NaN };
  } finally {
    await stop(child.child);
  }
}

/** Ours and the peer at every size, started alternately (rounds interleave them, so load falls on both alike). */
export async function benchSideBySide(sizes: readonly number[], peer: { ok: true; peer: Peer } | { ok: false; reason: string }): Promise<SideBySideRow[]> {
  const rows: SideBySideRow[] = [];
  for (const count of sizes) rows.push(...(await sideBySideAt(count, peer)));
  return rows;
}

async function sideBySideAt(count: number, peer: { ok: true; peer: Peer } | { ok: false; reason: string }): Promise<SideBySideRow[]> {
  const kubeconfig = join(work, `kubeconfig-side-${count}`);
  const api = await startFakeApi(count, kubeconfig, true);
  const servers: Array<'ours' | 'peer'> = peer.ok ? ['ours', 'peer'] : ['ours'];
  const measured = new Map<'ours' | 'peer', Array<Awaited<ReturnType<typeof startAndMeasure>>>>(servers.map((server) => [server, []]));
  const failed = new Map<'ours' | 'peer', string>();
  try {
    // Rounds alternate the two; the last round also waits for RSS to settle.
    for (let run = 0; run < RUNS; run += 1) {
      for (const server of servers) {
        if (failed.has(server)) continue;
        try {
          measured.get(server)!.push(await startAndMeasure(server, peer.ok ? peer.peer : undefined, kubeconfig, run === RUNS - 1));
        } catch (error) {
          if (server === 'ours') throw error;
          failed.set(server, `it did not become ready: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      say(`cache side by side, ${count} ServiceAccounts, round ${run + 1}: ${servers.map((server) => `${server} ${round(measured.get(server)!.at(-1)?.readyMs ?? Number.NaN, 0)} ms to ready`).join(', ')}`);
    }
  } finally {
    await stop(api.child);
  }
  const rows: SideBySideRow[] = servers.flatMap((server) => {
    const runs = measured.get(server)!;
    const reason = failed.get(server);
    if (reason !== undefined) return [];
    const last = runs.at(-1)!;
    return [
      {
        server,
        serviceAccounts: count,
        readyMs: round(median(runs.map((entry) => entry.readyMs)), 0),
        rssAtReadyMb: mb(median(runs.map((entry) => entry.rssAtReady))),
        settledRssMb: mb(last.settled),
        peakRssMb: mb(last.peak),
        readyRuns: runs.map((entry) => round(entry.readyMs, 0)),
      },
    ];
  });
  const peerReason = peer.ok ? failed.get('peer') : peer.reason;
  if (peerReason !== undefined) rows.push({ server: 'peer', serviceAccounts: count, readyMs: Number.NaN, rssAtReadyMb: Number.NaN, settledRssMb: Number.NaN, peakRssMb: Number.NaN, readyRuns: [], unavailable: peerReason });
  return rows;
}

/** The cache section's tables and targets. */
export function cacheLines(empty: ProbeRow, full: ProbeRow, side: SideBySideRow[], lines: string[]): void {
  lines.push('', 'ServiceAccount cache, the probe (webhook parts in one process; fake API server in another):', '');
  lines.push('| ServiceAccounts | sync ms | RSS MB synced | RSS MB settled | peak RSS MB | heap after GC MB | lookup p50 ms | lookup p99 ms |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of [empty, full]) {
    lines.push(`| ${row.serviceAccounts} | ${row.syncMs} | ${row.rssMb} | ${row === full ? row.settledRssMb : '–'} | ${row.peakRssMb} | ${row.heapMb} | ${row.lookupP50Ms ?? '–'} | ${row.lookupP99Ms ?? '–'} |`);
  }
  const heapGrowth = full.heapMb - empty.heapMb;
  target(`RSS with ${full.serviceAccounts} ServiceAccounts ≤ 150 MB (right after the list, and settled)`, full.rssMb <= 150 && full.settledRssMb <= 150, `${full.rssMb} MB right after the list, ${full.settledRssMb} MB settled, peak ${full.peakRssMb} MB`);
  target('retained heap growth ≤ 25 MB', heapGrowth <= 25, `${round(heapGrowth, 1)} MB`);
  target('lookup p99 ≤ 0.1 ms', (full.lookupP99Ms ?? Infinity) <= 0.1, `${full.lookupP99Ms} ms`);

  lines.push('', "ServiceAccount cache side by side: ours (serve --kubeconfig, the Deployment's environment) and the peer, started alternately (median of runs for time to ready and RSS at ready; settled: after idling; each size lists one more ServiceAccount, the one the readiness check asks for):", '');
  lines.push('| ServiceAccounts | server | time to ready ms | RSS MB at ready | RSS MB settled | peak RSS MB | ready ms, each run | ours/peer ready | ours/peer settled |', '| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
  const sizes = [...new Set(side.map((row) => row.serviceAccounts))];
  for (const count of sizes) {
    const ours = side.find((row) => row.serviceAccounts === count && row.server === 'ours')!;
    const peer = side.find((row) => row.serviceAccounts === count && row.server === 'peer');
    const measuredPeer = peer !== undefined && peer.unavailable === undefined ? peer : undefined;
    for (const row of [ours, peer]) {
      if (row === undefined) continue;
      if (row.unavailable !== undefined) {
        lines.push(`| ${count} | ${row.server} | not available: ${row.unavailable} | | | | | | |`);
        continue;
      }
      const ratios = row === ours && measuredPeer ? `${round(ours.readyMs / measuredPeer.readyMs, 2)} | ${round(ours.settledRssMb / measuredPeer.settledRssMb, 2)}` : ' | ';
      lines.push(`| ${count} | ${row.server} | ${row.readyMs} | ${row.rssAtReadyMb} | ${row.settledRssMb} | ${row.peakRssMb} | ${row.readyRuns.join(', ')} | ${ratios} |`);
    }
    if (count === 0) {
      target(`RSS settled with no ServiceAccounts ≤ ${EMPTY_RSS_TARGET_MB} MB`, ours.settledRssMb <= EMPTY_RSS_TARGET_MB, `${ours.settledRssMb} MB (${ours.rssAtReadyMb} MB at ready)${measuredPeer ? `; the peer ${measuredPeer.settledRssMb} MB` : ''}`);
      continue;
    }
    if (measuredPeer === undefined) {
      const reason = `peer unavailable: ${peer?.unavailable ?? 'not measured'}`;
      skipped(`RSS settled with ${count} ServiceAccounts ≤ the peer's`, reason);
      skipped(`time from process start to ready with ${count} ServiceAccounts ≤ the peer's`, reason);
    } else {
      target(`RSS settled with ${count} ServiceAccounts ≤ the peer's`, ours.settledRssMb <= measuredPeer.settledRssMb, `${ours.settledRssMb} MB vs ${measuredPeer.settledRssMb} MB`);
      target(`time from process start to ready with ${count} ServiceAccounts ≤ the peer's`, ours.readyMs <= measuredPeer.readyMs, `${ours.readyMs} ms vs ${measuredPeer.readyMs} ms`);
    }
  }
}
