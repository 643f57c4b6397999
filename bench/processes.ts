import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { openSync } from 'node:fs';
import { createInterface } from 'node:readline';

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
 * Starts `node ARGS`, waits for its first JSON line on stdout (or its first IPC message with
 * `ipc`), and returns it. stderr and the rest of stdout go to `logFile`.
 */
export function startNode(args: readonly string[], options: { logFile: string; ipc?: boolean; readyEvent?: string; timeoutMs?: number }): Promise<Started> {
  const log = openSync(options.logFile, 'a');
  const stdio: StdioOptions = options.ipc ? ['ignore', log, log, 'ipc'] : ['ignore', 'pipe', log];
  const child = spawn(process.execPath, args, { stdio });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${args.join(' ')} did not become ready; see ${options.logFile}`)), options.timeoutMs ?? 120_000);
    child.once('exit', (code) => reject(new Error(`node ${args.join(' ')} exited with ${code}; see ${options.logFile}`)));
    const done = (ready: Record<string, unknown>): void => {
      clearTimeout(timer);
      resolve({ child, ready });
    };
    if (options.ipc) {
      child.once('message', (message) => done(message as Record<string, unknown>));
      return;
    }
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (options.readyEvent === undefined || parsed.event === options.readyEvent) {
        lines.removeAllListeners('line');
        // Keep draining stdout (the server logs every request) without holding it.
        child.stdout!.resume();
        done(parsed);
      }
    });
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
