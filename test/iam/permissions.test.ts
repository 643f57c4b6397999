import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluatePermissions, type NamedPolicy, parsePermissionPolicy, type PermissionPolicy, type PolicySet } from '../../src/shared/aws/iam-permissions.js';
import { assertBounded } from '../helpers/bounded.js';

function policy(statements: unknown[], version = '2012-10-17'): PermissionPolicy {
  const parsed = parsePermissionPolicy({ Version: version, Statement: statements });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value;
}
const named = (id: string, statements: unknown[]): NamedPolicy => ({ id, policy: policy(statements) });
const allow = (Action: unknown, Resource: unknown = '*', extra: Record<string, unknown> = {}) => ({ Effect: 'Allow', Action, Resource, ...extra });
const deny = (Action: unknown, Resource: unknown = '*', extra: Record<string, unknown> = {}) => ({ Effect: 'Deny', Action, Resource, ...extra });
const request = (action: string, resource = '*', context: Record<string, string | string[]> = {}) => ({
  action,
  resource,
  context: new Map(Object.entries(context).map(([key, value]) => [key.toLowerCase(), Array.isArray(value) ? value : [value]])),
});
const decide = (set: PolicySet, action: string, resource = '*', context: Record<string, string | string[]> = {}) => evaluatePermissions(set, request(action, resource, context)).decision;

const BUCKET = 'arn:aws:s3:::bucket';

describe('IAM permission policies', () => {
  describe('actions and resources', () => {
    const cases: Array<[string, unknown[], string, string, string]> = [
      ['exact action', [allow('s3:GetObject')], 's3:GetObject', '*', 'allowed'],
      ['actions are case-insensitive', [allow('S3:getobject')], 's3:GetObject', '*', 'allowed'],
      ['action wildcard', [allow('s3:Get*')], 's3:GetObjectAcl', '*', 'allowed'],
      ['action ? wildcard', [allow('s3:Get?bject')], 's3:GetObject', '*', 'allowed'],
      ['another action', [allow('s3:Get*')], 's3:PutObject', '*', 'implicitDeny'],
      ['action *', [allow('*')], 'ec2:RunInstances', '*', 'allowed'],
      ['NotAction covers the others', [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }], 's3:GetObject', '*', 'allowed'],
      ['NotAction excludes its own', [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }], 'iam:CreateUser', '*', 'implicitDeny'],
      ['resource ARN with a wildcard', [allow('s3:GetObject', `${BUCKET}/home/*`)], 's3:GetObject', `${BUCKET}/home/a/b`, 'allowed'],
      ['resource ARN elsewhere', [allow('s3:GetObject', `${BUCKET}/home/*`)], 's3:GetObject', `${BUCKET}/etc/x`, 'implicitDeny'],
      ['resource components: a wildcard does not cross a colon', [allow('iam:GetRole', 'arn:aws:iam::*:role/a')], 'iam:GetRole', 'arn:aws:iam::111122223333:role/a', 'allowed'],
      ['resource region wildcard', [allow('sqs:SendMessage', 'arn:aws:sqs:*:111122223333:q')], 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:111122223333:q', 'allowed'],
      ['resource account differs', [allow('sqs:SendMessage', 'arn:aws:sqs:*:111122223333:q')], 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:444455556666:q', 'implicitDeny'],
      ['resources are case-sensitive', [allow('s3:GetObject', `${BUCKET}/A`)], 's3:GetObject', `${BUCKET}/a`, 'implicitDeny'],
      ['NotResource covers the others', [{ Effect: 'Allow', Action: 's3:*', NotResource: `${BUCKET}/secret/*` }], 's3:GetObject', `${BUCKET}/public/x`, 'allowed'],
      ['NotResource excludes its own', [{ Effect: 'Allow', Action: 's3:*', NotResource: `${BUCKET}/secret/*` }], 's3:GetObject', `${BUCKET}/secret/x`, 'implicitDeny'],
      ['a specific resource does not match the request resource *', [allow('s3:ListAllMyBuckets', BUCKET)], 's3:ListAllMyBuckets', '*', 'implicitDeny'],
      ['no statement', [deny('s3:PutObject')], 's3:GetObject', '*', 'implicitDeny'],
    ];
    for (const [name, statements, action, resource, expected] of cases) {
      it(`${name} → ${expected}`, () => assert.equal(decide({ identityPolicies: [named('p', statements)] }, action, resource), expected));
    }
  });

  it('policy variables in Resource: the request value, the default, and no match without either', () => {
    const set = { identityPolicies: [named('home', [allow('s3:*', `${BUCKET}/home/\${aws:username}/*`), allow('s3:*', `${BUCKET}/team/\${aws:PrincipalTag/team, 'none'}/*`)])] };
    assert.equal(decide(set, 's3:GetObject', `${BUCKET}/home/alice/x`, { 'aws:username': 'alice' }), 'allowed');
    assert.equal(decide(set, 's3:GetObject', `${BUCKET}/home/bob/x`, { 'aws:username': 'alice' }), 'implicitDeny');
    assert.equal(decide(set, 's3:GetObject', `${BUCKET}/team/none/x`), 'allowed');
    assert.equal(decide(set, 's3:GetObject', `${BUCKET}/team/red/x`, { 'aws:PrincipalTag/team': 'red' }), 'allowed');
    const missing = evaluatePermissions(set, request('s3:GetObject', `${BUCKET}/home/alice/x`));
    assert.equal(missing.decision, 'implicitDeny');
    assert.deepEqual(missing.missingContextValues, ['aws:username']);
    // Version 2008-10-17 has no variables: the text is literal.
    const old = { identityPolicies: [{ id: 'old', policy: policy([allow('s3:*', `${BUCKET}/\${aws:username}`)], '2008-10-17') }] };
    assert.equal(decide(old, 's3:GetObject', `${BUCKET}/\${aws:username}`, { 'aws:username': 'alice' }), 'allowed');
  });

  it('an explicit Deny in any policy wins, and is what MatchedStatements names', () => {
    const set: PolicySet = {
      identityPolicies: [named('allow-all', [allow('*')]), named('no-delete', [{ Sid: 'NoDelete', ...deny('s3:Delete*') }])],
      boundary: named('boundary', [allow('*')]),
      sessionPolicies: [named('session', [allow('s3:*')])],
    };
    const decision = evaluatePermissions(set, request('s3:DeleteObject', `${BUCKET}/x`));
    assert.equal(decision.decision, 'explicitDeny');
    assert.deepEqual(
      decision.matchedStatements.map((statement) => [statement.policyId, statement.policyType, statement.sid, statement.index]),
      [['no-delete', 'identity', 'NoDelete', 0]],
    );
    for (const where of ['boundary', 'session'] as const) {
      const denying: PolicySet = { ...set, identityPolicies: [named('allow-all', [allow('*')])], [where === 'boundary' ? 'boundary' : 'sessionPolicies']: where === 'boundary' ? named('b', [allow('*'), deny('s3:GetObject')]) : [named('s', [allow('*'), deny('s3:GetObject')])] };
      const verdict = evaluatePermissions(denying, request('s3:GetObject'));
      assert.equal(verdict.decision, 'explicitDeny', where);
      assert.equal(verdict.matchedStatements[0]?.policyType, where);
    }
  });

  it('a permissions boundary and session policies each intersect with the identity policies', () => {
    const identity = [named('identity', [allow(['s3:*', 'sqs:*'])])];
    const boundary = named('boundary', [allow(['s3:*', 'ec2:*'])]);
    const sessionPolicies = [named('session-a', [allow('s3:GetObject')]), named('session-b', [allow('s3:PutObject')])];
    const cases: Array<[PolicySet, string, string]> = [
      [{ identityPolicies: identity, boundary }, 's3:GetObject', 'allowed'],
      [{ identityPolicies: identity, boundary }, 'sqs:SendMessage', 'implicitDeny'], // the boundary does not allow it
      [{ identityPolicies: identity, boundary }, 'ec2:RunInstances', 'implicitDeny'], // the boundary alone grants nothing
      [{ identityPolicies: identity, sessionPolicies }, 's3:GetObject', 'allowed'],
      [{ identityPolicies: identity, sessionPolicies }, 's3:PutObject', 'allowed'], // the session's policies together
      [{ identityPolicies: identity, sessionPolicies }, 's3:DeleteObject', 'implicitDeny'],
      [{ identityPolicies: identity, boundary, sessionPolicies }, 's3:GetObject', 'allowed'],
      [{ identityPolicies: [], sessionPolicies }, 's3:GetObject', 'implicitDeny'], // a session policy grants nothing alone
      [{ identityPolicies: identity, sessionPolicies: [] }, 'sqs:SendMessage', 'allowed'], // no session policy: no narrowing
    ];
    for (const [set, action, expected] of cases) assert.equal(decide(set, action), expected, `${action} with ${Object.keys(set).join('+')}`);
    const bounded = evaluatePermissions({ identityPolicies: identity, boundary }, request('sqs:SendMessage'));
    assert.equal(bounded.identity.decision, 'allowed');
    assert.equal(bounded.boundary?.decision, 'implicitDeny');
    assert.match(bounded.reason, /permissions boundary does not allow it/);
    const allowed = evaluatePermissions({ identityPolicies: identity, boundary, sessionPolicies }, request('s3:GetObject'));
    assert.deepEqual(allowed.matchedStatements.map((statement) => statement.policyType), ['identity', 'boundary', 'session']);
  });

  it('conditions decide statements; MissingContextValues lists the keys of matching statements the request lacked', () => {
    const set = {
      identityPolicies: [
        named('p', [
          allow('s3:GetObject', '*', { Condition: { Bool: { 'aws:SecureTransport': 'true' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }),
          allow('ec2:*', '*', { Condition: { StringEquals: { 'ec2:Region': 'eu-west-1' } } }), // another action: not a candidate
          deny('s3:GetObject', '*', { Condition: { NumericGreaterThan: { 's3:max-keys': '100' } } }),
        ]),
      ],
    };
    assert.equal(decide(set, 's3:GetObject', '*', { 'aws:SecureTransport': 'true', 'aws:SourceIp': '10.1.1.1' }), 'allowed');
    assert.equal(decide(set, 's3:GetObject', '*', { 'aws:SecureTransport': 'true', 'aws:SourceIp': '192.0.2.1' }), 'implicitDeny');
    assert.equal(decide(set, 's3:GetObject', '*', { 'aws:SecureTransport': 'true', 'aws:SourceIp': '10.1.1.1', 's3:max-keys': '500' }), 'explicitDeny');
    const lacking = evaluatePermissions(set, request('s3:GetObject', '*', { 'aws:SecureTransport': 'true' }));
    assert.equal(lacking.decision, 'implicitDeny');
    assert.deepEqual(lacking.missingContextValues, ['aws:SourceIp', 's3:max-keys']);
  });

  it('records where each statement is in the policy text (lines and columns from 1)', () => {
    const text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},\n    {\n      "Sid": "Two",\n      "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"\n    }\n  ]\n}\n';
    const parsed = parsePermissionPolicy(text);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.deepEqual(parsed.value.statements.map((statement) => statement.span), [
      { start: { line: 4, column: 5 }, end: { line: 4, column: 59 } },
      { start: { line: 5, column: 5 }, end: { line: 8, column: 6 } },
    ]);
    const single = parsePermissionPolicy('{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}');
    assert.ok(single.ok);
    assert.deepEqual(single.value.statements[0]?.span, { start: { line: 1, column: 15 }, end: { line: 1, column: 66 } });
  });

  it('refuses what it cannot evaluate, with one line naming the statement and field', () => {
    const cases: Array<[unknown, RegExp, number?]> = [
      [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Principal: '*' }] }, /Statement\[0\]: Principal is not supported in a permission policy/],
      [{ Statement: [{ Effect: 'Allow', Action: '*' }] }, /Statement\[0\] needs exactly one of Resource and NotResource/],
      [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', NotResource: '*' }] }, /exactly one of Resource and NotResource/],
      [{ Statement: [{ Effect: 'Allow', Resource: '*' }] }, /exactly one of Action and NotAction/],
      [{ Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] }, /Effect must be Allow or Deny/],
      [{ Statement: [{ Effect: 'Allow', Action: 's3 GetObject', Resource: '*' }] }, /Statement\[0\]\.Action: "s3 GetObject" is not an action/],
      [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: 'bucket' }] }, /Statement\[0\]\.Resource: "bucket" is not a resource/],
      [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateEquals: { 'aws:CurrentTime': 'soon' } } }] }, /Statement\[0\]\.Condition\.DateEquals\.aws:CurrentTime: DateEquals needs an ISO 8601 date/],
      [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Actions: 'x' }] }, /unknown field "Actions"/],
      [{ Statement: [{ Sid: 'A', Effect: 'Allow', Action: '*', Resource: '*' }, { Sid: 'A', Effect: 'Deny', Action: '*', Resource: '*' }] }, /the Sid A is used by two statements/],
      [{ Version: '2012-10-17' }, /has no Statement/],
      ['{"Statement": [', /invalid JSON/],
      ['{"Statement": {"Effect": "Allow", "Effect": "Deny", "Action": "*", "Resource": "*"}}', /Effect/],
      [{ Statement: [allow('*', `arn:aws:s3:::${'x'.repeat(300)}`)] }, /characters long without white space, more than 200/, 200],
      [{ Statement: Array.from({ length: 1001 }, () => allow('*')) }, /1001 statements, more than 1000/],
    ];
    for (const [document, expected, maxChars] of cases) {
      const parsed = parsePermissionPolicy(document, maxChars === undefined ? {} : { maxChars });
      assert.equal(parsed.ok, false, JSON.stringify(document).slice(0, 80));
      assert.match(parsed.ok ? '' : parsed.error, expected);
      assert.doesNotMatch(parsed.ok ? '' : parsed.error, /\n/);
    }
  });

  it('huge inputs are refused by size and hostile wildcards answer at once', () => {
    const huge = JSON.stringify({ Statement: [allow('*', `arn:aws:s3:::${'x'.repeat(2_000_000)}`)] });
    const refused = assertBounded(() => parsePermissionPolicy(huge), { milliseconds: 500, heapBytes: 64 * 1024 * 1024 }, 'a 2 MB policy');
    assert.equal(refused.ok, false);
    assert.match(refused.ok ? '' : refused.error, /more than 1048576/);
    const stars = `arn:aws:s3:::${'*a'.repeat(1000)}b`;
    const set = { identityPolicies: [named('stars', [allow('s3:*', stars, { Condition: { StringLike: { 's3:prefix': `${'*a'.repeat(1000)}b` } } })])] };
    const decision = assertBounded(() => evaluatePermissions(set, request('s3:GetObject', `arn:aws:s3:::${'a'.repeat(2000)}`, { 's3:prefix': 'a'.repeat(2000) })), { milliseconds: 2000 }, 'many stars against a long value');
    assert.equal(decision.decision, 'implicitDeny');
  });

  it('property: adding a Deny for the action never allows, adding an Allow never turns a Deny into an allow', () => {
    const action = fc.constantFrom('s3:GetObject', 's3:PutObject', 'sqs:SendMessage', 'ec2:RunInstances');
    const pattern = fc.constantFrom('*', 's3:*', 's3:Get*', 'sqs:SendMessage', 'ec2:*', 'iam:*');
    const statement = fc.record({ Effect: fc.constantFrom('Allow', 'Deny'), Action: pattern, Resource: fc.constant('*') });
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 6 }), action, (statements, wanted) => {
        const base = decide({ identityPolicies: [named('p', statements)] }, wanted);
        const denied = decide({ identityPolicies: [named('p', [...statements, deny(wanted)])] }, wanted);
        assert.equal(denied, 'explicitDeny');
        const allowedMore = decide({ identityPolicies: [named('p', [...statements, allow(wanted)])] }, wanted);
        assert.equal(allowedMore, base === 'explicitDeny' ? 'explicitDeny' : 'allowed');
        // A boundary of * never changes the decision; a boundary that allows nothing never allows.
        assert.equal(decide({ identityPolicies: [named('p', statements)], boundary: named('b', [allow('*')]) }, wanted), base);
        assert.notEqual(decide({ identityPolicies: [named('p', statements)], boundary: named('b', [allow('none:Nothing')]) }, wanted), 'allowed');
      }),
      { numRuns: 300 },
    );
  });
});
