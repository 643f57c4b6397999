import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { readAccessEntries } from '../../src/authenticator/access-entries.js';
import { accessEntriesRbac } from '../../src/lab/access-entries-rbac.js';

const A = '111122223333';
const policy = (name: string, accessScope: Record<string, unknown>) => ({ policyArn: `arn:aws:eks::aws:cluster-access-policy/${name}`, accessScope });

describe('access-entries rbac: the RBAC standing in for access policies in a lab cluster', () => {
  const parsed = readAccessEntries(
    JSON.stringify([
      { accessEntry: { principalArn: `arn:aws:iam::${A}:role/admins` } },
      { principalArn: `arn:aws:iam::${A}:role/admins`, associatedAccessPolicies: [policy('AmazonEKSClusterAdminPolicy', { type: 'cluster' })] },
      { accessEntry: { principalArn: `arn:aws:iam::${A}:role/team/devs`, username: 'dev:{{SessionName}}', kubernetesGroups: ['devs'] } },
      {
        principalArn: `arn:aws:iam::${A}:role/team/devs`,
        associatedAccessPolicies: [
          policy('AmazonEKSEditPolicy', { type: 'namespace', namespaces: ['dev-a', 'dev-b', 'dev-*'] }),
          policy('AmazonEKSAdminPolicy', { type: 'namespace', namespaces: ['dev-a'] }),
          policy('AmazonEKSViewPolicy', { type: 'cluster' }),
          policy('AmazonEKSAdminViewPolicy', { type: 'cluster' }),
        ],
      },
      { accessEntry: { principalArn: `arn:aws:iam::${A}:role/nodes`, type: 'EC2_LINUX' } },
      { accessEntry: { principalArn: `arn:aws:iam::${A}:role/auto-nodes`, type: 'EC2' } },
      { principalArn: `arn:aws:iam::${A}:role/auto-nodes`, associatedAccessPolicies: [policy('AmazonEKSAutoNodePolicy', { type: 'cluster' }), policy('AmazonEKSSecretReaderPolicy', { type: 'cluster' })] },
    ]),
    { source: 'entries.json' },
  );
  assert.ok(parsed.ok);
  const output = accessEntriesRbac(parsed.value);
  const objects = parseAllDocuments(output.yaml).map((document) => document.toJS() as Record<string, any> | null).filter((object) => object !== null);

  it('ClusterAdmin → cluster-admin, Admin → admin, Edit → edit, View → view; cluster scope as a ClusterRoleBinding, namespace scope as RoleBindings', () => {
    assert.deepEqual(
      objects.map((object) => [object.kind, object.metadata.namespace ?? '-', object.roleRef.name, object.subjects[0].name]),
      [
        ['ClusterRoleBinding', '-', 'cluster-admin', `eks-access-entry:arn:aws:iam::${A}:role/admins`],
        ['RoleBinding', 'dev-a', 'edit', `eks-access-entry:arn:aws:iam::${A}:role/team/devs`],
        ['RoleBinding', 'dev-b', 'edit', `eks-access-entry:arn:aws:iam::${A}:role/team/devs`],
        ['RoleBinding', 'dev-a', 'admin', `eks-access-entry:arn:aws:iam::${A}:role/team/devs`],
        ['ClusterRoleBinding', '-', 'view', `eks-access-entry:arn:aws:iam::${A}:role/team/devs`],
      ],
    );
    assert.equal(output.bindings, 5);
    for (const object of objects) {
      assert.equal(object.apiVersion, 'rbac.authorization.k8s.io/v1');
      assert.deepEqual(object.subjects, [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: object.subjects[0].name }]);
      assert.doesNotMatch(object.metadata.name, /[/%]/, 'RBAC names refuse / and %');
    }
    assert.equal(new Set(objects.map((object) => `${object.kind}/${object.metadata.namespace}/${object.metadata.name}`)).size, objects.length, 'names are unique');
  });

  it('says beside each binding what differs from EKS', () => {
    const comments = output.yaml.split('---\n').filter((part) => part.includes('kind:'));
    assert.equal(comments.length, 5);
    for (const part of comments) {
      assert.match(part, /^# arn:aws:iam::\S+ AmazonEKS\w+Policy → ClusterRole \S+\n/);
      assert.match(part, /its own authorizer; this is RBAC instead.*kubectl auth can-i --list.*impersonation/);
      assert.match(part, /EKS adds no group/);
    }
  });

  it('reports what RBAC cannot say: namespace patterns, catalog policies the lab does not model, and the warnings of the entries', () => {
    assert.deepEqual(output.unconverted, [
      `arn:aws:iam::${A}:role/auto-nodes: AmazonEKSSecretReaderPolicy on an EC2 (Auto Mode) entry: EC2 entries take AmazonEKSAutoNodePolicy only (CDK says node entries take no access policies; the EKS docs attach AmazonEKSAutoNodePolicy)`,
      `arn:aws:iam::${A}:role/team/devs AmazonEKSEditPolicy: namespace pattern dev-*: RBAC binds namespaces by name, so it is not converted (bind each matching namespace)`,
      `arn:aws:iam::${A}:role/team/devs AmazonEKSAdminViewPolicy: AmazonEKSAdminViewPolicy is a user-facing policy with no built-in ClusterRole counterpart: known, not modelled by the lab's RBAC stand-in, so the lab grants nothing for it; not converted`,
      `arn:aws:iam::${A}:role/auto-nodes AmazonEKSAutoNodePolicy: AmazonEKSAutoNodePolicy is a policy for an AWS service or EKS-managed component: known, not modelled by the lab's RBAC stand-in, so the lab grants nothing for it; not converted`,
      `arn:aws:iam::${A}:role/auto-nodes AmazonEKSSecretReaderPolicy: AmazonEKSSecretReaderPolicy is a user-facing policy with no built-in ClusterRole counterpart: known, not modelled by the lab's RBAC stand-in, so the lab grants nothing for it; not converted`,
    ]);
    assert.match(output.yaml, /^# not converted: .*AmazonEKSAdminViewPolicy/m);
  });
});
