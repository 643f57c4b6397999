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

/**
 * Starts `node ARGS` with stdout and stderr going to `logFile`, waits for its first JSON line there
 * (or its first IPC message with `ipc`), and returns it. The log goes straight to the file rather
 * than through a pipe: reading a server's per-request log lines in the benchmark's process would
 * charge them to the load generator, which shares the machine's cores with the servers.
 */
export function startNode(
  args: readonly string[],
  options: { logFile: string; ipc?: boolean; readyEvent?: string; timeoutMs?: number; env?: Readonly<Record<string, string>> },
): Promise<Started> {
  const log = openSync(options.logFile, 'a');
  // The file may hold an earlier process's lines: only what this one writes counts.
  const offset = fstatSync(log).size;
  const stdio: StdioOptions = options.ipc ? ['ignore', log, log, 'ipc'] : ['ignore', log, log];
  const child = spawn(process.execPath, args, { stdio, env: { ...process.env, ...options.env } });
  closeSync(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let poll: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => fail(new Error(`node ${args.join(' ')} did not become ready; see ${options.logFile}`)), options.timeoutMs ?? 120_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(error);
    };
    child.once('exit', (code) => fail(new Error(`node ${args.join(' ')} exited with ${code}; see ${options.logFile}`)));
    const done = (ready: Record<string, unknown>): void => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ child, ready });
    };
    if (options.ipc) {
      child.once('message', (message) => done(message as Record<string, unknown>));
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
