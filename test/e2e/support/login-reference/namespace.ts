/**
 * Runs a program inside a network and mount namespace of its own, as root: loopback only (nothing
 * leaves it, no port is shared with the host or with another run) and an /etc/hosts bind-mounted
 * over the host's in that namespace only, naming AWS's STS hosts 127.0.0.1, so every client and
 * server in it (Node's getaddrinfo, Go's resolver, the AWS CLI) reaches the lab STS by those names.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../../helpers/paths.js';
import { track } from '../processes.js';
import { STS_HOSTS } from './servers.js';

/** Why namespaces cannot be made here, or undefined when they can. */
export function namespaceUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network and mount namespaces)';
  const missing = ['unshare', 'ip', 'mount'].filter((command) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0);
  return missing.length > 0 ? `needs ${missing.join(', ')} on PATH` : undefined;
}

export interface NamespaceRun {
  readonly code: number | null;
  readonly output: string;
}

/** Runs `node SCRIPT ARGS` (a compiled file under dist/) in the namespace; resolves when it exits (killed after `timeoutMs`). */
export function runInNamespace(dir: string, script: string, args: readonly string[], timeoutMs: number): Promise<NamespaceRun> {
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, ['127.0.0.1 localhost', ...STS_HOSTS.map((host) => `127.0.0.1 ${host}`), ''].join('\n'));
  const setup = 'ip link set lo up && mount --bind "$0" /etc/hosts && exec "$@"';
  const child = track(
    spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', setup, hosts, process.execPath, script, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}
