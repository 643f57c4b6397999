/**
 * What lets kubelets mint ServiceAccount tokens of an audience no pod mounts. With
 * `ServiceAccountNodeAudienceRestriction` (kube-apiserver, beta and on since 1.32) the NodeRestriction
 * admission plugin refuses a node's TokenRequest for an audience that the pod's projected volumes, CSI
 * drivers and PersistentVolumes do not name, unless the node is authorized for the verb
 * `request-serviceaccounts-token-audience` on the *audience* as the resource (group "", the pod's
 * namespace, the ServiceAccount's name as the resource name): k8s.io/kubernetes
 * plugin/pkg/admission/noderestriction/admission.go `validateNodeServiceAccountAudience` and
 * `buildAuthorizerAttributes` (v1.37.2); test/integration/auth/node_test.go grants it with
 * `{apiGroups: [""], resources: [AUDIENCE], verbs: [request-serviceaccounts-token-audience]}`.
 */

export const NODE_AUDIENCE_VERB = 'request-serviceaccounts-token-audience';
export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';

/** The RBAC object names for an audience: lowercase, and the audience's characters that are not allowed in a name replaced. */
export function nodeAudienceRbacName(audience: string): string {
  const slug = audience.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `pod-identity-webhook:node-token-audience:${slug || 'audience'}`.slice(0, 253);
}

/**
 * A ClusterRole granting the verb for `audience` (to every ServiceAccount, or to those named), and a
 * ClusterRoleBinding to the group every kubelet authenticates in.
 */
export function nodeAudienceRbac(audience: string, serviceAccountNames: readonly string[] = []): [Record<string, unknown>, Record<string, unknown>] {
  const name = nodeAudienceRbacName(audience);
  const labels = { 'app.kubernetes.io/name': 'pod-identity-webhook', 'app.kubernetes.io/component': 'image-pull' };
  const rule: Record<string, unknown> = { apiGroups: [''], resources: [audience], verbs: [NODE_AUDIENCE_VERB] };
  if (serviceAccountNames.length > 0) rule.resourceNames = [...serviceAccountNames];
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules: [rule] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: NODES_GROUP }],
    },
  ];
}

/** The SubjectAccessReview the NodeRestriction plugin's question amounts to: may node NODE mint AUDIENCE tokens for NAMESPACE/NAME? */
export function nodeAudienceAccessReview(node: string, audience: string, namespace: string, serviceAccount: string): Record<string, unknown> {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `${NODE_USER_PREFIX}${node}`,
      groups: [NODES_GROUP, 'system:authenticated'],
      resourceAttributes: { verb: NODE_AUDIENCE_VERB, group: '', version: 'v1', resource: audience, namespace, name: serviceAccount },
    },
  };
}
