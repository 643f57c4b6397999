import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type EtcdRelease, etcdRelease, type KubernetesRelease, checkBuilt } from './components.js';
import { type Credentials, KubeClient } from './kube-client.js';
import { type ControlPlaneFiles, writeControlPlanePki } from './pki.js';
import { type CommandResult, freePort, pollUntil, removeDirectory, runCommand, ServerProcess, trackDirectory } from './processes.js';

const STARTUP_TIMEOUT_MS = 120_000;

/** How a kubeconfig user authenticates: the kubeconfig `users[].user` entry. */
export type KubeconfigUser =
  | { readonly token: string }
  | { readonly clientCertificate: { readonly cert: string; readonly key: string } }
  | { readonly exec: { readonly command: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>> } };

export interface ControlPlaneOptions {
  /** A TokenReview webhook (kube-apiserver --authentication-token-webhook-config-file), answering authentication.k8s.io/v1. */
  readonly authenticationWebhook?: { readonly url: string; readonly caCert: string };
  /** kube-apiserver flags (name without dashes → value, or values for a flag given more than once), replacing the harness's own of the same name. */
  readonly flags?: Readonly<Record<string, string | readonly string[]>>;
}

/**
 * etcd and kube-apiserver on 127.0.0.1 only, with their own CA, service-account signing key and a
 * system:masters client: a real control plane without kubelet, scheduler or controller-manager (pods
 * stay Pending, ServiceAccounts must be created explicitly, TokenRequest works).
 *
 * Two steps: `prepare` writes the certificates and picks the ports, so the issuer URL and `sa.key`
 * are known before `start` (a lab issuer or an authenticator can be started in between).
 */
export class ControlPlane {
  readonly server: string;
  readonly admin: KubeClient;
  readonly adminKubeconfig: string;
  readonly etcd: EtcdRelease;
  private etcdProcess: ServerProcess | undefined;
  private apiserverProcess: ServerProcess | undefined;
  /** The API server's /version gitVersion, once started. */
  serverVersion = '';

  private constructor(
    readonly release: KubernetesRelease,
    readonly dir: string,
    readonly files: ControlPlaneFiles,
    /** --service-account-issuer (the `iss` of every token the API server issues). */
    readonly issuer: string,
    private readonly ports: { readonly apiserver: number; readonly etcdClient: number; readonly etcdPeer: number },
  ) {
    this.server = `https://127.0.0.1:${ports.apiserver}`;
    this.etcd = etcdRelease();
    this.admin = new KubeClient(this.server, files.caCertPem, { clientCertificate: files.admin });
    this.adminKubeconfig = this.writeKubeconfig('admin', { clientCertificate: files.admin });
  }

  /**
   * Certificates, keys and ports for a control plane of `release`. The issuer is
   * https://127.0.0.1:<issuerPort>: kube-apiserver serves its discovery document and
   * /openid/v1/jwks only for an https issuer (with http it logs that the endpoints are disabled).
   * Nothing needs to listen on `issuerPort`; a lab issuer may serve it (over http). `serverHosts`
   * are more names and addresses of the API server's certificate (a node's address, the Service IP).
   */
  static async prepare(release: KubernetesRelease, issuerPort?: number, serverHosts: readonly string[] = []): Promise<ControlPlane> {
    checkBuilt(release);
    const dir = trackDirectory(mkdtempSync(join(tmpdir(), `piw-e2e-${release.minor}-`)));
    try {
      const files = writeControlPlanePki(dir, serverHosts);
      const ports = { apiserver: await freePort(), etcdClient: await freePort(), etcdPeer: await freePort() };
      return new ControlPlane(release, dir, files, `https://127.0.0.1:${issuerPort ?? (await freePort())}`, ports);
    } catch (error) {
      removeDirectory(dir);
      throw error;
    }
  }

  /** prepare + start, for suites that need nothing in between. */
  static async create(release: KubernetesRelease, options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const controlPlane = await ControlPlane.prepare(release);
    await controlPlane.start(options);
    return controlPlane;
  }

  async start(options: ControlPlaneOptions = {}): Promise<void> {
    const started = Date.now();
    try {
      await this.startEtcd();
      await this.startApiserver(options);
    } catch (error) {
      await this.stop();
      throw error;
    }
    const etcdVersion = (await (await fetch(`http://127.0.0.1:${this.ports.etcdClient}/version`, { signal: AbortSignal.timeout(5000) })).json()) as { etcdserver?: string };
    console.log(
      `      control plane: kube-apiserver ${this.serverVersion} and etcd ${etcdVersion.etcdserver ?? '?'} on ${this.server}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }

  private async startEtcd(): Promise<void> {
    const client = `http://127.0.0.1:${this.ports.etcdClient}`;
    const peer = `http://127.0.0.1:${this.ports.etcdPeer}`;
    const etcd = ServerProcess.start(
      'etcd',
      this.etcd.etcd,
      [
        '--name=e2e',
        `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=e2e=${peer}`,
        // A throw-away store: durability buys nothing and fsync costs seconds on a busy disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      join(this.dir, 'etcd.log'),
    );
    this.etcdProcess = etcd;
    await pollUntil(
      'etcd /health',
      async () => {
        const response = await fetch(`${client}/health`, { signal: AbortSignal.timeout(2000) });
        return response.ok && ((await response.json()) as { health?: string }).health === 'true';
      },
      etcd.watch('etcd /health'),
      STARTUP_TIMEOUT_MS,
    );
  }

  private async startApiserver(options: ControlPlaneOptions): Promise<void> {
    const flags = new Map<string, string | readonly string[]>([
      ['etcd-servers', `http://127.0.0.1:${this.ports.etcdClient}`],
      ['bind-address', '127.0.0.1'],
      ['advertise-address', '127.0.0.1'],
      ['secure-port', String(this.ports.apiserver)],
      ['cert-dir', join(this.dir, 'apiserver-certs')],
      ['tls-cert-file', this.files.serverCert],
      ['tls-private-key-file', this.files.serverKey],
      ['client-ca-file', this.files.caCert],
      ['authorization-mode', 'Node,RBAC'],
      ['enable-admission-plugins', 'MutatingAdmissionWebhook'],
      ['service-account-issuer', this.issuer],
      ['service-account-key-file', this.files.saKey],
      ['service-account-signing-key-file', this.files.saKey],
      ['service-cluster-ip-range', '10.96.0.0/24'],
      // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints validation refuses.
      ['endpoint-reconciler-type', 'none'],
      ['profiling', 'false'],
      ['v', '1'],
    ]);
    if (options.authenticationWebhook) {
      const config = this.writeKubeconfigFile('authentication-webhook', options.authenticationWebhook.url, options.authenticationWebhook.caCert, {}, 'kube-apiserver');
      flags.set('authentication-token-webhook-config-file', config);
      flags.set('authentication-token-webhook-version', 'v1');
      // Every request asks the webhook: a refused or tampered token must never be answered from a cache.
      flags.set('authentication-token-webhook-cache-ttl', '0s');
    }
    for (const [name, value] of Object.entries(options.flags ?? {})) flags.set(name, value);
    const args = [...flags].flatMap(([name, value]) => (typeof value === 'string' ? [value] : value).map((one) => `--${name}=${one}`));
    const apiserver = ServerProcess.start('kube-apiserver', this.release.kubeApiserver, args, join(this.dir, 'kube-apiserver.log'));
    this.apiserverProcess = apiserver;
    await pollUntil(
      'kube-apiserver /readyz',
      async () => {
        const response = await this.admin.request('GET', '/readyz', undefined, { timeoutMs: 5000 });
        return response.status === 200;
      },
      apiserver.watch('kube-apiserver /readyz'),
      STARTUP_TIMEOUT_MS,
    );
    const version = (await this.admin.get('/version')) as { gitVersion?: string };
    this.serverVersion = version.gitVersion ?? '';
  }

  /** Stops kube-apiserver alone and starts it again with `options` (etcd, and so every object, stays). */
  async restartApiserver(options: ControlPlaneOptions = {}): Promise<void> {
    await this.apiserverProcess?.stop();
    this.apiserverProcess = undefined;
    await this.startApiserver(options);
  }

  /** Process ids of the running etcd and kube-apiserver. */
  pids(): Record<'etcd' | 'kube-apiserver', number> {
    const etcd = this.etcdProcess?.child.pid;
    const apiserver = this.apiserverProcess?.child.pid;
    if (etcd === undefined || apiserver === undefined) throw new Error('the control plane is not running');
    return { etcd, 'kube-apiserver': apiserver };
  }

  /** The API server's log so far (for failure messages). */
  apiserverLog(lines = 60): string {
    return this.apiserverProcess?.logTail(lines) ?? '(not started)';
  }

  /** Stops kube-apiserver, then etcd, and removes the directory; safe to call more than once. */
  async stop(): Promise<void> {
    await this.apiserverProcess?.stop();
    await this.etcdProcess?.stop();
    this.apiserverProcess = undefined;
    this.etcdProcess = undefined;
    removeDirectory(this.dir);
  }

  /** A client of this API server with other credentials. */
  client(credentials: Credentials): KubeClient {
    return this.admin.withCredentials(credentials);
  }

  /** Writes a kubeconfig for this API server (or a proxy of it on 127.0.0.1) and returns its path. */
  writeKubeconfig(name: string, user: KubeconfigUser, server = this.server): string {
    return this.writeKubeconfigFile(name, server, this.files.caCertPem, user, name);
  }

  private writeKubeconfigFile(name: string, server: string, caCert: string, user: KubeconfigUser | Record<string, never>, userName: string): string {
    let entry: Record<string, unknown> = {};
    if ('token' in user) entry = { token: user.token };
    else if ('clientCertificate' in user) {
      entry = {
        'client-certificate-data': Buffer.from(user.clientCertificate.cert).toString('base64'),
        'client-key-data': Buffer.from(user.clientCertificate.key).toString('base64'),
      };
    } else if ('exec' in user) {
      entry = {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: user.exec.command,
          args: [...user.exec.args],
          env: Object.entries(user.exec.env).map(([envName, value]) => ({ name: envName, value })),
          interactiveMode: 'Never',
        },
      };
    }
    const path = join(this.dir, `${name}.kubeconfig`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } }],
      users: [{ name: userName, user: entry }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: userName } }],
      'current-context': 'e2e',
    };
    writeFileSync(path, stringify(config), { mode: 0o600 });
    return path;
  }

  /** kubectl of the same release against this API server (admin unless another kubeconfig is given). */
  kubectl(args: readonly string[], options: { kubeconfig?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
    const cacheDir = join(this.dir, 'kubectl-cache');
    mkdirSync(cacheDir, { recursive: true });
    return runCommand(this.release.kubectl, [`--kubeconfig=${options.kubeconfig ?? this.adminKubeconfig}`, `--cache-dir=${cacheDir}`, ...args], {
      input: options.input,
      env: options.env,
      timeoutMs: options.timeoutMs,
    });
  }
}
