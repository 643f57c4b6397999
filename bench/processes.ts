import { type ChildProcess, execFileSync, spawn, type StdioOptions } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';

const children = new Set<ChildProcess>();

/** Kills every child still running; called on exit and on interruption so nothing is left behind. */
export function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

export interface Started {
  readonly child: ChildProcess;
  /** The first JSON line on stdout (what the process prints when it is ready). */
  readonly ready: Record<string, unknown>;
}

export interface StartOptions {
  readonly logFile: string;
  readonly ipc?: boolean;
  /** Ready once a JSON line with this `event` is logged (default: the first JSON line). */
  readonly readyEvent?: string;
  /** Ready once this resolves true (polled every 50 ms) instead of on a log line. */
  readonly ready?: () => Promise<boolean>;
  readonly timeoutMs?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** CPUs to run on (`taskset -c`), e.g. "1"; inherited by every thread the process starts. */
  readonly cpus?: string;
}

/**
 * Starts `node ARGS` with stdout and stderr going to `logFile`, waits for its first JSON line there
 * (or its first IPC message with `ipc`), and returns it. The log goes straight to the file rather
 * than through a pipe: reading a server's per-request log lines in the benchmark's process would
 * charge them to the load generator, which shares the machine's cores with the servers.
 */
export function startNode(args: readonly string[], options: StartOptions): Promise<Started> {
  return startProcess(process.execPath, args, options);
}

/** Starts any binary as `startNode` starts node (taskset execs it: the pid is the binary's). */
export function startProcess(command: string, args: readonly string[], options: StartOptions): Promise<Started> {
  const log = openSync(options.logFile, 'a');
  // The file may hold an earlier process's lines: only what this one writes counts.
  const offset = fstatSync(log).size;
  const stdio: StdioOptions = options.ipc ? ['ignore', log, log, 'ipc'] : ['ignore', log, log];
  const [file, argv] = options.cpus === undefined ? [command, args] : ['taskset', ['-c', options.cpus, command, ...args]];
  const child = spawn(file, argv, { stdio, env: { ...process.env, ...options.env } });
  closeSync(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  const what = `${command} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    let poll: NodeJS.Timeout | undefined;
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${what} did not become ready; see ${options.logFile}`)), options.timeoutMs ?? 120_000);
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      reject(error);
    };
    child.once('error', (error) => fail(new Error(`${what}: ${error.message}`)));
    child.once('exit', (code) => fail(new Error(`${what} exited with ${code}; see ${options.logFile}`)));
    const done = (ready: Record<string, unknown>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ child, ready });
    };
    if (options.ipc) {
      child.once('message', (message) => done(message as Record<string, unknown>));
      return;
    }
    const check = options.ready;
    if (check) {
      const attempt = (): void => {
        if (settled) return;
        check().then(
          (ok) => (ok ? done({}) : void setTimeout(attempt, 50)),
          () => void setTimeout(attempt, 50),
        );
      };
      attempt();
      return;
    }
    poll = setInterval(() => {
      const ready = readyLine(readFileSync(options.logFile).subarray(offset).toString('utf8'), options.readyEvent);
      if (ready) done(ready);
    }, 20);
  });
}

/** The first JSON line of `text` (with `event` equal to `readyEvent` when one is given). */
function readyLine(text: string, readyEvent: string | undefined): Record<string, unknown> | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (readyEvent === undefined || parsed.event === readyEvent) return parsed;
    } catch {
      // A line still being written, or not JSON: keep looking.
    }
  }
  return undefined;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

let clockTicksPerSecond: number | undefined;

/**
 * CPU time (user + system, all threads) a process has used so far, in µs, from /proc/PID/stat;
 * undefined where there is no /proc (the benchmark then leaves its CPU column empty).
 */
export function cpuMicroseconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  clockTicksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  // The command name (field 2) may hold spaces; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond;
}

/** Resident and peak resident memory of a process in bytes (VmRSS, VmHWM), undefined without /proc. */
export function memoryOf(pid: number | undefined): { rssBytes: number; peakRssBytes: number } | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

/** Whether processes can be pinned to single cores here (taskset, and at least two CPUs). */
export function canPin(cpuCount: number): { ok: true } | { ok: false; reason: string } {
  if (cpuCount < 2) return { ok: false, reason: `${cpuCount} CPU: nothing to pin the load generator and the server apart on` };
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `taskset is not usable (${error instanceof Error ? error.message : String(error)})` };
  }
}

/** Moves every thread of a running process to `cpus` (taskset -a -p -c). */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** A free TCP port on 127.0.0.1, for servers that cannot be told to pick one and report it. */
export { freePort } from '../test/e2e/support/processes.js';
