/**
 * npm run bench [-- --quick]
 *
 * Measures admission latency and throughput over HTTPS against two baselines in separate processes
 * (echo: the transport ceiling; work: the least work the design requires), the engine alone, the
 * ServiceAccount cache with 50,000 ServiceAccounts listed and watched from another process, and the
 * lab STS against bare jose verification. Prints a table with PASS/FAIL per target and writes
 * bench/results.json. Every figure is a ratio to a baseline measured in the same run.
 */
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, exportJWK, jwtVerify } from 'jose';
import { parse, stringify } from 'yaml';
import { allowResponse } from '../src/webhook/admission/review.js';
import { writeCertificateFiles } from '../src/shared/certs/files.js';
import { generateCertificates } from '../src/shared/certs/generate.js';
import { DEFAULT_MUTATION_OPTIONS } from '../src/webhook/engine/defaults.js';
import { mutatePod } from '../src/webhook/engine/mutate.js';
import { keyId } from '../src/lab/keys.js';
import { mintProjectedToken } from '../src/lab/token.js';
import { readPod } from '../src/webhook/read-objects.js';
import { packageRoot } from '../src/shared/package-info.js';
import { type LoadResult, median, runLoad } from './load.js';
import { cpuMicroseconds, killAll, startNode, stop } from './processes.js';
import { admissionReviewFor, BENCH_ROLE_ARN, realisticPod } from './workloads.js';

const quick = process.argv.includes('--quick');
/** `--only admission,sts` runs just those sections (for profiling work); the default runs all. */
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const runs = (section: string) => only === undefined || only.includes(section);
const DURATION = quick ? 1 : 4;
const RUNS = quick ? 1 : 3;
/** `--sizes=1,10` and `--connections=32` narrow the admission section (for profiling work). */
const listOption = (name: string, fallback: number[]): number[] => {
  const value = process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (value === undefined) return fallback;
  const numbers = value.split(',').map(Number);
  if (numbers.some((number) => !Number.isInteger(number) || number < 1 || number > 1000)) {
    process.stderr.write(`--${name} takes whole numbers from 1 to 1000 separated by commas, got "${value}"\n`);
    process.exit(2);
  }
  return [...new Set(numbers)].sort((a, b) => a - b);
};
/** Pod sizes of the engine section, which always measures all three (its target compares them). */
const ENGINE_SIZES = [1, 10, 50];
const SIZES = listOption('sizes', ENGINE_SIZES);
const CONCURRENCY = listOption('connections', [1, 32]);
/** `--busy-wait=N` adds N µs of busy-waiting to `work`'s handler: how much N µs of extra code costs. */
const BUSY_WAIT = listOption('busy-wait', [0])[0]!;
const SERVICE_ACCOUNTS = quick ? 5_000 : 50_000;

const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'piw-bench-'));
// Logs in a directory of their own: the webhook watches the certificates' directory.
mkdirSync(join(work, 'logs'));
const log = (file: string) => join(work, 'logs', file);
const say = (text: string) => process.stderr.write(`${text}\n`);

interface Target {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}
const targets: Target[] = [];
const target = (name: string, pass: boolean, detail: string) => targets.push({ name, pass, detail });
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

// ---- admission over HTTPS ----------------------------------------------------------------------

type ServerName = 'ours' | 'work' | 'echo';
interface AdmissionRow {
  containers: number;
  connections: number;
  server: ServerName;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the server process per answered request (median of runs); undefined without /proc. */
  cpuMicrosecondsPerRequest: number | undefined;
  runs: LoadResult[];
}

const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });

async function benchAdmission(): Promise<AdmissionRow[]> {
  const cert = join(work, 'tls.crt');
  const key = join(work, 'tls.key');
  const serviceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'service', namespace: 'shop', annotations: { 'eks.amazonaws.com/role-arn': BENCH_ROLE_ARN } } };
  writeFileSync(join(work, 'serviceaccounts.yaml'), stringify(serviceAccount));

  // Ours, as a user runs it: default settings, logging to a file, metrics on.
  const ours = await startNode([cli, 'serve', '--service-accounts', join(work, 'serviceaccounts.yaml'), '--port', '0', '--metrics-port', '0', '--tls-cert', cert, '--tls-key', key], {
    logFile: log('ours.log'),
    readyEvent: 'listening',
  });
  const oursPort = Number(new URL(String(ours.ready.address)).port);
  const rows: AdmissionRow[] = [];
  try {
    for (const containers of SIZES) {
      const review = admissionReviewFor(realisticPod(containers));
      const body = JSON.stringify(review);
      const view = readPod((review.request as { object: unknown }).object);
      if (!view.ok) throw new Error(view.error);
      const patch = mutatePod({ ...view.value, namespace: 'shop' }, { name: 'service', namespace: 'shop', annotations: serviceAccount.metadata.annotations }, DEFAULT_MUTATION_OPTIONS).patch;
      const response = JSON.stringify(allowResponse('admission.k8s.io/v1', (review.request as { uid: string }).uid, patch, []));
      writeFileSync(join(work, `response-${containers}.json`), response);
      writeFileSync(join(work, `patch-${containers}.json`), JSON.stringify(patch));

      // The baselines must answer exactly what ours answers, or the comparison means nothing.
      const check = await fetchOnce(oursPort, body, certificates.caCert);
      if (check !== response) throw new Error(`our response for ${containers} containers differs from the baselines' precomputed one`);

      const baselines: Record<'echo' | 'work', { port: number; pid: number | undefined }> = { echo: { port: 0, pid: undefined }, work: { port: 0, pid: undefined } };
      const started: Array<{ child: Parameters<typeof stop>[0] }> = [];
      for (const mode of ['echo', 'work'] as const) {
        const payload = join(work, mode === 'echo' ? `response-${containers}.json` : `patch-${containers}.json`);
        const busyWait = mode === 'work' && BUSY_WAIT > 0 ? [String(BUSY_WAIT)] : [];
        const server = await startNode([join(root, 'dist', 'bench', 'servers', 'baseline-server.js'), mode, cert, key, payload, ...busyWait], { logFile: log(`${mode}.log`) });
        baselines[mode] = { port: Number(server.ready.port), pid: server.child.pid };
        started.push(server);
      }
      const ports: Record<ServerName, number> = { ours: oursPort, work: baselines.work.port, echo: baselines.echo.port };
      const pids: Record<ServerName, number | undefined> = { ours: ours.child.pid, work: baselines.work.pid, echo: baselines.echo.pid };
      for (const connections of CONCURRENCY) {
        const results: Record<ServerName, LoadResult[]> = { ours: [], work: [], echo: [] };
        const cpu: Record<ServerName, number[]> = { ours: [], work: [], echo: [] };
        for (const server of Object.keys(ports) as ServerName[]) {
          await runLoad({ url: `https://127.0.0.1:${ports[server]}/mutate`, body, contentType: 'application/json', connections, durationSeconds: 1 }); // warm-up
        }
        // Interleaved, so drift on a shared machine hits every server alike.
        for (let run = 0; run < RUNS; run += 1) {
          for (const server of Object.keys(ports) as ServerName[]) {
            const cpuBefore = cpuMicroseconds(pids[server]);
            const result = await runLoad({ url: `https://127.0.0.1:${ports[server]}/mutate`, body, contentType: 'application/json', connections, durationSeconds: DURATION });
            const cpuAfter = cpuMicroseconds(pids[server]);
            if (result.errors > 0 || result.non2xx > 0) throw new Error(`${server}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
            results[server].push(result);
            if (cpuBefore !== undefined && cpuAfter !== undefined && result.requests > 0) cpu[server].push((cpuAfter - cpuBefore) / result.requests);
          }
        }
        for (const server of Object.keys(results) as ServerName[]) {
          const runs = results[server];
          rows.push({
            containers,
            connections,
            server,
            requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
            p50Ms: median(runs.map((run) => run.p50Ms)),
            p99Ms: median(runs.map((run) => run.p99Ms)),
            cpuMicrosecondsPerRequest: cpu[server].length === runs.length ? median(cpu[server]) : undefined,
            runs,
          });
        }
        const row = (server: ServerName) => rows.find((entry) => entry.containers === containers && entry.connections === connections && entry.server === server)!;
        say(
          `admission ${containers} containers × ${connections} connections: ours ${round(row('ours').requestsPerSecond, 0)} req/s, work ${round(row('work').requestsPerSecond, 0)}, echo ${round(row('echo').requestsPerSecond, 0)}`,
        );
      }
      for (const server of started) await stop(server.child);
    }
  } finally {
    await stop(ours.child);
  }
  return rows;
}

async function fetchOnce(port: number, body: string, ca: string): Promise<string> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.end(body);
  });
}

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

// ---- the ServiceAccount cache at scale ---------------------------------------------------------

interface CacheRow {
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

/** The webhook container's environment in manifests/deployment.yaml: the cluster-mode probe runs as deployed. */
function deploymentEnv(): Record<string, string> {
  const deployment = parse(readFileSync(join(root, 'manifests', 'base', 'deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } };
  };
  const container = deployment.spec.template.spec.containers.find((entry) => entry.name === 'webhook');
  if (!container) throw new Error('manifests/deployment.yaml has no webhook container');
  return Object.fromEntries((container.env ?? []).flatMap((variable) => (variable.value === undefined ? [] : [[variable.name, variable.value]])));
}

async function benchCache(count: number, settle: boolean): Promise<CacheRow> {
  const kubeconfig = join(work, `kubeconfig-${count}`);
  const api = await startNode([join(root, 'dist', 'bench', 'servers', 'fake-apiserver-process.js'), String(count), kubeconfig], { logFile: log('fake-apiserver.log'), timeoutMs: 300_000 });
  try {
    const probe = await startNode(['--expose-gc', join(root, 'dist', 'bench', 'servers', 'webhook-probe.js'), kubeconfig, join(work, 'tls.crt'), join(work, 'tls.key')], {
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
    const mb = (bytes: unknown) => round(Number(bytes) / 1024 / 1024, 1);
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

// ---- the lab STS ----------------------------------------------------------------------------------

interface StsRow {
  baselineVerificationsPerSecond: number;
  sts: Array<{ connections: number; requestsPerSecond: number; p50Ms: number; p99Ms: number }>;
}

async function benchSts(): Promise<StsRow> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(work, 'issuer.key');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const issuer = await startNode([cli, 'issuer', '--port', '0', '--key', keyFile], { logFile: log('issuer.log'), readyEvent: 'issuer-listening' });
  const issuerUrl = String(issuer.ready.issuer);
  const provider = issuerUrl.replace(/^https?:\/\//, '');
  const role = 'arn:aws:iam::111122223333:role/bench';
  writeFileSync(
    join(work, 'lab.yaml'),
    stringify({
      providers: [{ issuer: issuerUrl, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuerUrl}/keys` }],
      roles: [
        {
          arn: role,
          trustPolicy: {
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${provider}` },
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: { StringEquals: { [`${provider}:sub`]: 'system:serviceaccount:shop:service', [`${provider}:aud`]: 'sts.amazonaws.com' } },
              },
            ],
          },
        },
      ],
    }),
  );
  const sts = await startNode([cli, 'sts', '--config', join(work, 'lab.yaml'), '--port', '0', '--secret-file', join(work, 'sts-secret.key')], {
    logFile: log('sts.log'),
    readyEvent: 'sts-listening',
  });
  try {
    const publicKey = createPublicKey(privateKey);
    const kid = keyId(publicKey);
    const token = await mintProjectedToken(
      { kid, publicKey, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, source: keyFile },
      { issuer: issuerUrl, audiences: ['sts.amazonaws.com'], namespace: 'shop', serviceAccount: 'service', pod: { name: 'service-1' }, expirationSeconds: 3600 },
    );

    // Baseline: bare jose RS256 verification of the same token, one at a time, in this process.
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256' }] });
    const verify = () => jwtVerify(token, keys, { algorithms: ['RS256'], issuer: issuerUrl, audience: 'sts.amazonaws.com' });
    const baselineRuns: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      for (let warm = performance.now(); performance.now() - warm < 300; ) await verify();
      let count = 0;
      const started = performance.now();
      while (performance.now() - started < DURATION * 1000) {
        await verify();
        count += 1;
      }
      baselineRuns.push(count / ((performance.now() - started) / 1000));
    }

    const body = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: role, RoleSessionName: 'bench', WebIdentityToken: token }).toString();
    const url = String(sts.ready.address);
    const rows: StsRow['sts'] = [];
    for (const connections of [1, 8]) {
      await runLoad({ url, body, contentType: 'application/x-www-form-urlencoded; charset=utf-8', connections, durationSeconds: 1 });
      const runs: LoadResult[] = [];
      for (let run = 0; run < RUNS; run += 1) {
        const result = await runLoad({ url, body, contentType: 'application/x-www-form-urlencoded; charset=utf-8', connections, durationSeconds: DURATION });
        if (result.errors > 0 || result.non2xx > 0) throw new Error(`sts: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
        runs.push(result);
      }
      rows.push({
        connections,
        requestsPerSecond: round(median(runs.map((run) => run.requestsPerSecond)), 0),
        p50Ms: round(median(runs.map((run) => run.p50Ms)), 3),
        p99Ms: round(median(runs.map((run) => run.p99Ms)), 3),
      });
    }
    return { baselineVerificationsPerSecond: round(median(baselineRuns), 0), sts: rows };
  } finally {
    await stop(sts.child);
    await stop(issuer.child);
  }
}

// ---- run everything ------------------------------------------------------------------------------

const GO_WEBHOOK = { rssMb: 150, heapInUseMb: 84 };

async function main(): Promise<void> {
  const began = performance.now();
  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, quick };
  await writeCertificateFiles(work, certificates);
  say(`pod-identity-webhook benchmark on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}${quick ? ', quick mode' : ''}`);

  const admission = runs('admission') ? await benchAdmission() : [];
  const engine = runs('engine') ? benchEngine() : [];
  const cacheEmpty = runs('cache') ? await benchCache(0, false) : undefined;
  const cacheFull = runs('cache') ? await benchCache(SERVICE_ACCOUNTS, true) : undefined;
  const sts = runs('sts') ? await benchSts() : undefined;

  const find = (containers: number, connections: number, server: ServerName) => admission.find((row) => row.containers === containers && row.connections === connections && row.server === server)!;
  const lines: string[] = [];
  if (admission.length > 0) {
  lines.push('', 'Admission over HTTPS, keep-alive (median of runs):', '');
  lines.push('| containers | connections | server | req/s | p50 ms | p99 ms | CPU µs/req | ours/work | ours/echo |', '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const containers of SIZES) {
    for (const connections of CONCURRENCY) {
      const ours = find(containers, connections, 'ours');
      const workRow = find(containers, connections, 'work');
      const echo = find(containers, connections, 'echo');
      for (const row of [ours, workRow, echo]) {
        const ratios = row.server === 'ours' ? `${round(ours.requestsPerSecond / workRow.requestsPerSecond)} | ${round(ours.requestsPerSecond / echo.requestsPerSecond)}` : ' | ';
        const cpuPerRequest = row.cpuMicrosecondsPerRequest === undefined ? '–' : round(row.cpuMicrosecondsPerRequest, 1);
        lines.push(`| ${containers} | ${connections} | ${row.server} | ${round(row.requestsPerSecond, 0)} | ${round(row.p50Ms, 3)} | ${round(row.p99Ms, 3)} | ${cpuPerRequest} | ${ratios} |`);
      }
      const ratio = ours.requestsPerSecond / workRow.requestsPerSecond;
      target(`throughput ≥ 0.8 × work (${containers} containers, ${connections} connections)`, ratio >= 0.8, `${round(ratio)} ×`);
    }
  }
  if (SIZES.includes(10) && CONCURRENCY.includes(32)) {
    const ten32 = find(10, 32, 'ours').p99Ms / find(10, 32, 'work').p99Ms;
    target('p99 at 32 connections ≤ 1.5 × work, 10 containers', ten32 <= 1.5, `${round(ten32)} × (${round(find(10, 32, 'ours').p99Ms, 3)} ms vs ${round(find(10, 32, 'work').p99Ms, 3)} ms)`);
  }
  if (SIZES.includes(10) && CONCURRENCY.includes(1)) {
    target('p99 at 1 connection ≤ 2 ms, 10 containers', find(10, 1, 'ours').p99Ms <= 2, `${round(find(10, 1, 'ours').p99Ms, 3)} ms`);
  }
  }

  if (engine.length > 0) {
  lines.push('', 'Engine alone (readPod + mutatePod, one process):', '');
  lines.push('| containers | mutations/s | µs/mutation | µs/container | patch bytes | patch ops |', '| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of engine) lines.push(`| ${row.containers} | ${row.mutationsPerSecond} | ${row.microsecondsPerMutation} | ${row.microsecondsPerContainer} | ${row.patchBytes} | ${row.patchOperations} |`);
  const growth = Math.max(...engine.slice(1).map((row, index) => row.microsecondsPerContainer / engine[index]!.microsecondsPerContainer));
  target('engine cost per container roughly constant from 1 to 50 containers (no step above 1.25 ×)', growth <= 1.25, `largest step ${round(growth)} ×`);
  }

  if (cacheEmpty && cacheFull) {
  lines.push('', `ServiceAccount cache (webhook process; fake API server in another process; Go webhook published: ${GO_WEBHOOK.rssMb} MB RSS, ${GO_WEBHOOK.heapInUseMb} MB heap for 50,000):`, '');
  lines.push(
    '| ServiceAccounts | sync ms | RSS MB synced | RSS MB settled | peak RSS MB | heap after GC MB | lookup p50 ms | lookup p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of [cacheEmpty, cacheFull]) {
    const settled = row === cacheFull ? row.settledRssMb : '–';
    lines.push(`| ${row.serviceAccounts} | ${row.syncMs} | ${row.rssMb} | ${settled} | ${row.peakRssMb} | ${row.heapMb} | ${row.lookupP50Ms ?? '–'} | ${row.lookupP99Ms ?? '–'} |`);
  }
  const heapGrowth = cacheFull.heapMb - cacheEmpty.heapMb;
  target(
    `RSS with ${SERVICE_ACCOUNTS} ServiceAccounts ≤ 150 MB (right after the list, and settled)`,
    cacheFull.rssMb <= 150 && cacheFull.settledRssMb <= 150,
    `${cacheFull.rssMb} MB right after the list, ${cacheFull.settledRssMb} MB settled, peak ${cacheFull.peakRssMb} MB`,
  );
  target('retained heap growth ≤ 25 MB', heapGrowth <= 25, `${round(heapGrowth, 1)} MB`);
  target('lookup p99 ≤ 0.1 ms', (cacheFull.lookupP99Ms ?? Infinity) <= 0.1, `${cacheFull.lookupP99Ms} ms`);
  }

  if (sts) {
  lines.push('', 'Lab STS, AssumeRoleWithWebIdentity over HTTP (baseline: bare jose RS256 verification, one at a time, one process):', '');
  lines.push('| connections | req/s | p50 ms | p99 ms | ratio to baseline |', '| ---: | ---: | ---: | ---: | ---: |');
  for (const row of sts.sts) lines.push(`| ${row.connections} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${round(row.requestsPerSecond / sts.baselineVerificationsPerSecond)} |`);
  lines.push(`| baseline | ${sts.baselineVerificationsPerSecond} verifications/s | | | 1 |`);
  const stsRatio = sts.sts.find((row) => row.connections === 8)!.requestsPerSecond / sts.baselineVerificationsPerSecond;
  target('STS at 8 connections ≥ 0.5 × bare verification', stsRatio >= 0.5, `${round(stsRatio)} ×`);
  }

  lines.push('', 'Targets:', '');
  for (const item of targets) lines.push(`${item.pass ? 'PASS' : 'FAIL'}  ${item.name}: ${item.detail}`);
  const seconds = round((performance.now() - began) / 1000, 0);
  lines.push('', `finished in ${seconds} s; logs of every process in ${work} (removed on success)`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const narrowed = only !== undefined || process.argv.some((arg) => /^--(sizes|connections|busy-wait)=/.test(arg));
  if (!narrowed) writeFileSync(
    join(root, 'bench', 'results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, durationSeconds: DURATION, runs: RUNS, admission: admission.map(({ runs: _runs, ...row }) => row), engine, cache: { empty: cacheEmpty, full: cacheFull, goWebhook: GO_WEBHOOK }, sts, targets, seconds }, null, 2)}\n`,
  );
}

main().then(
  () => {
    killAll();
    rmSync(work, { recursive: true, force: true });
  },
  (error: unknown) => {
    killAll();
    process.stderr.write(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n(logs kept in ${work})\n`);
    process.exitCode = 1;
  },
);
