import assert from 'node:assert/strict';
import { sessionTagsProblem } from '../../src/lab/sts/session-tags.js';
import { assertBounded } from '../helpers/bounded.js';

const tag = (key: string, value: string) => ({ key, value });

describe("STS's session tag limits (one check, used by every lab call that passes tags)", () => {
  it('accepts what STS accepts: 50 tags, keys of 128 characters, values of 256 (code points) or empty, letters of any script', () => {
    const fifty = Array.from({ length: 50 }, (_, index) => tag(`k${index}`, 'v'));
    assert.equal(sessionTagsProblem(fifty, fifty.map((item) => item.key)), undefined);
    assert.equal(sessionTagsProblem([tag('k'.repeat(128), 'v'.repeat(256))], []), undefined);
    assert.equal(sessionTagsProblem([tag('équipe', '𝒜'.repeat(256))], []), undefined, '256 characters of two UTF-16 units each');
    assert.equal(sessionTagsProblem([tag('team', '')], []), undefined);
    assert.equal(sessionTagsProblem([tag('eks-cluster-arn', 'arn:aws:eks:us-east-1:111122223333:cluster/lab'), tag('a b_.:/=+-@', 'x y')], []), undefined);
  });

  it("refuses what STS refuses, with STS's validation message naming the member", () => {
    const cases: Array<[Array<{ key: string; value: string }>, string[], RegExp]> = [
      [Array.from({ length: 51 }, (_, index) => tag(`k${index}`, 'v')), [], /at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/],
      [[tag('a', 'v')], Array.from({ length: 51 }, (_, index) => `k${index}`), /at 'transitiveTagKeys' .* less than or equal to 50$/],
      [[tag('a', 'v'), tag('k'.repeat(129), 'v')], [], /at 'tags\.2\.member\.key' failed to satisfy constraint: Member must have length less than or equal to 128$/],
      [[tag('', 'v')], [], /at 'tags\.1\.member\.key' .* greater than or equal to 1$/],
      [[tag('k', 'v'.repeat(257))], [], /^1 validation error detected: Value 'v{100}…' at 'tags\.1\.member\.value' failed to satisfy constraint: Member must have length less than or equal to 256$/],
      [[tag('k', '𝒜'.repeat(257))], [], /less than or equal to 256$/],
      [[tag('k', 'a<b')], [], /at 'tags\.1\.member\.value' failed to satisfy constraint: Member must satisfy regular expression pattern/],
      [[tag('k\n', 'v')], [], /at 'tags\.1\.member\.key' failed to satisfy constraint: Member must satisfy regular expression pattern/],
      [[tag('aws:foo', 'v')], [], /reserved for AWS/],
      [[tag('AWS:foo', 'v')], [], /reserved for AWS/],
      [[tag('Team', 'a'), tag('team', 'b')], [], /^Duplicate tag keys found: team \(tag keys are case-insensitive\)$/],
    ];
    for (const [tags, transitive, expected] of cases) {
      const problem = sessionTagsProblem(tags, transitive);
      assert.ok(problem !== undefined && expected.test(problem), `${JSON.stringify(tags).slice(0, 80)}: ${problem}`);
    }
  });

  it('stays fast and quotes at most 100 characters of a huge value', () => {
    for (const value of ['a'.repeat(1_000_000), `${'a'.repeat(200)}<`, '😀'.repeat(500_000)]) {
      const problem = assertBounded(() => sessionTagsProblem([tag('k', value)], []), { milliseconds: 250 }, `a value of ${value.length} units`);
      assert.ok(problem !== undefined && problem.length < 400, problem);
    }
  });
});
