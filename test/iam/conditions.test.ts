import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluateCondition, parseConditionBlock, readDate } from '../../src/shared/aws/iam-conditions.js';
import { permissionKeyProblem } from '../../src/shared/aws/iam-permissions.js';

const options = { variables: true, checkKey: permissionKeyProblem };

/** Whether `{operator: {key: policyValues}}` holds for a request where key has `contextValues` (undefined: absent). */
function holds(operator: string, policyValues: unknown, contextValues: readonly string[] | undefined, key = 'test:key', extra: ReadonlyMap<string, readonly string[]> = new Map()): boolean {
  const [condition] = parseConditionBlock({ [operator]: { [key]: policyValues } }, 'Condition', options);
  const context = new Map(extra);
  if (contextValues !== undefined) context.set(key.toLowerCase(), contextValues);
  return evaluateCondition(condition!, context).met;
}

type Case = [operator: string, policy: unknown, context: readonly string[] | undefined, expected: boolean];

const FAMILIES: Record<string, Case[]> = {
  String: [
    ['StringEquals', 'abc', ['abc'], true],
    ['StringEquals', 'a*', ['abc'], false], // no wildcards in Equals
    ['StringEquals', ['x', 'abc'], ['abc'], true],
    ['StringNotEquals', 'abc', ['abc'], false],
    ['StringNotEquals', 'abc', ['abd'], true],
    ['StringEqualsIgnoreCase', 'ABC', ['abc'], true],
    ['StringNotEqualsIgnoreCase', 'ABC', ['abc'], false],
    ['StringLike', 'a*c', ['abbbc'], true],
    ['StringLike', 'a?c', ['abbc'], false],
    ['StringNotLike', 'a*', ['abc'], false],
    ['StringNotLike', 'b*', ['abc'], true],
  ],
  Numeric: [
    ['NumericEquals', '10', ['10'], true],
    ['NumericEquals', '10', ['10.0'], true],
    ['NumericEquals', '10', ['11'], false],
    ['NumericNotEquals', '10', ['11'], true],
    ['NumericNotEquals', '10', ['10'], false],
    ['NumericLessThan', '10', ['9'], true],
    ['NumericLessThan', '10', ['10'], false],
    ['NumericLessThanEquals', '10', ['10'], true],
    ['NumericLessThanEquals', '10', ['10.5'], false],
    ['NumericGreaterThan', '10', ['10.5'], true],
    ['NumericGreaterThan', '10', ['10'], false],
    ['NumericGreaterThanEquals', '-2', ['-2'], true],
    ['NumericGreaterThanEquals', '-2', ['-3'], false],
    ['NumericEquals', 10, ['ten'], false], // an unreadable request value fails the condition
    ['NumericNotEquals', 10, ['ten'], false],
  ],
  Date: [
    ['DateEquals', '2026-01-01T00:00:00Z', ['1767225600'], true], // ISO against epoch seconds
    ['DateEquals', '2026-01-01', ['2026-01-01T00:00:00Z'], true],
    ['DateEquals', '2026-01-01T01:00:00+01:00', ['2026-01-01T00:00:00Z'], true],
    ['DateNotEquals', '2026-01-01', ['2026-01-02'], true],
    ['DateNotEquals', '2026-01-01', ['2026-01-01T00:00:00.000Z'], false],
    ['DateLessThan', '2026-06-01T00:00:00Z', ['2026-05-31T23:59:59Z'], true],
    ['DateLessThan', '2026-06-01T00:00:00Z', ['2026-06-01T00:00:00Z'], false],
    ['DateLessThanEquals', '2026-06-01T00:00:00Z', ['2026-06-01T00:00:00Z'], true],
    ['DateGreaterThan', '2026-06-01', ['2026-06-01T00:00:01Z'], true],
    ['DateGreaterThan', '2026-06-01', ['2026-05-01'], false],
    ['DateGreaterThanEquals', '1767225600', ['2026-01-01T00:00:00Z'], true],
    ['DateGreaterThanEquals', '1767225600', ['2025-12-31T23:59:59Z'], false],
    ['DateEquals', '2026-01-01', ['yesterday'], false],
  ],
  Bool: [
    ['Bool', 'true', ['true'], true],
    ['Bool', 'true', ['TRUE'], true],
    ['Bool', 'false', ['true'], false],
    ['Bool', true, ['true'], true],
    ['Bool', 'true', ['yes'], false],
  ],
  Binary: [
    ['BinaryEquals', 'QmluYXJ5', ['QmluYXJ5'], true],
    ['BinaryEquals', 'QmluYXJ5', ['QmluYXJ6'], false],
    ['BinaryEquals', 'QmluYXJ5', ['not base64!'], false],
  ],
  Ip: [
    ['IpAddress', '203.0.113.0/24', ['203.0.113.7'], true],
    ['IpAddress', '203.0.113.0/24', ['203.0.114.7'], false],
    ['IpAddress', '203.0.113.7', ['203.0.113.7'], true],
    ['IpAddress', '2001:db8::/32', ['2001:db8:1::5'], true],
    ['IpAddress', '2001:db8::/32', ['2001:db9::5'], false],
    ['IpAddress', ['2001:db8::/32', '10.0.0.0/8'], ['10.1.2.3'], true],
    ['IpAddress', '10.0.0.0/8', ['2001:db8::1'], false],
    ['NotIpAddress', '10.0.0.0/8', ['192.0.2.1'], true],
    ['NotIpAddress', '10.0.0.0/8', ['10.0.0.1'], false],
    ['IpAddress', '10.0.0.0/8', ['not-an-ip'], false],
  ],
  Arn: [
    ['ArnEquals', 'arn:aws:iam::111122223333:role/a', ['arn:aws:iam::111122223333:role/a'], true],
    ['ArnLike', 'arn:aws:iam::*:role/a*', ['arn:aws:iam::111122223333:role/app'], true],
    ['ArnLike', 'arn:aws:iam::*:role/a*', ['arn:aws:sts::111122223333:role/app'], false],
    ['ArnNotEquals', 'arn:aws:iam::111122223333:role/a', ['arn:aws:iam::111122223333:role/b'], true],
    ['ArnNotLike', 'arn:aws:iam::*:role/*', ['arn:aws:iam::1:role/x'], false],
  ],
  Null: [
    ['Null', 'true', undefined, true],
    ['Null', 'true', ['x'], false],
    ['Null', 'false', ['x'], true],
    ['Null', 'false', undefined, false],
  ],
  'IfExists and absent keys': [
    ['StringEqualsIfExists', 'a', undefined, true],
    ['StringEqualsIfExists', 'a', ['b'], false],
    ['NumericLessThanIfExists', '5', undefined, true],
    ['StringEquals', 'a', undefined, false],
    ['StringNotEquals', 'a', undefined, true], // negated operators hold on an absent key
    ['DateLessThan', '2026-01-01', undefined, false],
    ['IpAddressIfExists', '10.0.0.0/8', ['10.0.0.1'], true],
  ],
  'set qualifiers': [
    ['ForAnyValue:StringEquals', ['a', 'b'], ['c', 'b'], true],
    ['ForAnyValue:StringEquals', ['a', 'b'], ['c', 'd'], false],
    ['ForAnyValue:StringEquals', ['a'], undefined, false],
    ['ForAllValues:StringEquals', ['a', 'b'], ['a', 'b'], true],
    ['ForAllValues:StringEquals', ['a', 'b'], ['a', 'c'], false],
    ['ForAllValues:StringEquals', ['a'], undefined, true], // the empty set
    ['ForAllValues:StringNotEquals', ['a'], ['b', 'c'], true],
    ['ForAnyValue:StringNotEquals', ['a'], ['a', 'c'], true],
    ['ForAnyValue:NumericGreaterThan', '5', ['1', '9'], true],
    ['ForAllValues:IpAddress', '10.0.0.0/8', ['10.0.0.1', '10.9.9.9'], true],
    ['ForAllValues:IpAddress', '10.0.0.0/8', ['10.0.0.1', '11.0.0.1'], false],
    ['StringEquals', 'a', ['b', 'a'], true], // no qualifier on a multi-valued key: any
  ],
};

describe('IAM condition operators', () => {
  for (const [family, cases] of Object.entries(FAMILIES)) {
    describe(family, () => {
      for (const [operator, policy, context, expected] of cases) {
        it(`${operator} ${JSON.stringify(policy)} vs ${context === undefined ? 'absent' : JSON.stringify(context)} → ${expected}`, () => {
          assert.equal(holds(operator, policy, context), expected);
        });
      }
    });
  }

  it('policy variables in string and ARN values, with defaults and the literal ${*}', () => {
    const context = new Map([['aws:username', ['alice']]]);
    assert.equal(holds('StringEquals', 'home/${aws:username}', ['home/alice'], 'test:key', context), true);
    assert.equal(holds('StringEquals', 'home/${aws:username}', ['home/bob'], 'test:key', context), false);
    assert.equal(holds('StringEquals', "${aws:PrincipalTag/team, 'none'}", ['none'], 'test:key', context), true);
    assert.equal(holds('StringLike', 'a${*}', ['a*'], 'test:key'), true);
    assert.equal(holds('StringLike', 'a${*}', ['ab'], 'test:key'), false);
    const [condition] = parseConditionBlock({ StringEquals: { 'test:key': '${aws:userid}' } }, 'Condition', options);
    const verdict = evaluateCondition(condition!, new Map([['test:key', ['x']]]));
    assert.equal(verdict.met, false);
    assert.deepEqual(verdict.missingKeys, ['aws:userid']);
  });

  it('refuses values its operator cannot compare, at parse, naming the operator and value', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ NumericEquals: { 'a:b': 'ten' } }, /NumericEquals needs a number, got "ten"/],
      [{ DateLessThan: { 'a:b': '2026-13-01' } }, /DateLessThan needs an ISO 8601 date/],
      [{ DateLessThan: { 'a:b': '2026-02-30' } }, /DateLessThan needs an ISO 8601 date/],
      [{ Bool: { 'a:b': 'yes' } }, /Bool needs "true" or "false"/],
      [{ BinaryEquals: { 'a:b': 'not base64' } }, /BinaryEquals needs base64/],
      [{ IpAddress: { 'a:b': '10.0.0.0/33' } }, /IpAddress needs an IPv4 or IPv6 address or CIDR block/],
      [{ IpAddress: { 'a:b': '2001:db8::/129' } }, /IpAddress needs an IPv4 or IPv6/],
      [{ IpAddress: { 'a:b': 'example.com' } }, /IpAddress needs an IPv4 or IPv6/],
      [{ NullIfExists: { 'a:b': 'true' } }, /unsupported condition operator "NullIfExists"/],
      [{ 'ForAnyValue:Null': { 'a:b': 'true' } }, /unsupported condition operator/],
      [{ StringEqualz: { 'a:b': 'x' } }, /unsupported condition operator "StringEqualz"/],
      [{ StringEquals: { 'no-colon': 'x' } }, /is not a condition key/],
      [{ StringEquals: { 'a:b': [] } }, /must be a string or a non-empty list/],
      [{ StringEquals: { 'a:b': 'x'.repeat(5000) } }, /5000 characters long, more than 4096/],
      [{ StringEquals: { 'a:b': '${a:b' } }, /unclosed/],
    ];
    for (const [block, expected] of cases) {
      assert.throws(() => parseConditionBlock(block, 'Condition', options), expected, JSON.stringify(block).slice(0, 80));
    }
  });

  it('reads dates as ISO 8601 (UTC unless an offset is given) or epoch seconds', () => {
    assert.equal(readDate('2026-01-01'), Date.UTC(2026, 0, 1));
    assert.equal(readDate('2026-01-01T12:30'), Date.UTC(2026, 0, 1, 12, 30));
    assert.equal(readDate('2026-01-01T12:30:15.250Z'), Date.UTC(2026, 0, 1, 12, 30, 15, 250));
    assert.equal(readDate('2026-01-01T12:30:15-0200'), Date.UTC(2026, 0, 1, 14, 30, 15));
    assert.equal(readDate('0'), 0);
    assert.equal(readDate('2026/01/01'), undefined);
    assert.equal(readDate('2026-02-29T10:00:00+01:00'), undefined); // 2026 is not a leap year
    assert.equal(readDate('2028-02-29'), Date.UTC(2028, 1, 29));
    assert.equal(readDate('2026-13-01'), undefined);
  });

  it('property: a negated operator is the complement of its positive one on a present single value', () => {
    const pairs = [
      ['StringEquals', 'StringNotEquals'],
      ['StringLike', 'StringNotLike'],
      ['StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase'],
      ['NumericEquals', 'NumericNotEquals'],
      ['IpAddress', 'NotIpAddress'],
    ] as const;
    const valueFor = (operator: string) =>
      operator.startsWith('Numeric') ? fc.integer({ min: -5, max: 5 }).map(String)
      : operator.endsWith('IpAddress') ? fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).map(([a, b]) => `10.0.${a}.${b}`)
      : fc.stringMatching(/^[ab*?]{0,4}$/);
    for (const [positive, negative] of pairs) {
      fc.assert(
        fc.property(valueFor(positive), valueFor(positive).map((value) => value.replace(/[*?]/g, 'a')), (policy, request) => {
          assert.equal(holds(positive, policy, [request]), !holds(negative, policy, [request]));
        }),
        { numRuns: 200 },
      );
    }
  });

  it('property: numeric comparisons agree with JavaScript numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), (wanted, actual) => {
        const request = [String(actual)];
        assert.equal(holds('NumericLessThan', String(wanted), request), actual < wanted);
        assert.equal(holds('NumericGreaterThanEquals', String(wanted), request), actual >= wanted);
        assert.equal(holds('DateLessThan', String(wanted), request), actual < wanted);
      }),
      { numRuns: 200 },
    );
  });
});
