import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Option } from 'commander';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT } from '../helpers/paths.js';

/**
 * The chart's values, schema and README against each other and against the CLI's own flags. What
 * the real helm does with them (rendering, the schema refusing values, dry runs) is in
 * test/e2e/chart.e2e.ts.
 */
const CHART = join(ROOT, 'charts', 'pod-identity-webhook');

interface Schema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly additionalProperties?: boolean | Schema;
  readonly required?: readonly string[];
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly $ref?: string;
  readonly anyOf?: readonly Schema[];
  readonly allOf?: readonly Schema[];
  readonly definitions?: Readonly<Record<string, Schema>>;
}

const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Schema;

function resolved(node: Schema): Schema {
  if (!node.$ref) return node;
  const name = node.$ref.replace('#/definitions/', '');
  const target = schema.definitions?.[name];
  assert.ok(target, `${node.$ref} is not defined`);
  return resolved(target);
}

function serveOptions(): Option[] {
  const serve = buildProgram().commands.find((command) => command.name() === 'serve');
  assert.ok(serve);
  return serve.options.filter((option) => option.long !== undefined && option.long !== '--help');
}

const flagName = (option: Option): string => option.long!.replace(/^--/, '');

/** Schema paths a row of the chart README's table documents: objects of the chart's own (written out in the schema, not a shared definition) are split into their keys; Kubernetes objects, maps and lists are one row. */
const WHOLE = new Set(['serve', 'resources', 'podSecurityContext', 'securityContext', 'affinity', 'certificates.certManager.issuerRef']);
function documentedPaths(node: Schema, prefix = ''): string[] {
  const properties = node.properties;
  if (!properties || WHOLE.has(prefix)) return [prefix];
  return Object.entries(properties).flatMap(([key, child]) => documentedPaths(child, prefix ? `${prefix}.${key}` : key));
}

describe('charts/pod-identity-webhook values', () => {
  it('has a key under serve: for every serve flag, and no other', () => {
    const serve = values.serve as Record<string, unknown>;
    assert.deepEqual(Object.keys(serve).sort(), serveOptions().map(flagName).sort());
  });

  it('values.schema.json names every serve flag, and no other; port and metrics-port cannot be left out', () => {
    const serve = resolved(schema.properties!.serve!);
    assert.deepEqual(Object.keys(serve.properties!).sort(), serveOptions().map(flagName).sort());
    assert.equal(serve.additionalProperties, false);
    assert.deepEqual([...(serve.required ?? [])].sort(), ['metrics-port', 'port']);
  });

  it('a flag with choices has exactly the CLI\'s choices in the schema (and null)', () => {
    const serve = resolved(schema.properties!.serve!).properties!;
    const withChoices = serveOptions().filter((option) => option.argChoices !== undefined);
    assert.ok(withChoices.length >= 2, 'log-level and certificate-mode have choices');
    for (const option of withChoices) {
      assert.deepEqual(resolved(serve[flagName(option)]!).enum, [...option.argChoices!, null], flagName(option));
    }
  });

  it('an integer flag\'s range in the schema is one the CLI accepts at both ends and refuses just past the top', () => {
    const serve = resolved(schema.properties!.serve!).properties!;
    // The CLI takes port 0 (any free port, for tests); a Deployment's containerPort cannot.
    const stricterBelow = new Set(['port', 'metrics-port']);
    let checked = 0;
    for (const option of serveOptions()) {
      const flag = flagName(option);
      const property = resolved(serve[flag]!);
      const types = [property.type ?? []].flat();
      if (!types.includes('integer')) continue;
      checked += 1;
      const { minimum, maximum } = property;
      assert.ok(minimum !== undefined && maximum !== undefined, `${flag}: the schema bounds it`);
      const parse = (value: number): boolean => {
        try {
          option.parseArg!(String(value), undefined);
          return true;
        } catch {
          return false;
        }
      };
      assert.ok(parse(minimum) && parse(maximum), `${flag}: the CLI accepts ${minimum} and ${maximum}`);
      assert.equal(parse(maximum + 1), false, `${flag}: the CLI refuses ${maximum + 1}, so the schema could allow it`);
      if (!stricterBelow.has(flag)) assert.equal(parse(minimum - 1), false, `${flag}: the CLI refuses ${minimum - 1}, so the schema could allow it`);
    }
    assert.ok(checked >= 8, `${checked} integer flags`);
  });

  it('values.schema.json refuses unknown keys in every object of the chart\'s own, and knows every key values.yaml sets', () => {
    const walk = (node: Schema, value: unknown, path: string): void => {
      const own = resolved(node);
      if (own.properties) {
        assert.equal(own.additionalProperties, false, `${path || '(top)'} allows unknown keys`);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
        for (const [key, child] of Object.entries(value)) {
          const property = own.properties[key];
          assert.ok(property, `values.yaml sets ${path ? `${path}.` : ''}${key}, which the schema does not name`);
          walk(property, child, path ? `${path}.${key}` : key);
        }
      }
    };
    walk(schema, values, '');
  });

  it('the chart README has one row for every value, and none for a value the schema does not have', () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]!);
    assert.deepEqual([...rows].sort(), documentedPaths(schema).sort());
    assert.equal(new Set(rows).size, rows.length, 'a value has two rows');
  });
});
