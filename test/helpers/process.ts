import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from './paths.js';
import { waitFor } from './wait.js';

/** A CLI command running as its own process, with its JSON log lines and stderr collected. */
export class CliProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  stderr = '';
  stdoutText = '';
  private exit: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.stdoutText += `${line}\n`;
      try {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliProcess {
    return new CliProcess(spawn(process.execPath, [CLI, ...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  async line(event: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return this.lineWhere(event, (line) => line.event === event, timeoutMs);
  }

  /** The first log line matching `predicate`, waiting for it to be written. */
  async lineWhere(what: string, predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return waitFor(`log line: ${what} (stderr: ${this.stderr.slice(-500)})`, () => this.lines.find(predicate), timeoutMs);
  }

  /** The port of the `listening` log line's address. */
  async port(): Promise<number> {
    const listening = await this.line('listening');
    return Number(new URL(String(listening.address)).port);
  }

  exited(): Promise<number | null> {
    return this.exit;
  }

  /** Sends SIGTERM (or another signal) and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exit;
  }
}
