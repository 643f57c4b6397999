import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, cpSync, createReadStream, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT } from '../../../helpers/paths.js';
import { runCommand } from '../processes.js';

/**
 * Container images made without a Docker daemon or a registry: each layer is a directory packed by GNU
 * tar (owners as on disk: root, this test's user, but for the nonroot user's home; mtime 0, sorted), each image a
 * `docker save` archive (manifest.json, the config, the layer tars) that `ctr images import` takes.
 */

/** The image config fields the node tests rely on (the OCI image config's `config` object). */
export interface ImageConfig {
  readonly User?: string;
  readonly WorkingDir?: string;
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly Env: readonly string[];
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
  readonly Labels?: Readonly<Record<string, string>>;
}

export interface Layer {
  /** The layer's tar (uncompressed). */
  readonly tar: string;
  /** sha256 of the tar: the layer's diff id and, uncompressed, its digest. */
  readonly digest: string;
}

export interface ImageArchive {
  /** The name kubelet and containerd know it by, normalized (docker.io/library/NAME:TAG). */
  readonly reference: string;
  /** More names of the same image. */
  readonly aliases: readonly string[];
  readonly archive: string;
  readonly config: ImageConfig;
  /** The layer tars, bottom first. */
  readonly layers: readonly string[];
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function run(binary: string, args: readonly string[], timeoutMs = 300_000): Promise<void> {
  const result = await runCommand(binary, args, { timeoutMs });
  if (result.code !== 0) throw new Error(`${binary} ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-2000)}`);
}

/** Packs `dir` as a layer tar in `outDir`. */
export async function packLayer(dir: string, outDir: string, name: string): Promise<Layer> {
  const tar = join(outDir, `${name}.tar`);
  await run('tar', ['--sort=name', '--numeric-owner', '--mtime=@0', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', dir, '-cf', tar, '.']);
  return { tar, digest: await sha256File(tar) };
}

/** A `docker save` archive of `layers` (bottom first) with `config`, named `reference`. */
export async function writeImageArchive(outDir: string, reference: string, layers: readonly Layer[], config: ImageConfig, aliases: readonly string[] = []): Promise<ImageArchive> {
  const name = reference.replace(/[^a-z0-9]+/g, '-');
  const dir = join(outDir, `${name}.image`);
  mkdirSync(dir, { recursive: true });
  const imageConfig = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => `sha256:${layer.digest}`) },
    history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'test/e2e/support/node/images.ts' })),
  });
  const configName = `${createHash('sha256').update(imageConfig).digest('hex')}.json`;
  writeFileSync(join(dir, configName), imageConfig);
  for (const layer of layers) {
    mkdirSync(join(dir, layer.digest), { recursive: true });
    copyFileSync(layer.tar, join(dir, layer.digest, 'layer.tar'));
  }
  const tags = [reference, ...aliases].map((name) => name.replace(/^docker\.io\/library\//, ''));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: tags, Layers: layers.map((layer) => `${layer.digest}/layer.tar`) }]));
  const archive = join(outDir, `${name}.tar`);
  await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', dir, '-cf', archive, '.']);
  return { reference, aliases, archive, config, layers: layers.map((layer) => layer.tar) };
}

/** /etc/passwd and /etc/group as distroless has them: root, nobody and nonroot (65532). */
function writeUsers(rootfs: string): void {
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
  for (const [dir, mode] of [['tmp', 0o1777], ['home/nonroot', 0o700], ['root', 0o700]] as const) {
    mkdirSync(join(rootfs, dir), { recursive: true });
    chmodSync(join(rootfs, dir), mode);
  }
  chownSync(join(rootfs, 'home', 'nonroot'), 65532, 65532);
}

/** The shared libraries a dynamically linked binary needs, from ldd: path as the loader looks it up. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const result = await runCommand('ldd', [binary]);
  if (result.code !== 0) throw new Error(`ldd ${binary}: ${result.stderr}`);
  return [...result.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((match) => match[1]!);
}

/**
 * Node 24 (the project's own, node_modules/.bin/node) where the distroless nodejs image keeps it,
 * /nodejs/bin/node, with the C libraries it links against in a merged-/usr layout (/lib and /lib64 are
 * links into /usr, as on Debian 13).
 */
async function runtimeRootfs(rootfs: string): Promise<void> {
  const node = realpathSync(join(ROOT, 'node_modules', '.bin', 'node'));
  mkdirSync(join(rootfs, 'nodejs', 'bin'), { recursive: true });
  copyFileSync(node, join(rootfs, 'nodejs', 'bin', 'node'));
  chmodSync(join(rootfs, 'nodejs', 'bin', 'node'), 0o755);
  for (const dir of ['usr/lib/x86_64-linux-gnu', 'usr/lib64']) mkdirSync(join(rootfs, dir), { recursive: true });
  symlinkSync('usr/lib', join(rootfs, 'lib'));
  symlinkSync('usr/lib64', join(rootfs, 'lib64'));
  for (const library of await sharedLibraries(node)) {
    const target = library.startsWith('/lib64/') ? join(rootfs, 'usr', 'lib64', basename(library)) : join(rootfs, 'usr', 'lib', 'x86_64-linux-gnu', basename(library));
    copyFileSync(realpathSync(library), target);
    chmodSync(target, 0o755);
  }
  writeUsers(rootfs);
}

/**
 * What the Dockerfile's final stage copies into /app: package.json, the production dependencies
 * (`npm ci --omit=dev` from the lockfile, as its `npm prune --omit=dev` leaves them), dist/src (the
 * compiled sources) and manifests/.
 */
async function appRootfs(rootfs: string): Promise<void> {
  const app = join(rootfs, 'app');
  mkdirSync(app, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  copyFileSync(join(ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
  await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', app]);
  // The Dockerfile copies package.json, not the lockfile.
  rmSync(join(app, 'package-lock.json'));
  rmSync(join(app, 'node_modules', '.package-lock.json'), { force: true });
  cpSync(join(ROOT, 'dist', 'src'), join(app, 'dist', 'src'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  // What the Dockerfile's build stage writes after the compiler, from its GIT_COMMIT argument.
  await run(process.execPath, [join(ROOT, 'scripts', 'build-info.mjs'), join(app, 'dist', 'src', 'build-info.json')]);
  cpSync(join(ROOT, 'manifests'), join(app, 'manifests'), { recursive: true });
}

let headCommit: string | undefined;

/** The commit the image is built from, as `docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD)` gives it (read once per run). */
export function gitCommit(): string {
  if (headCommit !== undefined) return headCommit;
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    headCommit = /^[0-9a-f]{40}$/.test(head) ? head : 'unknown';
  } catch {
    headCommit = 'unknown';
  }
  return headCommit;
}

/** The webhook image's config, as the Dockerfile's final stage sets it (test/e2e/node/node.e2e.ts compares the two). */
export const WEBHOOK_IMAGE_CONFIG: ImageConfig = {
  User: '65532:65532',
  WorkingDir: '/app',
  Entrypoint: ['/nodejs/bin/node', 'dist/src/cli.js'],
  Cmd: ['serve'],
  Env: [DEFAULT_PATH],
  ExposedPorts: { '8443/tcp': {}, '9999/tcp': {} },
  Labels: {
    'org.opencontainers.image.title': 'pod-identity-webhook',
    'org.opencontainers.image.revision': gitCommit(),
    'org.opencontainers.image.description': 'IAM roles for service accounts (IRSA) mutating admission webhook for Kubernetes',
    'org.opencontainers.image.licenses': 'Apache-2.0',
    'org.opencontainers.image.version': JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string,
    'org.opencontainers.image.base.name': 'gcr.io/distroless/nodejs24-debian13:nonroot',
  },
};

/** The JavaScript caller: the AWS SDK for JavaScript v3's default chain, one JSON line, as sts-caller (Go) prints it. */
const JS_CALLER = `import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
try {
  const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ arn: identity.Arn, account: identity.Account, userId: identity.UserId }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.message ?? error), code: String(error?.name ?? '') }));
  process.exitCode = 1;
}
`;

export interface NodeImages {
  readonly webhook: ImageArchive;
  /** Node 24 with the project's production dependencies (the AWS SDK for JavaScript v3) and both callers. */
  readonly workload: ImageArchive;
  readonly pause: ImageArchive;
}

export const PAUSE_IMAGE = 'registry.k8s.io/pause:piw-e2e';

/** Builds the three images into `outDir` (about 30 s: npm ci --omit=dev and packing 250 MB). */
export async function buildNodeImages(outDir: string, binaries: { readonly pause: string; readonly stsCaller: string }): Promise<NodeImages> {
  const rootfs = (name: string): string => {
    const dir = join(outDir, 'rootfs', name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const runtimeDir = rootfs('runtime');
  await runtimeRootfs(runtimeDir);
  const appDir = rootfs('app');
  await appRootfs(appDir);
  const callerDir = rootfs('caller');
  mkdirSync(join(callerDir, 'app'), { recursive: true });
  mkdirSync(join(callerDir, 'usr', 'local', 'bin'), { recursive: true });
  writeFileSync(join(callerDir, 'app', 'sts-caller.mjs'), JS_CALLER);
  copyFileSync(binaries.stsCaller, join(callerDir, 'usr', 'local', 'bin', 'sts-caller'));
  chmodSync(join(callerDir, 'usr', 'local', 'bin', 'sts-caller'), 0o755);
  const pauseDir = rootfs('pause');
  copyFileSync(binaries.pause, join(pauseDir, 'pause'));
  chmodSync(join(pauseDir, 'pause'), 0o755);

  const layers = join(outDir, 'layers');
  mkdirSync(layers, { recursive: true });
  const [runtime, app, caller, pause] = await Promise.all([
    packLayer(runtimeDir, layers, 'runtime'),
    packLayer(appDir, layers, 'app'),
    packLayer(callerDir, layers, 'caller'),
    packLayer(pauseDir, layers, 'pause'),
  ]);
  const version = WEBHOOK_IMAGE_CONFIG.Labels?.['org.opencontainers.image.version'] ?? 'dev';
  return {
    // Tagged as the chart's default (its appVersion) and as the README builds it and the manifests name it (dev).
    webhook: await writeImageArchive(outDir, `docker.io/library/pod-identity-webhook:${version}`, [runtime!, app!], WEBHOOK_IMAGE_CONFIG, ['docker.io/library/pod-identity-webhook:dev']),
    workload: await writeImageArchive(outDir, 'docker.io/library/piw-workload:e2e', [runtime!, app!, caller!], {
      Env: [DEFAULT_PATH],
      WorkingDir: '/app',
      Entrypoint: ['/nodejs/bin/node'],
      Cmd: ['sts-caller.mjs'],
    }),
    pause: await writeImageArchive(outDir, PAUSE_IMAGE, [pause!], { Env: [DEFAULT_PATH], Entrypoint: ['/pause'], User: '65535:65535' }),
  };
}
