import assert from 'node:assert/strict';
import { parseLabConfig } from '../../src/lab/sts/config.js';
import { evaluateCondition, evaluateTrustPolicy, parseTrustPolicy, type TrustPolicy } from '../../src/shared/aws/iam-policy.js';

const PROVIDER = 'oidc.example.com/id/ABC';
const PRINCIPAL = `arn:aws:iam::111122223333:oidc-provider/${PROVIDER}`;

function policy(statements: unknown[]): TrustPolicy {
  const parsed = parseTrustPolicy({ Version: '2012-10-17', Statement: statements });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value;
}

function request(sub: string, aud = 'sts.amazonaws.com', principal = PRINCIPAL) {
  return {
    action: 'sts:AssumeRoleWithWebIdentity',
    principal: { type: 'Federated' as const, ids: [principal] },
    context: new Map([
      [`${PROVIDER.toLowerCase()}:sub`, [sub]],
      [`${PROVIDER.toLowerCase()}:aud`, [aud]],
    ]),
  };
}

const allow = (condition: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal: { Federated: PRINCIPAL },
  Action: 'sts:AssumeRoleWithWebIdentity',
  Condition: condition,
  ...extra,
});

describe('IAM trust policy evaluation', () => {
  it('StringEquals on sub and aud (keys are case-insensitive)', () => {
    const p = policy([allow({ StringEquals: { [`${PROVIDER.toUpperCase()}:SUB`]: 'system:serviceaccount:ns:app', [`${PROVIDER}:aud`]: 'sts.amazonaws.com' } })]);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:ns:app')).allowed, true);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:ns:other')).allowed, false);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:ns:app', 'other')).allowed, false);
  });

  it('StringLike with * and ?', () => {
    const p = policy([allow({ StringLike: { [`${PROVIDER}:sub`]: 'system:serviceaccount:team-?:*' } })]);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:team-a:reader')).allowed, true);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:team-ab:reader')).allowed, false);
    // Regular-expression characters are literal.
    const dots = policy([allow({ StringLike: { [`${PROVIDER}:sub`]: 'a.b' } })]);
    assert.equal(evaluateTrustPolicy(dots, request('axb')).allowed, false);
  });

  it('a list of values is an OR; several keys and operators are an AND', () => {
    const p = policy([
      allow({
        StringEquals: { [`${PROVIDER}:sub`]: ['system:serviceaccount:a:x', 'system:serviceaccount:b:x'] },
        StringNotEquals: { [`${PROVIDER}:aud`]: 'blocked' },
      }),
    ]);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:b:x')).allowed, true);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:b:x', 'blocked')).allowed, false);
  });

  it('an explicit Deny wins over any Allow', () => {
    const p = policy([
      allow({ StringLike: { [`${PROVIDER}:sub`]: '*' } }),
      { Sid: 'NoAdmins', Effect: 'Deny', Principal: '*', Action: 'sts:*', Condition: { StringLike: { [`${PROVIDER}:sub`]: '*:admin' } } },
    ]);
    assert.equal(evaluateTrustPolicy(p, request('system:serviceaccount:a:x')).allowed, true);
    const { allowed, reason } = evaluateTrustPolicy(p, request('system:serviceaccount:a:admin')) as { allowed: boolean; reason: string };
    assert.deepEqual({ allowed, reason }, { allowed: false, reason: 'explicitly denied by statement NoAdmins' });
  });

  it('the principal must be the federated provider; the action must match', () => {
    const p = policy([allow({})]);
    assert.equal(evaluateTrustPolicy(p, request('s', 'sts.amazonaws.com', 'arn:aws:iam::111122223333:oidc-provider/other')).allowed, false);
    const wrongAction = policy([{ ...allow({}), Action: 'sts:AssumeRole' }]);
    assert.equal(evaluateTrustPolicy(wrongAction, request('s')).allowed, false);
    const wildcard = policy([{ ...allow({}), Action: ['sts:Assume*'] }]);
    assert.equal(evaluateTrustPolicy(wildcard, request('s')).allowed, true);
  });

  it('explains a refusal for the logs', () => {
    const p = policy([allow({ StringEquals: { [`${PROVIDER}:sub`]: 'system:serviceaccount:ns:app' } })]);
    const { allowed, reason } = evaluateTrustPolicy(p, request('system:serviceaccount:ns:evil')) as { allowed: boolean; reason: string };
    assert.deepEqual({ allowed, reason }, {
      allowed: false,
      reason: `no statement allows it (statement 0: condition StringEquals ${PROVIDER}:sub not met (value: system:serviceaccount:ns:evil))`,
    });
  });

  describe('set operators and IfExists on missing and multi-valued keys', () => {
    const condition = (operator: string, values: string[]) => {
      const p = policy([allow({ [operator]: { 'aws:TagKeys': values } })]);
      return p.statements[0]!.conditions[0]!;
    };
    const context = (values?: string[]) => new Map(values ? [['aws:tagkeys', values]] : []);
    const table: Array<[string, string[], string[] | undefined, boolean]> = [
      ['StringEquals', ['a'], undefined, false],
      ['StringEqualsIfExists', ['a'], undefined, true],
      ['StringNotEquals', ['a'], undefined, true],
      ['StringNotEquals', ['a'], ['a'], false],
      ['StringNotEquals', ['a'], ['b'], true],
      ['ForAnyValue:StringEquals', ['a'], ['b', 'a'], true],
      ['ForAnyValue:StringEquals', ['a'], ['b', 'c'], false],
      ['ForAnyValue:StringEquals', ['a'], undefined, false],
      ['ForAllValues:StringEquals', ['a', 'b'], ['a', 'b'], true],
      ['ForAllValues:StringEquals', ['a'], ['a', 'b'], false],
      ['ForAllValues:StringEquals', ['a'], undefined, true],
      ['ForAnyValue:StringLike', ['x*'], ['a', 'xy'], true],
      ['ForAllValues:StringNotLike', ['x*'], ['a', 'b'], true],
      ['StringEqualsIgnoreCase', ['ABC'], ['abc'], true],
      ['StringNotEqualsIgnoreCase', ['ABC'], ['abc'], false],
    ];
    for (const [operator, values, contextValues, expected] of table) {
      it(`${operator} ${JSON.stringify(values)} vs ${JSON.stringify(contextValues ?? null)} → ${expected}`, () => {
        assert.equal(evaluateCondition(condition(operator, values), context(contextValues)).met, expected);
      });
    }
  });

  describe('semantics as IAM has them (issue 14)', () => {
    const webIdentity = (sub: string, extra: Array<[string, string[]]> = []) => ({
      ...request(sub),
      context: new Map([...request(sub).context, ['aws:federatedprovider', [PRINCIPAL]], ['sts:rolesessionname', ['botocore-session-1']], ...extra]),
    });

    it('a Deny for Principal {"AWS": "*"} applies to web identity callers, as "*" does', () => {
      const p = policy([allow({}), { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRoleWithWebIdentity', Condition: { StringLike: { [`${PROVIDER}:sub`]: '*:kube-system:*' } } }]);
      assert.equal(evaluateTrustPolicy(p, webIdentity('system:serviceaccount:kube-system:x')).allowed, false);
      assert.equal(evaluateTrustPolicy(p, webIdentity('system:serviceaccount:default:x')).allowed, true);
      const allowAnyone = policy([{ Effect: 'Allow', Principal: { AWS: ['*'] }, Action: 'sts:AssumeRoleWithWebIdentity' }]);
      assert.equal(evaluateTrustPolicy(allowAnyone, webIdentity('s')).allowed, true);
    });

    it('conditions on the session name and the federated provider see the values STS gives them', () => {
      const p = policy([
        allow({ ArnEquals: { 'aws:FederatedProvider': PRINCIPAL } }),
        { Effect: 'Deny', Principal: '*', Action: 'sts:*', Condition: { StringLike: { 'sts:RoleSessionName': 'botocore-*' } } },
      ]);
      assert.equal(evaluateTrustPolicy(p, webIdentity('s')).allowed, false, 'the Deny on the session name applies');
      const other = webIdentity('s', [['sts:rolesessionname', ['aws-sdk-js-1']]]);
      assert.equal(evaluateTrustPolicy(p, other).allowed, true);
      const wrongProvider = webIdentity('s', [['aws:federatedprovider', ['arn:aws:iam::111122223333:oidc-provider/other']]]);
      assert.equal(evaluateTrustPolicy(p, { ...wrongProvider, context: new Map([...wrongProvider.context, ['sts:rolesessionname', ['x1']]]) }).allowed, false);
    });

    it('policy variables: ${*} is a literal star, ${key} is the request value (Version 2012-10-17 only)', () => {
      const literalStar = policy([allow({ StringLike: { [`${PROVIDER}:sub`]: 'system:serviceaccount:ns:${*}' } })]);
      assert.equal(evaluateTrustPolicy(literalStar, webIdentity('system:serviceaccount:ns:anything')).allowed, false);
      assert.equal(evaluateTrustPolicy(literalStar, webIdentity('system:serviceaccount:ns:*')).allowed, true);
      const sessionIsSub = policy([allow({ StringEquals: { 'sts:RoleSessionName': '${' + PROVIDER + ':aud}' } })]);
      assert.equal(evaluateTrustPolicy(sessionIsSub, webIdentity('s', [['sts:rolesessionname', ['sts.amazonaws.com']]])).allowed, true);
      assert.equal(evaluateTrustPolicy(sessionIsSub, webIdentity('s')).allowed, false);
      const withDefault = policy([allow({ StringEquals: { [`${PROVIDER}:sub`]: "${aws:PrincipalArn, 'nobody'}" } })]);
      assert.equal(evaluateTrustPolicy(withDefault, webIdentity('nobody')).allowed, true);
      const old = parseTrustPolicy({ Version: '2008-10-17', Statement: [allow({ StringEquals: { [`${PROVIDER}:sub`]: '${anything goes}' } })] });
      assert.ok(old.ok, 'Version 2008-10-17 has no policy variables: the text is literal');
      assert.equal(evaluateTrustPolicy(old.value, webIdentity('${anything goes}')).allowed, true);
    });

    it('NotAction covers every other action; Null tests presence', () => {
      const p = policy([{ ...allow({ Null: { [`${PROVIDER}:amr`]: 'true' } }), Action: undefined, NotAction: 'sts:AssumeRole' }]);
      assert.equal(evaluateTrustPolicy(p, webIdentity('s')).allowed, true);
      assert.equal(evaluateTrustPolicy(p, webIdentity('s', [[`${PROVIDER.toLowerCase()}:amr`, ['mfa']]])).allowed, false);
      assert.equal(evaluateTrustPolicy(p, { ...webIdentity('s'), action: 'sts:AssumeRole' }).allowed, false);
    });

    it('wildcards never backtrack: many stars against a long value answer at once', () => {
      const stars = policy([allow({ StringLike: { [`${PROVIDER}:sub`]: `${'*a'.repeat(12)}*b` } })]);
      const started = performance.now();
      assert.equal(evaluateTrustPolicy(stars, webIdentity('a'.repeat(20_000))).allowed, false);
      assert.equal(evaluateTrustPolicy(stars, webIdentity(`${'a'.repeat(20_000)}b`)).allowed, true);
      assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
    });

    it('reports every statement and condition with the value it saw (for explanations)', () => {
      const p = policy([allow({ StringEquals: { [`${PROVIDER}:sub`]: 'system:serviceaccount:ns:app', [`${PROVIDER}:aud`]: 'sts.amazonaws.com' } })]);
      const decision = evaluateTrustPolicy(p, webIdentity('system:serviceaccount:ns:other'));
      const [statement] = decision.statements;
      assert.equal(statement?.applies, false);
      assert.deepEqual(
        statement?.conditions.map((verdict) => [verdict.condition.source, verdict.contextValues, verdict.met]),
        [
          [`StringEquals ${PROVIDER}:sub`, ['system:serviceaccount:ns:other'], false],
          [`StringEquals ${PROVIDER}:aud`, ['sts.amazonaws.com'], true],
        ],
      );
    });
  });

  it('refuses policies it cannot evaluate faithfully', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ Statement: [allow({ NumericLessThanOrSo: { x: '1' } })] }, /unsupported condition operator "NumericLessThanOrSo"/],
      [{ Statement: [allow({ NumericLessThan: { [`${PROVIDER}:sub`]: 'one' } })] }, /NumericLessThan needs a number, got "one"/],
      [{ Statement: [{ ...allow({}), NotAction: 'x' }] }, /needs exactly one of Action and NotAction/],
      [{ Statement: [{ ...allow({}), NotPrincipal: { AWS: 'x' } }] }, /NotPrincipal is not supported/],
      [{ Statement: [{ Effect: 'Allow', Principal: { CanonicalUser: 'x' }, Action: 'a' }] }, /Principal: CanonicalUser is not supported/],
      [{ Version: '1999', Statement: [allow({})] }, /Version must be 2012-10-17 or 2008-10-17, got "1999"/],
      [{ Statement: [allow({ StringEquals: { 'aws:SourceIp': '10.0.0.1' } })] }, /StringEquals\.aws:SourceIp: condition key "aws:SourceIp" is not one the lab puts in a request/],
      [{ Statement: [allow({ StringEquals: { 'kubernetes.io/namespace': 'x' } })] }, /condition key "kubernetes\.io\/namespace" is not one/],
      [{ Statement: [allow({ StringEquals: { [`${PROVIDER}:sub`]: 'a', [`${PROVIDER}:SUB`]: 'b' } })] }, /the condition key .*:SUB appears twice/],
      [{ Version: '2012-10-17', Statement: [allow({ StringLike: { [`${PROVIDER}:sub`]: '${aws:username}' } })] }, /policy variable \$\{aws:username\}: condition key "aws:username" is not one/],
      [{ Version: '2012-10-17', Statement: [allow({ StringLike: { [`${PROVIDER}:sub`]: 'a${b' } })] }, /has an unclosed \$\{/],
      [{ Statement: [allow({ NullIfExists: { [`${PROVIDER}:amr`]: 'true' } })] }, /unsupported condition operator "NullIfExists"/],
      [{ Statement: [allow({ Null: { [`${PROVIDER}:amr`]: 'yes' } })] }, /Null takes "true" or "false"/],
      [{ Statement: [{ ...allow({}), Sid: 'A' }, { ...allow({}), Sid: 'A' }] }, /the Sid A is used by two statements/],
      [`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"${PROVIDER}:sub":"x"},"StringEquals":{"${PROVIDER}:aud":"y"}}}]}`, /the key "StringEquals" appears twice at Statement\[0\]\.Condition/],
      [{ Statement: [{ Effect: 'Allow', Principal: 'someone', Action: 'a' }] }, /Principal must be "\*" or/],
      [{ Statement: [{ ...allow({}), Conditions: { StringEquals: { 'k:sub': 'x' } } }] }, /Statement\[0\]: unknown field "Conditions"/],
      [{ Statement: [{ ...allow({}), condition: {} }] }, /unknown field "condition"/],
      [{ Version: '2012-10-17', Statment: [] }, /the policy: unknown field "Statment"/],
      [{ Statement: [{ Effect: 'Maybe', Principal: '*', Action: 'a' }] }, /Effect must be Allow or Deny/],
      [{}, /has no Statement/],
      ['{not json', /JSON/],
    ];
    for (const [document, message] of cases) {
      const parsed = parseTrustPolicy(document);
      assert.ok(!parsed.ok && message.test(parsed.error), JSON.stringify(parsed));
    }
  });

  it('validates the lab config with messages naming the field', () => {
    const provider = { issuer: 'http://127.0.0.1:8081', audiences: ['sts.amazonaws.com'], jwksUrl: 'http://127.0.0.1:8081/keys' };
    const role = { arn: 'arn:aws:iam::111122223333:role/r', trustPolicy: { Statement: [allow({})] } };
    const cases: Array<[unknown, string]> = [
      [{ providers: [], roles: [role] }, 'providers must be a non-empty list'],
      [{ providers: [{ ...provider, jwksUrl: 'ftp://x' }], roles: [role] }, 'providers[0].jwksUrl must be http:// or https://'],
      [{ providers: [{ ...provider, audiences: [] }], roles: [role] }, 'providers[0].audiences must be a non-empty list of strings'],
      [{ providers: [provider, provider], roles: [role] }, 'provider http://127.0.0.1:8081 is listed twice'],
      [{ providers: [provider], roles: [{ ...role, arn: 'arn:aws:iam::1:role/r' }] }, 'roles[0].arn "arn:aws:iam::1:role/r" is not an IAM role ARN'],
      [{ providers: [provider], roles: [{ ...role, maxSessionDuration: 100 }] }, 'roles[0].maxSessionDuration must be whole seconds from 3600 to 43200 (IAM\'s range)'],
      [{ providers: [provider], roles: [{ ...role, trustPolicy: {} }] }, 'roles[0].trustPolicy has no Statement'],
      [{ kind: 'Other', providers: [provider], roles: [role] }, 'kind must be LabConfig'],
    ];
    for (const [document, error] of cases) assert.deepEqual(parseLabConfig(document), { ok: false, error });
    const good = parseLabConfig({ providers: [provider], roles: [role] });
    assert.ok(good.ok);
    assert.equal(good.value.providers[0]?.id, '127.0.0.1:8081');
    assert.match(good.value.roles.get(role.arn)?.roleId ?? '', /^AROA[A-Z2-7]{17}$/);
  });
});
