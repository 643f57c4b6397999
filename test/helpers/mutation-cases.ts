import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_MUTATION_OPTIONS } from '../../src/webhook/engine/defaults.js';
import type { MutationOptions, PatchOperation, ServiceAccountView } from '../../src/webhook/engine/types.js';
import { parseManifests } from '../../src/shared/k8s/manifests.js';
import { type SelectedPod, selectPod, selectServiceAccount } from '../../src/webhook/render.js';
import { FIXTURES } from './paths.js';

export const MUTATION_CASES = join(FIXTURES, 'mutation');

/** One fixture folder: inputs, and the reviewed expectations when they exist. */
export interface MutationCase {
  readonly name: string;
  readonly directory: string;
  readonly description: string;
  readonly options: MutationOptions;
  readonly pod: SelectedPod;
  readonly serviceAccount: ServiceAccountView;
  readonly expectedPatch: PatchOperation[] | undefined;
  readonly expectedPod: unknown;
  readonly expectedWarnings: string[] | undefined;
  /** The jitter handed to the engine (case.yaml `expirationJitter`, default 0 as the Go webhook's tests use). */
  readonly expirationJitter: number;
}

function readOptional<T>(path: string, parseText: (text: string) => T): T | undefined {
  return existsSync(path) ? parseText(readFileSync(path, 'utf8')) : undefined;
}

function orThrow<T>(parsed: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

export function loadMutationCase(name: string): MutationCase {
  const directory = join(MUTATION_CASES, name);
  const meta = parse(readFileSync(join(directory, 'case.yaml'), 'utf8')) as {
    description: string;
    options?: Partial<Omit<MutationOptions, 'containerCredentials'>> & { containerCredentials?: Partial<MutationOptions['containerCredentials']> };
    /** The ServiceAccount is listed in the container-credentials identities (Pod Identity mode). */
    podIdentity?: boolean;
    expirationJitter?: number;
  };
  for (const key of Object.keys(meta)) {
    if (!['description', 'options', 'podIdentity', 'expirationJitter'].includes(key)) throw new Error(`${name}/case.yaml: unknown field ${key}`);
  }
  for (const key of Object.keys(meta.options ?? {})) {
    if (!(key in DEFAULT_MUTATION_OPTIONS)) throw new Error(`${name}/case.yaml: unknown option ${key}`);
  }
  for (const key of Object.keys(meta.options?.containerCredentials ?? {})) {
    if (!(key in DEFAULT_MUTATION_OPTIONS.containerCredentials)) throw new Error(`${name}/case.yaml: unknown containerCredentials option ${key}`);
  }
  const podPath = join(directory, 'pod.yaml');
  const pod = orThrow(selectPod(orThrow(parseManifests(readFileSync(podPath, 'utf8'), podPath)), podPath));
  const saPath = join(directory, 'serviceaccount.yaml');
  const serviceAccount = orThrow(
    selectServiceAccount(
      orThrow(parseManifests(readFileSync(saPath, 'utf8'), saPath)),
      saPath,
      pod.view.namespace ?? 'default',
      pod.view.serviceAccountName,
    ),
  );
  return {
    name,
    directory,
    description: meta.description,
    options: {
      ...DEFAULT_MUTATION_OPTIONS,
      ...meta.options,
      containerCredentials: { ...DEFAULT_MUTATION_OPTIONS.containerCredentials, ...meta.options?.containerCredentials },
    },
    pod,
    serviceAccount: meta.podIdentity ? { ...serviceAccount, podIdentity: true } : serviceAccount,
    expirationJitter: meta.expirationJitter ?? 0,
    expectedPatch: readOptional(join(directory, 'expected-patch.json'), (text) => JSON.parse(text) as PatchOperation[]),
    expectedPod: readOptional(join(directory, 'expected-pod.yaml'), (text) => parse(text) as unknown),
    expectedWarnings: readOptional(join(directory, 'expected-warnings.yaml'), (text) => (parse(text) as string[] | null) ?? []),
  };
}

export function mutationCaseNames(): string[] {
  return readdirSync(MUTATION_CASES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}
