import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseJsonText, parseYaml, parseYamlDocuments } from '../../src/shared/yaml.js';
import { ALIAS_BOMB } from '../helpers/hostile-files.js';
import { assertBounded } from '../helpers/bounded.js';

describe('YAML and JSON text from untrusted files', () => {
  it('refuses an alias bomb with one line instead of throwing or expanding it', () => {
    const parsed = parseYaml(ALIAS_BOMB, 'bomb.yaml');
    assert.deepEqual(parsed, { ok: false, error: 'bomb.yaml: invalid YAML: more than 100 alias expansions (an alias bomb?)' });
  });

  it('refuses a repeated key and names its path', () => {
    const text = 'Statement:\n  - Condition:\n      StringEquals: {a: 1}\n      StringEquals: {b: 2}\n';
    const parsed = parseYaml(text, 'policy.yaml');
    assert.ok(!parsed.ok);
    assert.equal(parsed.error, 'policy.yaml: invalid YAML: the key "StringEquals" appears twice at Statement[0].Condition (Statement[0].Condition.StringEquals)');
  });

  it('refuses repeated keys in JSON text, which JSON.parse would silently merge', () => {
    const text = '{"Statement":[{"Condition":{"StringEquals":{"x:sub":"only-this"},"StringEquals":{"x:aud":"sts"}}}]}';
    assert.deepEqual(JSON.parse(text).Statement[0].Condition, { StringEquals: { 'x:aud': 'sts' } }, 'JSON.parse drops the first');
    const parsed = parseJsonText(text, 'trustPolicy');
    assert.ok(!parsed.ok);
    assert.match(parsed.error, /^trustPolicy: invalid JSON: the key "StringEquals" appears twice at Statement\[0\]\.Condition/);
    assert.deepEqual(parseJsonText('{"a":{"b":1},"c":[{"b":2}]}'), { ok: true, value: { a: { b: 1 }, c: [{ b: 2 }] } });
    assert.match((parseJsonText('{"a": 1,}') as { error: string }).error, /^invalid JSON: /);
  });

  it('finds a repeated key however the text hides it, and passes colons and quotes inside strings', () => {
    const repeated = ['{"a":1,"a":2}', '[{"x":{"b":1,"b":2}}]', '{"__proto__":1,"__proto__":2}', '{"k\\u0061":1,"ka":2}', '{"s":"\\"","s":0}'];
    for (const text of repeated) {
      const parsed = parseJsonText(text);
      assert.ok(!parsed.ok, text);
      assert.match(parsed.error, /appears twice/, text);
    }
    for (const text of ['{"a":"x:y","b":"\\":"}', '[{"a":1},{"a":2}]', '{"a":{"a":{"a":1}}}', '"::"', '{"\\\\":1,"\\\\b":2}']) {
      assert.deepEqual(parseJsonText(text), { ok: true, value: JSON.parse(text) as unknown }, text);
    }
    const deep = parseJsonText(`${'['.repeat(300)}${']'.repeat(300)}`);
    assert.ok(!deep.ok);
    assert.match(deep.error, /nested deeper than 256 levels/);
  });

  it('ends a syntax error with its line and column, not a dangling colon', () => {
    const parsed = parseYaml('kind: Pod\nspec: [unclosed\n', 'pod.yaml');
    assert.ok(!parsed.ok);
    assert.match(parsed.error, /^pod\.yaml: invalid YAML: .+ at line \d+, column \d+$/);
  });

  it('bounds nesting and says which document of several is wrong', () => {
    const deep = parseYaml(`${'- '.repeat(300)}x\n`);
    assert.ok(!deep.ok);
    assert.match(deep.error, /nested deeper than 256 levels/);
    const several = parseYamlDocuments('a: 1\n---\nb: [\n', 'two.yaml');
    assert.ok(!several.ok);
    assert.match(several.error, /\(document 2\)$/);
    assert.deepEqual(parseYamlDocuments('a: 1\n---\n---\nb: 2\n'), { ok: true, value: [{ a: 1 }, null, { b: 2 }] });
    assert.match((parseYaml('a: 1\n---\nb: 2\n', 'x') as { error: string }).error, /^x: holds 2 YAML documents, expected one$/);
  });

  it('never throws, and stays fast and small on any text (fuzzed)', () => {
    const fragments = fc.constantFrom('&a ', '*a ', '[', ']', '{', '}', ': ', '- ', '\n', '  ', '"', "'", '#', '---\n', 'key', '<<: *a', '!!binary ', '? ', '\t', '%YAML 1.2\n');
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.array(fragments, { maxLength: 200 }).map((parts) => parts.join('')));
    fc.assert(
      fc.property(text, (input) => {
        assertBounded(() => {
          parseYamlDocuments(input, 'fuzz');
          parseJsonText(input, 'fuzz');
        }, { milliseconds: 500, heapBytes: 64 * 1024 * 1024 });
      }),
      { numRuns: 400 },
    );
  });
});
