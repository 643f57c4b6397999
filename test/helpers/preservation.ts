import assert from 'node:assert/strict';

/**
 * Asserts that `after` keeps every field of `before` unchanged: objects may gain keys, arrays may
 * gain elements at the end, nothing else may differ. `mayChange` lists JSON paths (dot/bracket
 * form, as reported) whose values are allowed to differ.
 */
export function assertOnlyAdditions(before: unknown, after: unknown, mayChange: ReadonlySet<string> = new Set(), path = '$'): void {
  if (mayChange.has(path)) return;
  if (Array.isArray(before)) {
    assert.ok(Array.isArray(after), `${path}: was an array, now ${JSON.stringify(after)}`);
    assert.ok(after.length >= before.length, `${path}: lost elements`);
    before.forEach((item, index) => assertOnlyAdditions(item, after[index], mayChange, `${path}[${index}]`));
    return;
  }
  if (typeof before === 'object' && before !== null) {
    assert.ok(typeof after === 'object' && after !== null && !Array.isArray(after), `${path}: was an object`);
    for (const [key, value] of Object.entries(before)) {
      assert.ok(Object.hasOwn(after, key), `${path}.${key}: field was dropped`);
      assertOnlyAdditions(value, (after as Record<string, unknown>)[key], mayChange, `${path}.${key}`);
    }
    return;
  }
  assert.deepEqual(after, before, `${path}: value changed`);
}
