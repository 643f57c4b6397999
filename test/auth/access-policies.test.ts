import assert from 'node:assert/strict';
import { ACCESS_POLICIES, accessPolicy, notModelledReason } from '../../src/authenticator/access-policies.js';
import { accessPolicyArn, parseAccessPolicyArn } from '../../src/shared/aws/arn.js';

/** Every name of shared/eks-2026.md §4.1's table, spelled as EKS lists it (the brace groups written out). */
const TABLE_4_1 = [
  'AmazonEKSClusterAdminPolicy', 'AmazonEKSAdminPolicy', 'AmazonEKSAdminViewPolicy', 'AmazonEKSEditPolicy', 'AmazonEKSViewPolicy',
  'AmazonEKSAutoNodePolicy',
  'AmazonEKSBlockStoragePolicy', 'AmazonEKSLoadBalancingPolicy', 'AmazonEKSNetworkingPolicy', 'AmazonEKSComputePolicy',
  'AmazonEKSBlockStorageClusterPolicy', 'AmazonEKSLoadBalancingClusterPolicy', 'AmazonEKSNetworkingClusterPolicy', 'AmazonEKSComputeClusterPolicy',
  'AmazonEKSHybridPolicy',
  'AmazonEKSSecretReaderPolicy', 'AmazonEKSSecretAdminPolicy', 'AmazonEKSEventPolicy', 'AmazonEKSPodIdentityPolicy', 'AmazonEKSClusterInsightsPolicy',
  'AmazonEKSArgoCDPolicy', 'AmazonEKSArgoCDClusterPolicy', 'AmazonEKSACKPolicy', 'AmazonEKSKROPolicy', 'AmazonEMRJobPolicy',
  'AmazonSagemakerHyperpodClusterPolicy', 'AmazonSagemakerHyperpodControllerPolicy', 'AmazonSagemakerHyperpodSpacePolicy',
  'AmazonSagemakerHyperpodSpaceTemplatePolicy', 'AmazonSagemakerHyperpodSystemNamespacePolicy', 'AmazonSagemakerHyperpodUserClusterPolicy',
  'AmazonAIOpsAssistantPolicy', 'AIDevOpsAgentAccessPolicy', 'AmazonARCRegionSwitchScalingPolicy',
  'AWSBackupFullAccessPolicyForBackup', 'AWSBackupFullAccessPolicyForRestore',
];

describe('the 2026 access-policy catalog (shared/eks-2026.md §4.1)', () => {
  it('holds every policy of the table, spelled exactly, once, and nothing else', () => {
    const names = ACCESS_POLICIES.map((policy) => policy.name);
    assert.equal(new Set(names).size, names.length, 'no name twice');
    assert.deepEqual([...names].sort(), [...TABLE_4_1].sort());
    assert.equal(accessPolicy('amazoneksviewpolicy'), undefined, 'names are case-sensitive, as EKS compares them');
  });

  it('each name makes an access-policy ARN the readers take back', () => {
    for (const { name } of ACCESS_POLICIES) {
      assert.deepEqual(parseAccessPolicyArn(accessPolicyArn('aws', name)), { partition: 'aws', name });
      assert.equal(accessPolicyArn('aws', name), `arn:aws:eks::aws:cluster-access-policy/${name}`);
    }
  });

  it('service-linked-only: exactly the policies the third-party cloudemu catalog marks (BlockStorage*, Compute*, ClusterInsights, Hybrid, PodIdentity)', () => {
    assert.deepEqual(
      ACCESS_POLICIES.filter((policy) => policy.serviceLinkedOnly).map((policy) => policy.name).sort(),
      ['AmazonEKSBlockStorageClusterPolicy', 'AmazonEKSBlockStoragePolicy', 'AmazonEKSClusterInsightsPolicy', 'AmazonEKSComputeClusterPolicy', 'AmazonEKSComputePolicy', 'AmazonEKSHybridPolicy', 'AmazonEKSPodIdentityPolicy'],
    );
    assert.ok(ACCESS_POLICIES.filter((policy) => policy.serviceLinkedOnly).every((policy) => policy.audience === 'service'));
  });

  it('user-facing: the five 2024 policies and the Secret and Event policies; the rest are for services', () => {
    assert.deepEqual(
      ACCESS_POLICIES.filter((policy) => policy.audience === 'user').map((policy) => policy.name),
      ['AmazonEKSClusterAdminPolicy', 'AmazonEKSAdminPolicy', 'AmazonEKSAdminViewPolicy', 'AmazonEKSEditPolicy', 'AmazonEKSViewPolicy', 'AmazonEKSSecretReaderPolicy', 'AmazonEKSSecretAdminPolicy', 'AmazonEKSEventPolicy'],
    );
  });

  it('the lab models four through RBAC; every other known policy, and an unknown name, is said not to be modelled', () => {
    assert.deepEqual(
      ACCESS_POLICIES.flatMap((policy) => (policy.labClusterRole ? [[policy.name, policy.labClusterRole]] : [])),
      [['AmazonEKSClusterAdminPolicy', 'cluster-admin'], ['AmazonEKSAdminPolicy', 'admin'], ['AmazonEKSEditPolicy', 'edit'], ['AmazonEKSViewPolicy', 'view']],
    );
    assert.equal(notModelledReason('AmazonEKSViewPolicy'), undefined);
    assert.match(notModelledReason('AmazonEKSAdminViewPolicy')!, /user-facing policy with no built-in ClusterRole counterpart: known, not modelled/);
    assert.match(notModelledReason('AmazonEKSArgoCDPolicy')!, /for an AWS service or EKS-managed component: known, not modelled/);
    assert.match(notModelledReason('AmazonEKSViewPolicyy')!, /not in the 2026 access-policy catalog/);
  });
});
