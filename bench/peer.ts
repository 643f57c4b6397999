/**
 * The peer: the AWS Go webhook (github.com/aws/amazon-eks-pod-identity-webhook), the tool users
 * would pick instead, built with `go install` from the module proxy at a pinned version into a cache
 * outside the git tree, and run beside ours on the same input.
 *
 *   npm run bench                                          # the pinned version, built on first use
 *   npm run bench -- --peer-module=DIR                     # a checkout or unpacked module zip: go build there
 *   npm run bench -- --peer-module=MODULE@VERSION          # another version (e.g. a pseudo-version)
 *   npm run bench -- --peer-binary=PATH --peer-review=v1   # a binary built by hand (bench/README.md says how)
 *   npm run bench -- --peer-review=v1                      # send it admission.k8s.io/v1 reviews
 *   npm run bench -- --no-peer
 *
 * The same through PIW_BENCH_PEER_MODULE, PIW_BENCH_PEER_BINARY and PIW_BENCH_PEER_REVIEW. When it cannot be built (no Go,
 * the proxy refuses the module), every peer row and target says why instead of giving numbers.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ReviewVersion } from './answers.js';

export const PEER_MODULE = 'github.com/aws/amazon-eks-pod-identity-webhook';

/**
 * The pinned version: v0.6.9, the newest tag on record (3a28f52; aws/amazon-eks-pod-identity-webhook
 * issue #273). It decodes reviews as admission/v1beta1 and answers without apiVersion and kind, which
 * kube-apiserver accepts only for v1beta1: a v1 review's answer is refused ("expected webhook
 * response of admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind=", issues #225 and #205, fixed
 * on master by PR #310, which postdates the tag and has no tag of its own). Its own
 * deploy/mutatingwebhook.yaml registers admissionReviewVersions ["v1beta1"], so it is sent the same
 * pods in v1beta1 reviews, as clusters run it; the answer check also asks it one v1 review and
 * reports whether that answer would be accepted. A commit with PR #310 can be measured with
 * --peer-module=github.com/aws/amazon-eks-pod-identity-webhook@<its pseudo-version> --peer-review=v1.
 */
export const PEER_VERSION = 'v0.6.9';
export const PEER_REVIEW_VERSION: ReviewVersion = 'admission.k8s.io/v1beta1';

export interface Peer {
  readonly binary: string;
  /** What was built: MODULE@VERSION or the directory. */
  readonly source: string;
  readonly reviewVersion: ReviewVersion;
}

export type PeerResolution = { readonly ok: true; readonly peer: Peer } | { readonly ok: false; readonly reason: string };

const BUILD_TIMEOUT_MS = 30 * 60_000;

function option(argv: readonly string[], name: string): string | undefined {
  return argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** Where built peers are kept: ${PIW_BENCH_CACHE:-${XDG_CACHE_HOME:-~/.cache}/pod-identity-webhook/bench}. */
export function benchCache(): string {
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.PIW_BENCH_CACHE || join(xdg, 'pod-identity-webhook', 'bench');
}

function reviewVersionOf(argv: readonly string[]): ReviewVersion | { error: string } {
  const raw = option(argv, 'peer-review') ?? process.env.PIW_BENCH_PEER_REVIEW;
  if (raw === undefined) return PEER_REVIEW_VERSION;
  if (raw === 'v1' || raw === 'admission.k8s.io/v1') return 'admission.k8s.io/v1';
  if (raw === 'v1beta1' || raw === 'admission.k8s.io/v1beta1') return 'admission.k8s.io/v1beta1';
  return { error: `--peer-review takes v1 or v1beta1, got "${raw}"` };
}

function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, output: `${stdout}${stderr}${error && typeof error.code !== 'number' ? error.message : ''}`.trim() });
    });
  });
}

/** What went wrong, from go's output: the proxy's answer when it refused, else its last lines. */
function goFailure(output: string): string {
  const reading = /reading (https?:\/\/\S+?): (\d{3}[ A-Za-z]*)/.exec(output);
  const response = /server response: ([^\n]+)/.exec(output);
  if (reading) return `${reading[1]} answered ${reading[2]!.trim()}${response ? ` ("${response[1]!.trim()}")` : ''}`;
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  return (lines.slice(-3).join(' ') || 'no output').slice(0, 600);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds or builds the peer. A binary already in the cache is used as it is; otherwise `go install
 * MODULE@VERSION` (GOBIN in the cache) or `go build` in the given directory. Never throws: a peer
 * that cannot be had comes back with the reason.
 */
export async function resolvePeer(argv: readonly string[], say: (text: string) => void): Promise<PeerResolution> {
  if (argv.includes('--no-peer')) return { ok: false, reason: 'not run (--no-peer)' };
  const reviewVersion = reviewVersionOf(argv);
  if (typeof reviewVersion !== 'string') return { ok: false, reason: reviewVersion.error };
  // A binary the user built (--peer-binary, PIW_BENCH_PEER_BINARY); the benchmark also passes the
  // one it found to itself through the variable when it re-runs inside a private network namespace.
  const flagged = option(argv, 'peer-binary');
  const prebuilt = flagged ?? process.env.PIW_BENCH_PEER_BINARY;
  if (prebuilt) {
    const named = flagged !== undefined ? '--peer-binary' : 'PIW_BENCH_PEER_BINARY';
    if (flagged !== undefined && option(argv, 'peer-module') !== undefined) return { ok: false, reason: '--peer-binary and --peer-module exclude each other' };
    const binary = resolve(prebuilt);
    return executable(binary)
      ? { ok: true, peer: { binary, source: (flagged === undefined ? process.env.PIW_BENCH_PEER_SOURCE : undefined) ?? binary, reviewVersion } }
      : { ok: false, reason: `${named} ${prebuilt} is not an executable file` };
  }
  const requested = option(argv, 'peer-module') ?? process.env.PIW_BENCH_PEER_MODULE ?? `${PEER_MODULE}@${PEER_VERSION}`;
  const go = await run('go', ['version'], {});
  if (go.code !== 0) return { ok: false, reason: `Go is not installed (go version: ${goFailure(go.output)})` };

  const directory = resolve(requested);
  if (!requested.includes('@') || existsSync(directory)) {
    if (!existsSync(join(directory, 'go.mod'))) return { ok: false, reason: `--peer-module ${requested}: no go.mod there (a directory holding the module, or MODULE@VERSION)` };
    const module = /^module\s+(\S+)/m.exec(readFileSync(join(directory, 'go.mod'), 'utf8'))?.[1];
    if (module !== PEER_MODULE) return { ok: false, reason: `--peer-module ${requested} holds module ${module ?? '(none)'}, not ${PEER_MODULE}` };
    const key = createHash('sha256').update(directory).digest('hex').slice(0, 12);
    const binary = join(benchCache(), `peer-dir-${key}`, 'amazon-eks-pod-identity-webhook');
    mkdirSync(join(benchCache(), `peer-dir-${key}`), { recursive: true });
    say(`peer: go build in ${directory} (a directory is rebuilt every run)`);
    const built = await run('go', ['build', '-trimpath', '-o', binary, '.'], { cwd: directory });
    if (built.code !== 0 || !executable(binary)) return { ok: false, reason: `go build in ${directory} failed: ${goFailure(built.output)}` };
    return { ok: true, peer: { binary, source: directory, reviewVersion } };
  }

  const at = requested.lastIndexOf('@');
  const [module, version] = [requested.slice(0, at), requested.slice(at + 1)];
  if (module !== PEER_MODULE) return { ok: false, reason: `--peer-module ${requested}: expected ${PEER_MODULE}@VERSION` };
  if (!/^v[0-9A-Za-z.+-]+$/.test(version)) return { ok: false, reason: `--peer-module ${requested}: "${version}" is not a pinned version (a tag or a pseudo-version, not a branch)` };
  const gobin = join(benchCache(), `peer-${version}`);
  const binary = join(gobin, 'amazon-eks-pod-identity-webhook');
  if (executable(binary)) return { ok: true, peer: { binary, source: requested, reviewVersion } };
  mkdirSync(gobin, { recursive: true });
  say(`peer: go install ${requested} (GOBIN ${gobin}, kept for later runs)`);
  const built = await run('go', ['install', '-trimpath', requested], { env: { ...process.env, GOBIN: gobin } });
  if (built.code !== 0 || !executable(binary)) return { ok: false, reason: `go install ${requested} failed: ${goFailure(built.output)}` };
  return { ok: true, peer: { binary, source: requested, reviewVersion } };
}

/**
 * The peer's command line: the Go webhook out of cluster (its informer on `kubeconfig`), serving the
 * same certificate files, with the mutation settings ours uses by default spelled out. It has no
 * bind-address flag: it listens on every interface, which is why it only runs inside a network
 * namespace of its own (`isolation`).
 */
export function peerArgs(options: { kubeconfig: string; cert: string; key: string; port: number; metricsPort: number }): string[] {
  return [
    '--in-cluster=false',
    `--kubeconfig=${options.kubeconfig}`,
    `--tls-cert=${options.cert}`,
    `--tls-key=${options.key}`,
    `--port=${options.port}`,
    `--metrics-port=${options.metricsPort}`,
    '--annotation-prefix=eks.amazonaws.com',
    '--token-audience=sts.amazonaws.com',
    '--token-mount-path=/var/run/secrets/eks.amazonaws.com/serviceaccount',
    '--token-expiration=86400',
  ];
}

/** The network interfaces this process sees (from /proc/net/dev). */
export function interfaces(): string[] {
  try {
    return readFileSync('/proc/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((line) => line.split(':')[0]!.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

export const NETNS_MARK = 'PIW_BENCH_NETNS';

/**
 * Whether a private network namespace with only loopback can be had (unshare --net, as the
 * dual-stack test uses): the command that runs a program inside one, or why not.
 */
export function privateNetwork(): { ok: true; prefix: string[] } | { ok: false; reason: string } {
  const prefix = ['unshare', '--net', '--map-root-user', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"'];
  try {
    const seen = execFileSync(prefix[0]!, [...prefix.slice(1), 'cat', '/proc/net/dev'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const names = seen.split('\n').slice(2).map((line) => line.split(':')[0]!.trim()).filter(Boolean);
    if (names.length !== 1 || names[0] !== 'lo') return { ok: false, reason: `unshare --net gave interfaces ${names.join(', ')}, not only lo` };
    return { ok: true, prefix };
  } catch (error) {
    return { ok: false, reason: `no private network namespace (unshare --net --map-root-user: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})` };
  }
}
