import { createHash } from 'node:crypto';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { ROOT } from '../../helpers/paths.js';

/** Where test/e2e/build-components.sh keeps its binaries (the same rules as the script). */
export function componentCache(): string {
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.PIW_E2E_CACHE || join(xdg, 'pod-identity-webhook', 'e2e');
}

const TOOLS = join(ROOT, 'test', 'e2e', 'tools');
const BUILD_HINT = 'build them with `bash test/e2e/build-components.sh` (or run `npm run test:e2e`, which does)';

/** The version a tools module requires its main dependency at (its one single-line require). */
function requiredVersion(moduleDir: string): string {
  const match = /^require \S+ (v\S+)$/m.exec(readFileSync(join(moduleDir, 'go.mod'), 'utf8'));
  if (!match?.[1]) throw new Error(`${moduleDir}/go.mod has no single-line require`);
  return match[1];
}

/** `<kind>-<version>-<first 16 hex of sha256(go.mod go.sum)>`, as module_key in the script. */
function moduleDirectory(moduleDir: string): string {
  const hash = createHash('sha256').update(readFileSync(join(moduleDir, 'go.mod'))).update(readFileSync(join(moduleDir, 'go.sum'))).digest('hex');
  // The directory's name without its last `-` part (`k8s-1.37` → `k8s`, `aws-iam-authenticator-v0.7.18` → `aws-iam-authenticator`).
  const kind = basename(moduleDir).replace(/-[^-]*$/, '');
  return join(componentCache(), `${kind}-${requiredVersion(moduleDir)}-${hash.slice(0, 16)}`);
}

function executable(path: string, component: string): string {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${component} is not built (${path} is missing): ${BUILD_HINT}`);
  }
  return path;
}

function toolsModules(prefix: string): string[] {
  return readdirSync(TOOLS)
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => join(TOOLS, name));
}

export interface KubernetesRelease {
  /** `v1.30.14` */
  readonly version: string;
  /** `1.30` */
  readonly minor: string;
  readonly kubeApiserver: string;
  readonly kubectl: string;
  /** The node's components (test/e2e/node): built beside the control plane from the same module. */
  readonly kubelet: string;
  readonly kubeScheduler: string;
  readonly kubeControllerManager: string;
  readonly kubeProxy: string;
}

/** Every Kubernetes release the suite runs against (one per test/e2e/tools/k8s-* module), oldest first. */
export function kubernetesReleases(): KubernetesRelease[] {
  return toolsModules('k8s-').map((moduleDir) => {
    const version = requiredVersion(moduleDir);
    const dir = moduleDirectory(moduleDir);
    return {
      version,
      minor: version.replace(/^v(\d+\.\d+)\..*$/, '$1'),
      kubeApiserver: join(dir, 'kube-apiserver'),
      kubectl: join(dir, 'kubectl'),
      kubelet: join(dir, 'kubelet'),
      kubeScheduler: join(dir, 'kube-scheduler'),
      kubeControllerManager: join(dir, 'kube-controller-manager'),
      kubeProxy: join(dir, 'kube-proxy'),
    };
  });
}

/** Fails with the command to run when a release's binaries are missing. */
export function checkBuilt(release: KubernetesRelease): void {
  executable(release.kubeApiserver, `kube-apiserver ${release.version}`);
  executable(release.kubectl, `kubectl ${release.version}`);
}

/** Fails with the command to run when a release's node components are missing. */
export function checkNodeBuilt(release: KubernetesRelease): void {
  for (const binary of [release.kubelet, release.kubeScheduler, release.kubeControllerManager, release.kubeProxy]) executable(binary, `${basename(binary)} ${release.version}`);
}

/** The pause program (build-components.sh build_pause, from the newest k8s-* module) and the Go SDK's caller. */
export function nodeImageBinaries(): { readonly pause: string; readonly stsCaller: string } {
  const newest = toolsModules('k8s-').at(-1);
  if (!newest) throw new Error('no test/e2e/tools/k8s-* module');
  const caller = join(TOOLS, 'sts-caller');
  const callerHash = createHash('sha256')
    .update(readFileSync(join(caller, 'go.mod')))
    .update(readFileSync(join(caller, 'go.sum')))
    .update(readFileSync(join(caller, 'main.go')))
    .digest('hex');
  return {
    pause: executable(join(componentCache(), `pause-${requiredVersion(newest)}`, 'pause'), 'pause'),
    stsCaller: executable(join(componentCache(), `sts-caller-${callerHash.slice(0, 16)}`, 'sts-caller'), 'sts-caller'),
  };
}

export interface EtcdRelease {
  readonly version: string;
  readonly etcd: string;
}

export function etcdRelease(): EtcdRelease {
  const [moduleDir, ...others] = toolsModules('etcd-');
  if (!moduleDir || others.length > 0) throw new Error(`expected exactly one test/e2e/tools/etcd-* module`);
  const version = requiredVersion(moduleDir);
  return { version, etcd: executable(join(moduleDirectory(moduleDir), 'etcd'), `etcd ${version}`) };
}

/** The CustomResourceDefinitions build-components.sh fetched (cert-manager, Prometheus operator). */
export function crdFiles(): string[] {
  const dir = join(componentCache(), 'crds');
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.yaml'))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    throw new Error(`the CRDs are not fetched (${dir} is missing): ${BUILD_HINT}`);
  }
}

/** The CoreDNS binary build-components.sh built (its version is the script's coredns_version). */
export function corednsBinary(): string {
  const script = readFileSync(join(ROOT, 'test', 'e2e', 'build-components.sh'), 'utf8');
  const version = /^coredns_version=(v\S+)$/m.exec(script)?.[1];
  if (!version) throw new Error('build-components.sh names no coredns_version');
  return executable(join(componentCache(), `coredns-${version}`, 'coredns'), `coredns ${version}`);
}

/** The helm binary build-components.sh built (its version is the script's helm_version). */
export function helmBinary(): string {
  const script = readFileSync(join(ROOT, 'test', 'e2e', 'build-components.sh'), 'utf8');
  const version = /^helm_version=(v\S+)$/m.exec(script)?.[1];
  if (!version) throw new Error('build-components.sh names no helm_version');
  return executable(join(componentCache(), `helm-${version}`, 'helm'), `helm ${version}`);
}

/** The promtool binary build-components.sh built (the script's prometheus_version: v0.316.0 is Prometheus 3.16.0). */
export function promtoolBinary(): string {
  const script = readFileSync(join(ROOT, 'test', 'e2e', 'build-components.sh'), 'utf8');
  const version = /^prometheus_version=(v\S+)$/m.exec(script)?.[1];
  if (!version) throw new Error('build-components.sh names no prometheus_version');
  return executable(join(componentCache(), `promtool-${version}`, 'promtool'), `promtool ${version}`);
}

export interface AwsIamAuthenticatorRelease {
  /** `v0.7.18` */
  readonly version: string;
  readonly binary: string;
}

/** The reference aws-iam-authenticator (test/e2e/tools/aws-iam-authenticator-*), or the reason it is absent. */
export function awsIamAuthenticator(): AwsIamAuthenticatorRelease {
  const [moduleDir, ...others] = toolsModules('aws-iam-authenticator-');
  if (!moduleDir || others.length > 0) throw new Error('expected exactly one test/e2e/tools/aws-iam-authenticator-* module');
  const version = requiredVersion(moduleDir);
  return { version, binary: executable(join(moduleDirectory(moduleDir), 'aws-iam-authenticator'), `aws-iam-authenticator ${version}`) };
}
