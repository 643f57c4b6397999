/**
 * Writes expectation files for mutation fixture cases that have none yet, so that a new case can be
 * reviewed by hand before it is committed. Existing expectations are never overwritten unless the
 * case is named with --force NAME: a changed expectation must be a deliberate, reviewed edit.
 *
 *   node dist/test/write-snapshots.js [--force CASE ...]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { mutatePod } from '../src/webhook/engine/mutate.js';
import { applyPatch } from '../src/webhook/apply-patch.js';
import { loadMutationCase, mutationCaseNames } from './helpers/mutation-cases.js';

const args = process.argv.slice(2);
const names = mutationCaseNames();
const forced = new Set(args.slice(1));
// A misspelt case name would otherwise rewrite nothing, silently.
const unknown = [...forced].filter((name) => !names.includes(name));
if ((args.length > 0 && args[0] !== '--force') || unknown.length > 0) {
  process.stderr.write(`write-snapshots: usage: node dist/test/write-snapshots.js [--force CASE ...]${unknown.length > 0 ? `; no case ${unknown.join(', ')} in test/fixtures/mutation` : ''}\n`);
  process.exit(2);
}
for (const name of names) {
  const fixture = loadMutationCase(name);
  const result = mutatePod(fixture.pod.view, fixture.serviceAccount, fixture.options, fixture.expirationJitter);
  const files: Array<[string, string]> = [
    ['expected-patch.json', `${JSON.stringify(result.patch, null, 2)}\n`],
    ['expected-pod.yaml', stringify(applyPatch(fixture.pod.object, result.patch), { lineWidth: 0 })],
    ['expected-warnings.yaml', stringify(result.warnings, { lineWidth: 0 })],
  ];
  for (const [file, text] of files) {
    const path = join(fixture.directory, file);
    if (existsSync(path) && !forced.has(name)) continue;
    writeFileSync(path, text);
    process.stdout.write(`wrote ${name}/${file}: review it before committing\n`);
  }
}
