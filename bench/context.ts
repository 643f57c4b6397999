/** What every section of the benchmark shares: options, the scratch directory, certificates, targets. */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { generateCertificates } from '../src/shared/certs/generate.js';
import { packageRoot } from '../src/shared/package-info.js';

export const argv = process.argv.slice(2);
export const quick = argv.includes('--quick');

export function option(name: string): string | undefined {
  return argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

export function countOption(name: string, fallback: number, max: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    process.stderr.write(`--${name} takes a whole number from 1 to ${max}, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}

/** Seconds per measurement and rounds per case (`--duration`, `--runs`: many short rounds ride out a busy machine). */
export const DURATION = countOption('duration', quick ? 1 : 4, 60);
export const RUNS = countOption('runs', quick ? 1 : 3, 50);

/** `--name=1,10`: whole numbers from 1 to 1000, deduplicated and sorted; `fallback` without it. */
export function listOption(name: string, fallback: number[]): number[] {
  const value = option(name);
  if (value === undefined) return fallback;
  const numbers = value.split(',').map(Number);
  if (numbers.some((number) => !Number.isInteger(number) || number < 1 || number > 1000)) {
    process.stderr.write(`--${name} takes whole numbers from 1 to 1000 separated by commas, got "${value}"\n`);
    process.exit(2);
  }
  return [...new Set(numbers)].sort((a, b) => a - b);
}

export const root = packageRoot();
export const cli = join(root, 'dist', 'src', 'cli.js');
export const work = mkdtempSync(join(tmpdir(), 'piw-bench-'));
// Logs in a directory of their own: the webhook watches the certificates' directory.
mkdirSync(join(work, 'logs'));
export const log = (file: string): string => join(work, 'logs', file);
export const say = (text: string): void => void process.stderr.write(`${text}\n`);

/** One serving certificate (127.0.0.1) for every server, written to `work` by the runner. */
export const certificates = generateCertificates({ service: 'pod-identity-webhook', namespace: 'pod-identity-webhook', hosts: ['127.0.0.1'] });
export const certFile = join(work, 'tls.crt');
export const keyFile = join(work, 'tls.key');

export const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

export type Status = 'PASS' | 'FAIL' | 'SKIPPED';
export interface Target {
  readonly name: string;
  readonly status: Status;
  readonly detail: string;
}
export const targets: Target[] = [];
export const target = (name: string, pass: boolean, detail: string): void => void targets.push({ name, status: pass ? 'PASS' : 'FAIL', detail });
/** A target that could not be measured: never a PASS. */
export const skipped = (name: string, reason: string): void => void targets.push({ name, status: 'SKIPPED', detail: reason });

/** The webhook container's environment in manifests/base/deployment.yaml: cluster-mode servers run as deployed. */
export function deploymentEnv(): Record<string, string> {
  const deployment = parse(readFileSync(join(root, 'manifests', 'base', 'deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } };
  };
  const container = deployment.spec.template.spec.containers.find((entry) => entry.name === 'webhook');
  if (!container) throw new Error('manifests/base/deployment.yaml has no webhook container');
  return Object.fromEntries((container.env ?? []).flatMap((variable) => (variable.value === undefined ? [] : [[variable.name, variable.value]])));
}

/** POSTs `body` to `url` once (a fresh connection) and returns status and text; bounded by `timeoutMs`. */
export async function postOnce(url: string, body: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca: certificates.caCert, agent: false, timeout: timeoutMs, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
