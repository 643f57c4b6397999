import assert from 'node:assert/strict';
import { MAX_ASSOCIATION_POLICY_CHARS, POLICY_NEEDS_DISABLED_TAGS } from '../../src/lab/pod-identity/association-policy.js';
import { parseLabConfig } from '../../src/lab/sts/config.js';
import { ACCOUNT } from '../helpers/lab.js';

const ISSUER = 'https://issuer.example';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/pi-app`;
const READ_ONLY = { Version: '2012-10-17', Statement: [{ Sid: 'Read', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::app-bucket/*' }] };

/** A lab config with one association carrying `fields`. */
function configWith(fields: Record<string, unknown>): ReturnType<typeof parseLabConfig> {
  return parseLabConfig({
    providers: [{ issuer: ISSUER, audiences: ['sts.amazonaws.com'], jwksUrl: `${ISSUER}/keys` }],
    clusters: [{ name: 'lab', region: 'us-east-1', account: ACCOUNT, issuer: ISSUER, jwksUrl: `${ISSUER}/keys`, nodeRoleArn: `arn:aws:iam::${ACCOUNT}:role/lab-nodes` }],
    roles: [{ arn: ROLE, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' }] } }],
    podIdentityAssociations: [{ cluster: 'lab', namespace: 'default', serviceAccount: 'app', roleArn: ROLE, ...fields }],
  });
}

function refusal(fields: Record<string, unknown>): string {
  const config = configWith(fields);
  assert.equal(config.ok, false, 'expected the config to be refused');
  return config.ok ? '' : config.error;
}

describe("Pod Identity associations' session policy (policy) in the lab config", () => {
  it('takes the JSON text the EKS API takes, or a mapping; the session carries it without white space', () => {
    for (const policy of [JSON.stringify(READ_ONLY, null, 2), READ_ONLY]) {
      const config = configWith({ policy, disableSessionTags: true });
      assert.ok(config.ok, config.ok ? '' : config.error);
      const association = config.value.podIdentityAssociations[0]!;
      assert.equal(association.policy?.text, JSON.stringify(READ_ONLY));
      assert.deepEqual(association.policy?.policy.statements.map((statement) => [statement.sid, statement.effect, statement.actions]), [['Read', 'Allow', ['s3:GetObject']]]);
    }
  });

  it('is optional: without it the association has none', () => {
    const config = configWith({});
    assert.ok(config.ok);
    assert.equal(config.value.podIdentityAssociations[0]!.policy, undefined);
  });

  it('without disableSessionTags: true it is refused with the InvalidParameterException text, marked as the lab\'s wording', () => {
    for (const fields of [{ policy: READ_ONLY }, { policy: READ_ONLY, disableSessionTags: false }]) {
      const error = refusal(fields);
      assert.equal(error, `podIdentityAssociations[0].policy: ${POLICY_NEEDS_DISABLED_TAGS}`);
      assert.match(error, /InvalidParameterException: disableSessionTags must be true .*the lab's wording/);
    }
  });

  it('refuses what is not an IAM permission policy, naming the field and the problem', () => {
    const cases: Array<[unknown, RegExp]> = [
      [42, /^podIdentityAssociations\[0\]\.policy must be an IAM policy: its JSON text, or a mapping$/],
      [['s3:GetObject'], /^podIdentityAssociations\[0\]\.policy must be an IAM policy/],
      ['{"Version": "2012-10-17", ', /^podIdentityAssociations\[0\]\.policy is not JSON: /],
      [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }] }, /^podIdentityAssociations\[0\]\.policy Statement\[0\] needs exactly one of Resource and NotResource$/],
      [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Principal: '*' }] }, /^podIdentityAssociations\[0\]\.policy Statement\[0\]/],
      [{ Version: '2012-10-17', Statement: [{ Effect: 'Permit', Action: 's3:GetObject', Resource: '*' }] }, /Effect must be Allow or Deny/],
    ];
    for (const [policy, message] of cases) assert.match(refusal({ policy, disableSessionTags: true }), message, JSON.stringify(policy));
  });

  it(`refuses more than ${MAX_ASSOCIATION_POLICY_CHARS} characters: the text as given, or the mapping without white space; exactly the limit passes`, () => {
    const withResource = (resource: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resource }] });
    const base = JSON.stringify(withResource('arn:aws:s3:::b/')).length;
    const exact = withResource(`arn:aws:s3:::b/${'k'.repeat(MAX_ASSOCIATION_POLICY_CHARS - base)}`);
    assert.equal(JSON.stringify(exact).length, MAX_ASSOCIATION_POLICY_CHARS);
    assert.ok(configWith({ policy: exact, disableSessionTags: true }).ok);
    assert.ok(configWith({ policy: JSON.stringify(exact), disableSessionTags: true }).ok);
    const over = withResource(`arn:aws:s3:::b/${'k'.repeat(MAX_ASSOCIATION_POLICY_CHARS - base + 1)}`);
    assert.match(refusal({ policy: over, disableSessionTags: true }), /^podIdentityAssociations\[0\]\.policy the policy is 2049 characters long without white space, more than 2048$/);
    // The API counts the string it is sent, white space included.
    assert.match(refusal({ policy: JSON.stringify(exact, null, 1), disableSessionTags: true }), /^podIdentityAssociations\[0\]\.policy is \d+ characters long, more than the 2048 an association's policy may have$/);
  });
});
