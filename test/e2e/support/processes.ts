import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../../src/shared/log.js';

/**
 * Every child process the e2e suite starts, and the directories holding their data. Tests stop and
 * remove theirs in `after` hooks; this registry is the safety net when the run dies first (mocha
 * exits, an uncaught error, Ctrl-C, SIGTERM from CI): etcd and kube-apiserver do not notice their
 * parent going away and would keep their ports, and etcd's data directory holds 100 MB.
 */
const running = new Set<ChildProcess>();
const directories = new Set<string>();

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  directories.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const)[signal]);
  });
}

/** Registers a child so it is killed if the run ends before the test stops it. */
export function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** A directory removed if the run ends before its owner removes it (see `removeDirectory`). */
export function trackDirectory(directory: string): string {
  directories.add(directory);
  return directory;
}

export function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
  directories.delete(directory);
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`; resolves once it has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A server binary (etcd, kube-apiserver) whose stdout and stderr go to a log file. */
export class ServerProcess {
  private readonly exit: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(name: string, binary: string, args: readonly string[], logFile: string): ServerProcess {
    const log = openSync(logFile, 'a');
    try {
      const child = spawn(binary, args, { stdio: ['ignore', log, log] });
      return new ServerProcess(name, track(child), logFile);
    } finally {
      closeSync(log);
    }
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  exited(): Promise<number | null> {
    return this.exit;
  }

  /** The last `lines` lines of the log, for failure messages. */
  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines - 1).join('\n');
    } catch {
      return '(no log)';
    }
  }

  stop(graceMs?: number): Promise<void> {
    return stopProcess(this.child, graceMs);
  }

  /** For `pollUntil`: fails as soon as this process exits, and shows its log. */
  watch(what: string): PollWatch {
    return {
      alive: () => {
        if (this.hasExited) throw new Error(`${this.name} exited (code ${String(this.child.exitCode)}) before ${what}:\n${this.logTail()}`);
      },
      logs: () => this.logTail(),
    };
  }
}

/** How `pollUntil` knows the processes it waits on are alive, and what to show when it gives up. */
export interface PollWatch {
  /** Throws at once (not at the deadline) when a process the wait depends on has died. */
  readonly alive: () => void;
  /** Appended to the timeout's message: the logs that say why. */
  readonly logs: () => string;
}

/** Polls `check` every `intervalMs` until it returns true; a thrown error counts as "not yet" and is shown if the wait times out. */
export async function pollUntil(what: string, check: () => Promise<boolean>, watch: PollWatch, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    watch.alive();
    try {
      if (await check()) return;
    } catch (error) {
      lastError = errorMessage(error);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${lastError})` : ''}:\n${watch.logs()}`);
    await sleep(intervalMs);
  }
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the caller binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (bounded by `timeoutMs`), never throwing on its exit code. */
export function runCommand(binary: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          return reject(new Error(`${binary} ${args.join(' ')}: ${error.message}${error.killed ? ' (killed: timed out)' : ''}\n${stderr}`));
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    track(child);
    child.stdin?.end(options.input);
  });
}

/** An address from /proc/net/tcp{,6} (hex, 32-bit words in host order) as text, host:port. */
function decodeProcAddress(hex: string): string {
  const [address = '', port = '0'] = hex.split(':');
  const words = address.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((byte) => parseInt(byte, 16)));
  const host = bytes.length === 4 ? bytes.join('.') : (bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('').match(/.{4}/g) ?? []).join(':');
  return `${host}:${parseInt(port, 16)}`;
}

/** host:port of every TCP socket process `pid` listens on (its own sockets only, from /proc). */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const addresses: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st ... inode (field 9); st 0A is LISTEN
      if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) addresses.push(decodeProcAddress(fields[1] ?? ''));
    }
  }
  return addresses;
}

/** 127.0.0.0/8, ::1, or 127.x mapped into IPv6 (host:port as listeningAddresses gives it). */
export function isLoopback(hostPort: string): boolean {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':'));
  return /^127\./.test(host) || host === '0000:0000:0000:0000:0000:0000:0000:0001' || /^0000:0000:0000:0000:0000:ffff:7f/.test(host);
}
