/**
 * Our `authenticator` and aws-iam-authenticator `server` on one scenario's aws-auth and access
 * entries (corpus.ts), inside the test's namespace, and a TokenReview client for each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { createCertificateAuthority, issueServingCertificate } from '../../../../src/shared/certs/generate.js';
import { stopProcess, track } from '../processes.js';
import { type AccessEntry, CLUSTER_ID, RESERVED_PREFIXES, type ReviewAnswer, type ReviewOutcome, type Scenario } from './corpus.js';

/** AWS's STS hosts the namespace's /etc/hosts sends to the lab STS: regional, global, another partition. */
export const STS_HOSTS = ['sts.us-east-1.amazonaws.com', 'sts.amazonaws.com', 'sts.cn-north-1.amazonaws.com.cn'] as const;
const OUR_PORT = 21362;
const REFERENCE_PORT = 21462;
/** Bounds every answer read (a TokenReview answer is a few hundred bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface Fixture {
  readonly dir: string;
  /** The test CA (PEM file): trusted by both servers for the STS. */
  readonly caFile: string;
  readonly stsCert: string;
  readonly stsKey: string;
  /** Our server's serving certificate, from the same CA. */
  readonly ourCert: string;
  readonly ourKey: string;
  readonly caPem: string;
}

export function prepareFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'piw-login-reference-'));
  const ca = createCertificateAuthority('login-reference-ca', 2);
  const sts = issueServingCertificate(ca, { service: 'sts', namespace: 'lab', hosts: [...STS_HOSTS], validityDays: 2 });
  const ours = issueServingCertificate(ca, { service: 'authenticator', namespace: 'lab', hosts: ['127.0.0.1'], validityDays: 2 });
  const fixture = {
    dir,
    caFile: join(dir, 'ca.crt'),
    stsCert: sts.cert,
    stsKey: sts.key,
    ourCert: join(dir, 'authenticator.crt'),
    ourKey: join(dir, 'authenticator.key'),
    caPem: ca.certPem,
  };
  writeFileSync(fixture.caFile, ca.certPem);
  writeFileSync(fixture.ourCert, ours.cert);
  writeFileSync(fixture.ourKey, ours.key, { mode: 0o600 });
  return fixture;
}

export interface TokenReviewClient {
  review(token: string): Promise<ReviewOutcome>;
}

function readAnswer(body: unknown): ReviewAnswer {
  const status = (body as { status?: { authenticated?: unknown; user?: Record<string, unknown> } } | null)?.status;
  if (status?.authenticated !== true) return { authenticated: false };
  const user = status.user ?? {};
  return {
    authenticated: true,
    username: typeof user.username === 'string' ? user.username : undefined,
    uid: typeof user.uid === 'string' ? user.uid : undefined,
    groups: Array.isArray(user.groups) ? user.groups.map(String) : [],
    extra: typeof user.extra === 'object' && user.extra !== null ? (user.extra as Record<string, string[]>) : {},
  };
}

/** POST /authenticate (authentication.k8s.io/v1beta1, which both serve) and read the answer. */
export function tokenReviewClient(port: number, ca: string | undefined): TokenReviewClient {
  return {
    review: (token) =>
      new Promise((resolve) => {
        const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1beta1', kind: 'TokenReview', spec: { token } });
        const req = request(
          // The reference serves a self-signed certificate for its own host name; ours, one from the test CA.
          { host: '127.0.0.1', port, path: '/authenticate', method: 'POST', headers: { 'content-type': 'application/json' }, ca, rejectUnauthorized: ca !== undefined, timeout: 20_000 },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > MAX_ANSWER_BYTES) res.destroy(new Error('answer too large'));
              else chunks.push(chunk);
            });
            res.on('end', () => {
              try {
                resolve(readAnswer(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
              } catch {
                resolve({ unavailable: `HTTP ${res.statusCode}: not JSON` });
              }
            });
            res.on('error', (error) => resolve({ unavailable: error.message }));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', (error) => resolve({ unavailable: error.message }));
        req.end(body);
      }),
  };
}

/** The YAML list of an aws-auth key, as both servers read it. */
function yamlList(text: string): unknown[] {
  const value: unknown = parseYaml(text);
  return Array.isArray(value) ? value : [];
}

/**
 * Access entries as EKS feeds them to aws-iam-authenticator's DynamicFile backend. How EKS writes
 * that file is unpublished; this is the test's choice, from the EKS API's documented defaults (a
 * STANDARD role's username `arn:aws:sts::ACCOUNT:assumed-role/NAME/{{SessionName}}`, a user's its
 * ARN, node types `system:node:{{EC2PrivateDNSName}}` in `system:nodes`). EKS keys the file by the
 * principal's unique id (`dynamicfileUserIDStrict`), which describe-access-entry does not print, so
 * the file here is keyed by ARN with the role's path removed, as strict mode compares ARNs.
 */
export function dynamicFile(entries: readonly AccessEntry[]): Record<string, unknown> {
  const mapRoles: unknown[] = [];
  const mapUsers: unknown[] = [];
  for (const entry of entries) {
    const role = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(entry.principalArn);
    const node = entry.type !== 'STANDARD';
    if (role) {
      const [, partition, account, name] = role;
      mapRoles.push({
        rolearn: `arn:${partition}:iam::${account}:role/${name}`,
        username: node ? 'system:node:{{EC2PrivateDNSName}}' : (entry.username ?? `arn:${partition}:sts::${account}:assumed-role/${name}/{{SessionName}}`),
        groups: node ? ['system:nodes'] : entry.kubernetesGroups,
      });
    } else {
      mapUsers.push({ userarn: entry.principalArn, username: entry.username ?? entry.principalArn, groups: entry.kubernetesGroups });
    }
  }
  return { Version: '1', LastUpdatedDateTime: String(Date.now()), mapRoles, mapUsers, mapAccounts: [] };
}

/** The backends of the reference for an EKS authentication mode: access entries first, as EKS orders them. */
export function referenceBackends(mode: Scenario['mode']): string {
  return { CONFIG_MAP: 'MountedFile', API_AND_CONFIG_MAP: 'DynamicFile,MountedFile', API: 'DynamicFile' }[mode];
}

export interface RunningServer extends TokenReviewClient {
  readonly child: ChildProcess;
  /** The last lines it wrote (stderr and stdout), for a failure's message. */
  output(): string;
}

function startLogged(binary: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningServer & { readonly exited: Promise<number | null> } {
  const child = track(spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => tail, review: () => Promise.resolve({ unavailable: 'not started' }) };
}

export interface ServerPair {
  readonly ours: TokenReviewClient;
  readonly reference: TokenReviewClient;
  /** Process ids (CPU from /proc) and ports, for the benchmark; the reference's is undefined when it did not start. */
  readonly pids: { readonly ours: number | undefined; readonly reference: number | undefined };
  readonly ports: { readonly ours: number; readonly reference: number };
  readonly caPem: string;
  /** The reference's self-signed serving certificate (PEM; it writes it at start), undefined when it did not start. */
  readonly referenceCaPem: string | undefined;
  stop(): Promise<void>;
}

/** The files a scenario needs, written into its own directory. */
function writeScenario(fixture: Fixture, scenario: Scenario): { awsAuth: string; accessEntries: string; referenceConfig: string; stateDir: string } {
  const dir = join(fixture.dir, scenario.name);
  mkdirSync(dir, { recursive: true });
  const files = { awsAuth: join(dir, 'aws-auth.yaml'), accessEntries: join(dir, 'access-entries.json'), referenceConfig: join(dir, 'reference.yaml'), stateDir: join(dir, 'reference-state') };
  mkdirSync(files.stateDir);
  writeFileSync(files.awsAuth, toYaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: scenario.awsAuth }));
  writeFileSync(
    files.accessEntries,
    JSON.stringify(scenario.accessEntries.map((entry) => ({ accessEntry: { clusterName: CLUSTER_ID, principalArn: entry.principalArn, kubernetesGroups: entry.kubernetesGroups, type: entry.type, ...(entry.username ? { username: entry.username } : {}) } }))),
  );
  const dynamicPath = join(dir, 'dynamic-file.json');
  writeFileSync(dynamicPath, JSON.stringify(dynamicFile(scenario.accessEntries)));
  const backends = referenceBackends(scenario.mode);
  // MountedFile reads aws-auth's lists from the configuration file (server.mapRoles …), the same
  // entries the ConfigMap holds; both backends reserve what ours reserves by default.
  const server: Record<string, unknown> = {
    mapRoles: yamlList(scenario.awsAuth.mapRoles),
    mapUsers: yamlList(scenario.awsAuth.mapUsers),
    mapAccounts: yamlList(scenario.awsAuth.mapAccounts),
    // The name its generated certificate is for, which kube-apiserver checks (--generate-kubeconfig's server).
    hostname: '127.0.0.1',
    reservedPrefixConfig: ['MountedFile', 'DynamicFile'].map((backendmode) => ({ backendmode, usernamePrefixReserveList: [...RESERVED_PREFIXES] })),
  };
  if (backends.includes('DynamicFile')) server.dynamicfilepath = dynamicPath;
  writeFileSync(files.referenceConfig, toYaml({ server }));
  return files;
}

/** Starts both servers and waits until the probe token logs in through each (or the reference exits). */
export async function startPair(fixture: Fixture, scenario: Scenario, referenceBinary: string, probe: string, timeoutMs = 20_000): Promise<ServerPair> {
  const files = writeScenario(fixture, scenario);
  const ourArgs = [join(process.cwd(), 'dist', 'src', 'cli.js'), 'authenticator', '--cluster-id', CLUSTER_ID, '--authentication-mode', scenario.mode, '--aws-auth', files.awsAuth];
  if (scenario.mode !== 'CONFIG_MAP') ourArgs.push('--access-entries', files.accessEntries);
  ourArgs.push('--port', String(OUR_PORT), '--tls-cert', fixture.ourCert, '--tls-key', fixture.ourKey, '--log-level', 'error');
  const ours = startLogged(process.execPath, ourArgs, { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: fixture.caFile });
  const reference = startLogged(
    referenceBinary,
    [
      'server',
      '--config', files.referenceConfig,
      '--cluster-id', CLUSTER_ID,
      '--backend-mode', referenceBackends(scenario.mode),
      '--address', '127.0.0.1',
      '--port', String(REFERENCE_PORT),
      '--state-dir', files.stateDir,
      '--generate-kubeconfig', join(files.stateDir, 'kubeconfig.yaml'),
      '--log-verbosity', 'warn',
    ],
    // Go's crypto/x509 reads SSL_CERT_FILE; no instance metadata in the namespace.
    { PATH: process.env.PATH, SSL_CERT_FILE: fixture.caFile, AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1' },
  );
  const oursClient = tokenReviewClient(OUR_PORT, fixture.caPem);
  const referenceClient = tokenReviewClient(REFERENCE_PORT, undefined);
  let referenceExit: string | undefined;
  void reference.exited.then((code) => {
    referenceExit = `aws-iam-authenticator exited (${code}) at start: ${reference.output().trim().split('\n').slice(-2).join(' ').slice(0, 400)}`;
  });
  const stop = async (): Promise<void> => {
    await Promise.all([stopProcess(ours.child, 5000), stopProcess(reference.child, 5000)]);
  };
  const deadline = Date.now() + timeoutMs;
  let oursReady = false;
  let referenceReady = false;
  while (!(oursReady && (referenceReady || referenceExit))) {
    if (Date.now() > deadline || ours.child.exitCode !== null) {
      await stop();
      throw new Error(`scenario ${scenario.name}: the servers did not log the probe in within ${timeoutMs} ms\nours: ${ours.output().slice(-600)}\nreference: ${referenceExit ?? reference.output().slice(-600)}`);
    }
    if (!oursReady) oursReady = ((await oursClient.review(probe)) as ReviewAnswer).authenticated === true;
    if (!referenceReady && !referenceExit) referenceReady = ((await referenceClient.review(probe)) as ReviewAnswer).authenticated === true;
    if (!(oursReady && (referenceReady || referenceExit))) await sleep(100);
  }
  return {
    ours: oursClient,
    reference: referenceExit ? { review: () => Promise.resolve({ unavailable: referenceExit! }) } : referenceClient,
    pids: { ours: ours.child.pid, reference: referenceExit ? undefined : reference.child.pid },
    ports: { ours: OUR_PORT, reference: REFERENCE_PORT },
    caPem: fixture.caPem,
    referenceCaPem: referenceExit ? undefined : readFileSync(join(files.stateDir, 'cert.pem'), 'utf8'),
    stop,
  };
}

