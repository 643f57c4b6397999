/**
 * Through a real API server: the e2e suite's control plane (etcd and kube-apiserver built by
 * test/e2e/build-components.sh, started on 127.0.0.1 by test/e2e/support/control-plane.ts),
 * server-side dry-run pod creations with no webhook, ours (`serve --kubeconfig` with the token of its
 * own ServiceAccount and RBAC), the peer, and a minimal stand-in answering the same patch ours
 * answers (`baseline-server.js work`).
 *
 * Every webhook is registered once, side by side, each with an objectSelector on one label value;
 * each mode creates pods carrying its value (`none`: a value no webhook selects). The API server
 * thus evaluates the same selectors for every pod, and the modes interleave without re-registering.
 */
import { Agent, request } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { allowResponse } from '../src/webhook/admission/review.js';
import { DEFAULT_MUTATION_OPTIONS } from '../src/webhook/engine/defaults.js';
import { mutatePod } from '../src/webhook/engine/mutate.js';
import { readPod } from '../src/webhook/read-objects.js';
import { identityDifference, identityOf, TOKEN_VOLUME } from './answers.js';
import { certFile, certificates, cli, countOption, deploymentEnv, DURATION, keyFile, log, option, postOnce, root, round, RUNS, say, work } from './context.js';
import { median } from './load.js';
import { peerArgs, type Peer } from './peer.js';
import { freePort, startNode, startProcess, stop } from './processes.js';
import { admissionReviewFor, BENCH_ROLE_ARN, realisticPod } from './workloads.js';

export type ApiMode = 'none' | 'ours' | 'peer' | 'stand-in';

export interface ApiRow {
  readonly mode: ApiMode;
  readonly connections: number;
  readonly podsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly runs: ReadonlyArray<{ podsPerSecond: number; p50Ms: number; p99Ms: number }>;
  readonly unavailable?: string;
}

export interface ApiResult {
  readonly kubernetes: string;
  readonly containers: number;
  readonly rows: ApiRow[];
}

const LABEL = 'bench.pod-identity-webhook.io/webhook';
const NAMESPACE = 'shop';
const MAX_REQUESTS_PER_RUN = 200_000;

interface AdminClient {
  post(path: string, body: string): Promise<{ status: number; text: string }>;
  close(): void;
}

function adminClient(server: string, ca: string, credentials: { cert: string; key: string }, connections: number): AdminClient {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, ca, cert: credentials.cert, key: credentials.key });
  return {
    post: (path, body) =>
      new Promise((resolve, reject) => {
        const req = request(new URL(path, server), { method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/json', accept: 'application/json' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out`)));
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function podFor(mode: ApiMode, containers: number): Record<string, unknown> {
  const pod = realisticPod(containers);
  const metadata = pod.metadata as Record<string, unknown>;
  return { ...pod, metadata: { ...metadata, labels: { ...(metadata.labels as Record<string, string>), [LABEL]: mode } } };
}

/** `connections` loops of dry-run creations for `seconds` (and at most MAX_REQUESTS_PER_RUN): pods/s and latency. */
async function load(client: AdminClient, body: string, connections: number, seconds: number): Promise<{ podsPerSecond: number; p50Ms: number; p99Ms: number }> {
  const path = `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`;
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const began = performance.now();
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline && latencies.length < MAX_REQUESTS_PER_RUN) {
      const started = performance.now();
      const answer = await client.post(path, body);
      if (answer.status !== 201) throw new Error(`dry-run pod creation answered ${answer.status}: ${answer.text.slice(0, 500)}`);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (performance.now() - began) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
  return { podsPerSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/**
 * Runs the section; `undefined` with the reason when the control plane's binaries are not built
 * (`bash test/e2e/build-components.sh`, which `npm run test:e2e` runs).
 */
export async function benchApiServer(peer: { ok: true; peer: Peer } | { ok: false; reason: string }): Promise<ApiResult | { unavailable: string }> {
  const { kubernetesReleases, checkBuilt } = await import('../test/e2e/support/components.js');
  const releases = kubernetesReleases();
  const wanted = option('kubernetes');
  const release = wanted === undefined ? releases.at(-1) : releases.find((entry) => entry.minor === wanted || entry.version === wanted);
  if (!release) return { unavailable: `no Kubernetes release ${wanted ?? ''} in test/e2e/tools (have ${releases.map((entry) => entry.version).join(', ')})` };
  try {
    checkBuilt(release);
  } catch (error) {
    return { unavailable: error instanceof Error ? error.message : String(error) };
  }
  const containers = countOption('api-containers', 1, 50);
  const { ControlPlane } = await import('../test/e2e/support/control-plane.js');
  const { applyManifest, serviceAccountToken, MANIFESTS, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT } = await import('../test/e2e/support/webhook.js');
  say(`api server: starting kube-apiserver ${release.version} and etcd`);
  const controlPlane = await ControlPlane.create(release);
  const stops: Array<() => Promise<void>> = [];
  const client = adminClient(controlPlane.server, controlPlane.files.caCertPem, controlPlane.files.admin, 8);
  try {
    const admin = controlPlane.admin;
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    await admin.create(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'service', annotations: { 'eks.amazonaws.com/role-arn': BENCH_ROLE_ARN } },
    });
    for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) await applyManifest(controlPlane, join(MANIFESTS, 'base', file));
    const token = await serviceAccountToken(controlPlane, WEBHOOK_NAMESPACE, WEBHOOK_SERVICE_ACCOUNT);
    const kubeconfig = controlPlane.writeKubeconfig('bench-webhook', { token });

    // Ours as deployed (cluster mode, its own ServiceAccount's RBAC), on loopback.
    const oursPort = await freePort();
    const ours = await startNode([cli, 'serve', '--kubeconfig', kubeconfig, '--bind-address', '127.0.0.1', '--port', String(oursPort), '--metrics-port', '0', '--tls-cert', certFile, '--tls-key', keyFile], {
      logFile: log('ours-apiserver.log'),
      env: deploymentEnv(),
      ready: async () => {
        const { get } = await import('node:https');
        return new Promise<boolean>((resolve) => {
          const req = get(`https://127.0.0.1:${oursPort}/readyz`, { ca: certificates.caCert, agent: false, timeout: 2000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          });
          req.on('error', () => resolve(false));
          req.on('timeout', () => req.destroy());
        });
      },
    });
    stops.push(() => stop(ours.child));

    // The stand-in: parses the review and answers ours' patch for this pod (computed by our engine).
    const view = readPod(podFor('stand-in', containers));
    if (!view.ok) throw new Error(view.error);
    const patch = mutatePod({ ...view.value, namespace: NAMESPACE }, { name: 'service', namespace: NAMESPACE, annotations: { 'eks.amazonaws.com/role-arn': BENCH_ROLE_ARN } }, DEFAULT_MUTATION_OPTIONS).patch;
    writeFileSync(join(work, 'patch-apiserver.json'), JSON.stringify(patch));
    const standIn = await startNode([join(root, 'dist', 'bench', 'servers', 'baseline-server.js'), 'work', certFile, keyFile, join(work, 'patch-apiserver.json')], { logFile: log('stand-in-apiserver.log') });
    stops.push(() => stop(standIn.child));

    const urls: Partial<Record<ApiMode, { url: string; versions: string[] }>> = {
      ours: { url: `https://127.0.0.1:${oursPort}/mutate`, versions: ['v1'] },
      'stand-in': { url: `https://127.0.0.1:${Number(standIn.ready.port)}/mutate`, versions: ['v1'] },
    };
    let peerReason = peer.ok ? undefined : peer.reason;
    if (peer.ok) {
      try {
        const [port, metricsPort] = [await freePort(), await freePort()];
        const url = `https://127.0.0.1:${port}/mutate`;
        const version = peer.peer.reviewVersion;
        const probe = JSON.stringify(admissionReviewFor(podFor('peer', containers), version));
        const started = await startProcess(peer.peer.binary, peerArgs({ kubeconfig, cert: certFile, key: keyFile, port, metricsPort }), {
          logFile: log('peer-apiserver.log'),
          timeoutMs: 120_000,
          ready: async () => (await postOnce(url, probe, 2000)).text.includes('"patch"'),
        });
        stops.push(() => stop(started.child));
        urls.peer = { url, versions: [version.slice('admission.k8s.io/'.length)] };
      } catch (error) {
        peerReason = `it did not start: ${error instanceof Error ? error.message : String(error)}`;
      }
    }

    const webhooks = (Object.entries(urls) as Array<[ApiMode, { url: string; versions: string[] }]>).map(([mode, entry]) => ({
      name: `${mode}.bench.pod-identity-webhook.io`,
      admissionReviewVersions: entry.versions,
      sideEffects: 'None',
      failurePolicy: 'Fail',
      timeoutSeconds: 10,
      matchPolicy: 'Equivalent',
      clientConfig: { url: entry.url, caBundle: Buffer.from(certificates.caCert).toString('base64') },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      objectSelector: { matchLabels: { [LABEL]: mode } },
    }));
    writeFileSync(join(work, 'apiserver-webhooks.yaml'), stringify(webhooks));
    await admin.create('/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'bench-pod-identity' },
      webhooks,
    });

    // Each mode's pods must come back as that mode's webhook means them to, once the API server calls it.
    const modes: ApiMode[] = ['none', 'ours', ...(urls.peer ? (['peer'] as const) : []), 'stand-in'];
    const bodies = new Map(modes.map((mode) => [mode, JSON.stringify(podFor(mode, containers))]));
    const created = new Map<ApiMode, Record<string, unknown>>();
    for (const mode of modes) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const answer = await client.post(`/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`, bodies.get(mode)!);
        const pod = answer.status === 201 ? (JSON.parse(answer.text) as Record<string, unknown>) : undefined;
        const mutated = pod !== undefined && identityOf(pod).tokenVolume !== undefined;
        if (pod && mutated === (mode !== 'none')) {
          created.set(mode, pod);
          break;
        }
        if (Date.now() > deadline) throw new Error(`${mode}: dry-run pods never came back ${mode === 'none' ? 'unmutated' : 'mutated'} (last answer ${answer.status}: ${answer.text.slice(0, 300)})`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const reference = identityOf(created.get('ours')!);
    for (const mode of ['stand-in', 'peer'] as const) {
      const pod = created.get(mode);
      if (!pod) continue;
      const difference = identityDifference(identityOf(pod), reference);
      if (difference === undefined) continue;
      if (mode === 'stand-in') throw new Error(`the stand-in's pods differ from ours: ${difference}`);
      peerReason = `its pods, as the API server stores them, differ from ours: ${difference}`;
      modes.splice(modes.indexOf('peer'), 1);
    }
    if (!reference.containers.every((container) => JSON.stringify(container.volumeMounts).includes(TOKEN_VOLUME))) throw new Error('ours left a container without the token mount');

    const rows: ApiRow[] = [];
    for (const connections of [1, 8]) {
      for (const mode of modes) await load(client, bodies.get(mode)!, connections, 1);
      const runs = new Map(modes.map((mode) => [mode, [] as Array<{ podsPerSecond: number; p50Ms: number; p99Ms: number }>]));
      for (let run = 0; run < RUNS; run += 1) for (const mode of modes) runs.get(mode)!.push(await load(client, bodies.get(mode)!, connections, DURATION));
      for (const mode of modes) {
        const entries = runs.get(mode)!;
        rows.push({
          mode,
          connections,
          podsPerSecond: median(entries.map((entry) => entry.podsPerSecond)),
          p50Ms: median(entries.map((entry) => entry.p50Ms)),
          p99Ms: median(entries.map((entry) => entry.p99Ms)),
          runs: entries,
        });
      }
      if (peerReason !== undefined) rows.push({ mode: 'peer', connections, podsPerSecond: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN, runs: [], unavailable: peerReason });
      say(`api server, ${connections} connections: ${modes.map((mode) => `${mode} ${round(rows.find((row) => row.mode === mode && row.connections === connections)!.podsPerSecond, 0)}`).join(', ')} pods/s`);
    }
    return { kubernetes: controlPlane.serverVersion, containers, rows };
  } finally {
    client.close();
    for (const stopOne of stops.reverse()) await stopOne();
    await controlPlane.stop();
  }
}
