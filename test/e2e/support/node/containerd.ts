import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil, runCommand, ServerProcess } from '../processes.js';
import { PAUSE_IMAGE, type ImageArchive } from './images.js';

/** The pods' network: one bridge, addresses from host-local (the CNI plugins Debian ships in /usr/lib/cni). */
export const POD_SUBNET = '10.244.0.0/24';
const CNI_BIN = '/usr/lib/cni';

/**
 * Debian's containerd (1.6) with runc, all of its state under `dir`, serving the CRI on a socket of its
 * own. Two settings this machine needs (docs/architecture.md, "The node"):
 * - `restrict_oom_score_adj`: the sandbox lacks CAP_SYS_RESOURCE, so runc cannot lower the pause
 *   container's OOM score to -998 and fails with "can't get final child's PID from pipe: EOF";
 * - the cgroupfs driver (no systemd here).
 */
export class Containerd {
  readonly socket: string;

  private constructor(
    readonly dir: string,
    private readonly process: ServerProcess,
  ) {
    this.socket = join(dir, 'containerd.sock');
  }

  static async start(dir: string): Promise<Containerd> {
    mkdirSync(join(dir, 'cni', 'net.d'), { recursive: true });
    writeFileSync(
      join(dir, 'cni', 'net.d', '10-bridge.conflist'),
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'piw-pods',
        plugins: [
          {
            type: 'bridge',
            bridge: 'piw-pods',
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'cni', 'ipam') },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
    );
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${join(dir, 'containerd.sock')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${join(dir, 'cni', 'net.d')}"
`,
    );
    const process = ServerProcess.start('containerd', 'containerd', ['--config', config, '--log-level', 'warn'], join(dir, 'containerd.log'));
    const containerd = new Containerd(dir, process);
    const what = `containerd answering on ${containerd.socket}`;
    await pollUntil(what, async () => existsSync(containerd.socket) && (await containerd.ctr(['version'])).code === 0, process.watch(what), 60_000);
    return containerd;
  }

  /** ctr against this containerd, in the CRI's namespace (k8s.io). */
  ctr(args: readonly string[], timeoutMs = 120_000): ReturnType<typeof runCommand> {
    return runCommand('ctr', ['--address', this.socket, '--namespace', 'k8s.io', ...args], { timeoutMs });
  }

  /** Imports image archives (`docker save` format) so the kubelet finds them without pulling. */
  async importImages(images: readonly ImageArchive[]): Promise<void> {
    for (const image of images) {
      const imported = await this.ctr(['images', 'import', '--no-unpack', image.archive], 300_000);
      if (imported.code !== 0) throw new Error(`ctr images import ${image.archive}: ${imported.stderr}`);
    }
    const listed = await this.ctr(['images', 'list', '--quiet']);
    for (const name of images.flatMap((image) => [image.reference, ...image.aliases])) {
      if (!listed.stdout.split('\n').includes(name)) throw new Error(`${name} is not among containerd's images after the import:\n${listed.stdout}`);
    }
  }

  logTail(lines?: number): string {
    return this.process.logTail(lines);
  }

  stop(): Promise<void> {
    return this.process.stop();
  }
}
