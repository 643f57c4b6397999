import assert from 'node:assert/strict';
import { parseLabConfig } from '../../src/lab/sts/config.js';

const ROLE = 'arn:aws:iam::111122223333:role/app';
const trustPolicy = { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'sts:AssumeRole' }] };
const config = (role: Record<string, unknown>) => parseLabConfig({ providers: [{ issuer: 'https://issuer.example', audiences: ['sts.amazonaws.com'], jwksUrl: 'https://issuer.example/keys' }], roles: [{ arn: ROLE, trustPolicy, ...role }] });
const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

describe('lab config: role permission policies and boundaries', () => {
  it('reads policies (name → document, as a mapping or JSON text) and a boundary; a role without them is not modelled', () => {
    const parsed = config({ policies: { all: allowAll, text: JSON.stringify(allowAll) }, permissionsBoundary: allowAll });
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    const role = parsed.value.roles.get(ROLE)!;
    assert.deepEqual(role.policies?.map((policy) => policy.id), ['all', 'text']);
    assert.equal(role.permissionsBoundary?.statements.length, 1);
    const bare = config({});
    assert.ok(bare.ok);
    assert.equal(bare.value.roles.get(ROLE)!.policies, undefined);
    assert.equal(bare.value.roles.get(ROLE)!.permissionsBoundary, undefined);
  });

  it('refuses what it cannot evaluate, naming the role, policy and field', () => {
    const big = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: [`arn:aws:s3:::${'x'.repeat(3100)}`, `arn:aws:s3:::${'y'.repeat(3100)}`] }] };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ policies: [allowAll] }, /roles\[0\]\.policies must map policy names to policy documents/],
      [{ policies: { 'bad name!': allowAll } }, /roles\[0\]\.policies: the policy name "bad name!" is not 1 to 128/],
      [{ policies: { p: { Statement: [{ Effect: 'Allow', Action: '*' }] } } }, /roles\[0\]\.policies\.p Statement\[0\] needs exactly one of Resource and NotResource/],
      [{ policies: { p: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { NumericEquals: { 'aws:MultiFactorAuthAge': 'old' } } }] } } }, /NumericEquals needs a number, got "old"/],
      [{ policies: { a: big, b: big } }, /the inline policies are \d+ characters together without white space, more than IAM's 10240/],
      [{ permissionsBoundary: big }, /roles\[0\]\.permissionsBoundary the policy is \d+ characters long without white space, more than 6144/],
      [{ permissionsBoundary: { Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] } }, /permissionsBoundary Statement\[0\]: Principal is not supported/],
      [{ polices: { p: allowAll } }, /roles\[0\]: unknown field "polices"/],
    ];
    for (const [role, expected] of cases) {
      const parsed = config(role);
      assert.equal(parsed.ok, false, JSON.stringify(role).slice(0, 80));
      assert.match(parsed.ok ? '' : parsed.error, expected);
    }
  });
});
