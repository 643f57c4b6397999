import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT } from '../helpers/paths.js';

/** The chart's values name every flag of `serve` (rendering and dry runs are in test/e2e/chart.e2e.ts, with the real helm). */
describe('charts/pod-identity-webhook values', () => {
  const values = parse(readFileSync(join(ROOT, 'charts', 'pod-identity-webhook', 'values.yaml'), 'utf8')) as { serve: Record<string, unknown> };

  it('has a key under serve: for every serve flag, and no other', () => {
    const serve = buildProgram().commands.find((command) => command.name() === 'serve');
    assert.ok(serve);
    const flags = serve.options.map((option) => option.long?.replace(/^--/, '')).filter((flag): flag is string => flag !== undefined && flag !== 'help');
    assert.deepEqual(Object.keys(values.serve).sort(), flags.sort());
  });
});
