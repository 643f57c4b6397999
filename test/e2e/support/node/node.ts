import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkNodeBuilt, corednsBinary, type KubernetesRelease, nodeImageBinaries } from '../components.js';
import { ControlPlane, type ControlPlaneOptions } from '../control-plane.js';
import { issueClientCertificate } from '../pki.js';
import { pollUntil, type PollWatch, ServerProcess } from '../processes.js';
import { Containerd, POD_SUBNET } from './containerd.js';
import { buildNodeImages, type NodeImages } from './images.js';

export const NODE_NAME = 'piw-node';
/** The first address of --service-cluster-ip-range: the `kubernetes` Service. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** The cluster DNS Service's address, as kubeadm picks it (the tenth of the range). */
export const DNS_SERVICE_IP = '10.96.0.10';
const SERVICE_RANGE = '10.96.0.0/24';

/** Where test/e2e/node/run.sh put this run: its state directory, the kubelet's cgroup root, the node's address. */
export interface NodeEnvironment {
  readonly state: string;
  readonly cgroupRoot: string;
  readonly nodeIp: string;
}

export function nodeEnvironment(): NodeEnvironment {
  const state = process.env.PIW_NODE_STATE;
  const cgroupRoot = process.env.PIW_NODE_CGROUP_ROOT;
  const nodeIp = process.env.PIW_NODE_IP;
  if (!state || !cgroupRoot || !nodeIp) {
    throw new Error('the node tests run inside the namespaces test/e2e/node/run.sh makes: run `npm run test:e2e` or `bash test/e2e/node/run.sh`');
  }
  return { state, cgroupRoot, nodeIp };
}

/**
 * A one-node cluster: the suite's control plane (etcd, kube-apiserver, listening on the node's address
 * too, the `kubernetes` Service's endpoint) plus kube-scheduler, kube-controller-manager, kube-proxy
 * (iptables) and a kubelet on Debian's containerd and runc, with the images made by images.ts imported.
 * It lives in the namespaces of test/e2e/node/run.sh; `stop` ends every process, and the namespaces'
 * end is the safety net.
 */
export class NodeCluster {
  private readonly processes: ServerProcess[] = [];

  private constructor(
    readonly controlPlane: ControlPlane,
    readonly containerd: Containerd,
    readonly images: NodeImages,
    readonly environment: NodeEnvironment,
    private readonly dir: string,
  ) {}

  get release(): KubernetesRelease {
    return this.controlPlane.release;
  }

  /**
   * `prepared` is a control plane from `ControlPlane.prepare(release, issuerPort, nodeServerHosts())`
   * (so a lab issuer can be started before the API server); started here with the node's flags.
   */
  static async start(prepared: ControlPlane, options: ControlPlaneOptions = {}): Promise<NodeCluster> {
    const environment = nodeEnvironment();
    checkNodeBuilt(prepared.release);
    const dir = join(environment.state, `node-${prepared.release.minor}`);
    mkdirSync(dir, { recursive: true });
    const imagesStarted = Date.now();
    const images = await buildNodeImages(join(dir, 'images'), nodeImageBinaries());
    const containerd = await Containerd.start(join(dir, 'containerd'));
    let cluster: NodeCluster | undefined;
    try {
      await containerd.importImages([images.pause, images.webhook, images.workload]);
      const imagesSeconds = (Date.now() - imagesStarted) / 1000;
      const kubeletClient = issueClientCertificate(prepared.files.ca, 'kube-apiserver-kubelet-client', ['system:masters']);
      writeFileSync(join(dir, 'kubelet-client.crt'), kubeletClient.cert);
      writeFileSync(join(dir, 'kubelet-client.key'), kubeletClient.key, { mode: 0o600 });
      await prepared.start({
        ...options,
        flags: {
          'bind-address': '0.0.0.0',
          'advertise-address': environment.nodeIp,
          'endpoint-reconciler-type': 'lease',
          'service-cluster-ip-range': SERVICE_RANGE,
          'kubelet-client-certificate': join(dir, 'kubelet-client.crt'),
          'kubelet-client-key': join(dir, 'kubelet-client.key'),
          'allow-privileged': 'true',
          // The node's name resolves nowhere: logs and exec go to its address.
          'kubelet-preferred-address-types': 'InternalIP',
          ...options.flags,
        },
      });
      cluster = new NodeCluster(prepared, containerd, images, environment, dir);
      const started = Date.now();
      await cluster.startComponents();
      console.log(
        `      node: ${NODE_NAME} (${environment.nodeIp}) Ready with kubelet ${prepared.release.version}; images built and imported in ${imagesSeconds.toFixed(1)} s, node components ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      return cluster;
    } catch (error) {
      if (cluster) await cluster.stop();
      else {
        await prepared.stop();
        await containerd.stop();
      }
      throw error;
    }
  }

  private kubeconfig(name: string, user: string, groups: readonly string[]): string {
    return this.controlPlane.writeKubeconfig(name, { clientCertificate: issueClientCertificate(this.controlPlane.files.ca, user, groups) });
  }

  private startProcess(name: string, binary: string, args: readonly string[]): ServerProcess {
    const process = ServerProcess.start(name, binary, args, join(this.dir, `${name}.log`));
    this.processes.push(process);
    return process;
  }

  private async startComponents(): Promise<void> {
    const { release } = this.controlPlane;
    const minor = Number(release.minor.split('.')[1]);
    this.startProcess('kube-scheduler', release.kubeScheduler, [
      `--kubeconfig=${this.kubeconfig('kube-scheduler', 'system:kube-scheduler', [])}`,
      '--bind-address=127.0.0.1',
      '--secure-port=10259',
      '--leader-elect=false',
      '--v=1',
    ]);
    this.startProcess('kube-controller-manager', release.kubeControllerManager, [
      `--kubeconfig=${this.kubeconfig('kube-controller-manager', 'system:kube-controller-manager', [])}`,
      '--bind-address=127.0.0.1',
      '--secure-port=10257',
      '--leader-elect=false',
      // Each controller acts as its own ServiceAccount, which the bootstrap RBAC roles are written for.
      '--use-service-account-credentials=true',
      `--root-ca-file=${this.controlPlane.files.caCert}`,
      `--service-account-private-key-file=${this.controlPlane.files.saKey}`,
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      // It lifts the not-ready taint the kubelet registers with; a node whose heartbeats come late on a
      // loaded machine must not be tainted back and its pods evicted.
      '--node-monitor-grace-period=3m',
      '--v=1',
    ]);
    const kubeletConfig = join(this.dir, 'kubelet.yaml');
    writeFileSync(
      kubeletConfig,
      stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        containerRuntimeEndpoint: `unix://${this.containerd.socket}`,
        cgroupDriver: 'cgroupfs',
        cgroupRoot: this.environment.cgroupRoot,
        // This machine mounts cgroup v1 and has swap off or not: neither is the node's business here.
        failSwapOn: false,
        ...(minor >= 31 ? { failCgroupV1: false } : {}),
        podLogsDir: join(this.dir, 'pod-logs'),
        address: this.environment.nodeIp,
        port: 10250,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        healthzPort: 10248,
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: this.controlPlane.files.caCert } },
        authorization: { mode: 'Webhook' },
        clusterDomain: 'cluster.local',
        clusterDNS: [DNS_SERVICE_IP],
        resolvConf: '/etc/resolv.conf',
        // The machine's disk is shared with everything else: never evict the test's pods for it.
        evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        serializeImagePulls: false,
        enforceNodeAllocatable: [],
        cgroupsPerQOS: true,
        localStorageCapacityIsolation: false,
        syncFrequency: '5s',
        fileCheckFrequency: '5s',
        nodeStatusUpdateFrequency: '5s',
      }),
    );
    this.startProcess('kubelet', release.kubelet, [
      `--config=${kubeletConfig}`,
      `--kubeconfig=${this.kubeconfig('kubelet', `system:node:${NODE_NAME}`, ['system:nodes'])}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${this.environment.nodeIp}`,
      `--root-dir=${join(this.dir, 'kubelet')}`,
      '--v=1',
    ]);
    const proxyConfig = join(this.dir, 'kube-proxy.yaml');
    writeFileSync(
      proxyConfig,
      stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'iptables',
        clientConnection: { kubeconfig: this.kubeconfig('kube-proxy', 'system:kube-proxy', []) },
        hostnameOverride: NODE_NAME,
        bindAddress: this.environment.nodeIp,
        healthzBindAddress: '127.0.0.1:10256',
        metricsBindAddress: '127.0.0.1:10249',
        clusterCIDR: POD_SUBNET,
        // A network namespace may not raise the host's conntrack table: leave it as it is.
        conntrack: { maxPerCore: 0, min: 0 },
      }),
    );
    this.startProcess('kube-proxy', release.kubeProxy, [`--config=${proxyConfig}`, '--v=1']);
    await this.startClusterDns();
    await pollUntil(
      `node ${NODE_NAME} Ready and untainted`,
      async () => {
        const node = (await this.controlPlane.admin.get(`/api/v1/nodes/${NODE_NAME}`)) as { spec?: { taints?: { key: string }[] }; status?: { conditions?: { type: string; status: string }[] } };
        const ready = node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
        return ready && (node.spec?.taints ?? []).length === 0;
      },
      this.watch(),
      180_000,
      500,
    );
    // Pods are admitted only into a namespace whose `default` ServiceAccount exists.
    await pollUntil('the default ServiceAccount', async () => (await this.controlPlane.admin.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, this.watch(), 60_000, 500);
  }

  /**
   * CoreDNS's kubernetes plugin on the node's address, behind the Service every cluster has for it
   * (kube-system/kube-dns, 10.96.0.10, an EndpointSlice naming the node): pods find Services by name.
   */
  private async startClusterDns(): Promise<void> {
    const corefile = join(this.dir, 'Corefile');
    writeFileSync(
      corefile,
      `.:53 {
  errors
  bind ${this.environment.nodeIp}
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig ${this.kubeconfig('coredns', 'system:coredns', ['system:masters'])} e2e
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
}
`,
    );
    this.startProcess('coredns', corednsBinary(), ['-conf', corefile]);
    const admin = this.controlPlane.admin;
    await admin.create('/api/v1/namespaces/kube-system/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', labels: { 'k8s-app': 'kube-dns' } },
      spec: { clusterIP: DNS_SERVICE_IP, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
    });
    await admin.create('/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kube-dns-node', labels: { 'kubernetes.io/service-name': 'kube-dns' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [this.environment.nodeIp], conditions: { ready: true } }],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
    });
  }

  /** For `pollUntil`: every component alive, and all their logs when it gives up. */
  private watch(): PollWatch {
    return { alive: () => this.checkRunning(), logs: () => this.logs() };
  }

  /** Throws when a node component has exited. */
  checkRunning(): void {
    for (const process of this.processes) {
      if (process.hasExited) throw new Error(`${process.name} exited (code ${String(process.child.exitCode)}):\n${process.logTail()}`);
    }
  }

  /** The tail of every component's log (for failure messages). */
  logs(lines = 15): string {
    return [...this.processes.map((process) => `--- ${process.name}\n${process.logTail(lines)}`), `--- containerd\n${this.containerd.logTail(lines)}`, `--- kube-apiserver\n${this.controlPlane.apiserverLog(lines)}`].join('\n');
  }

  kubectl(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): ReturnType<ControlPlane['kubectl']> {
    return this.controlPlane.kubectl(args, options);
  }

  async stop(): Promise<void> {
    for (const process of [...this.processes].reverse()) await process.stop();
    this.processes.length = 0;
    await this.containerd.stop();
    await this.controlPlane.stop();
  }
}

/** The API server certificate's extra names on a node: its address, the Service IP and in-cluster names. */
export function nodeServerHosts(environment: NodeEnvironment = nodeEnvironment()): string[] {
  return [environment.nodeIp, KUBERNETES_SERVICE_IP, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
}
