import { stringify } from 'yaml';
import { type AccessEntries, type AccessEntry, type PolicyAssociation } from '../authenticator/access-entries.js';
import { policyGroup } from '../authenticator/access-entry-rules.js';
import { accessPolicy, notModelledReason, type RbacStandIn } from '../authenticator/access-policies.js';

/**
 * The nearest honest stand-in for EKS access policies in a lab cluster: RBAC bindings of the
 * Kubernetes user-facing ClusterRoles the EKS docs liken the policies to, bound to the group the lab
 * authenticator adds to logins through the entry (RBAC cannot bind a templated username). EKS
 * applies the policies in an authorizer of its own; what that changes is written beside each binding.
 */

/** How each ClusterRole the catalog names as a policy's stand-in (access-policies.ts labClusterRole) compares with it. */
const STAND_IN_RULES: Readonly<Record<RbacStandIn, string>> = {
  'cluster-admin': 'both allow every verb on every resource and non-resource URL',
  admin: "EKS lists the policy's own rules (access-policy-permissions); they resemble the admin ClusterRole's, which also aggregates rules of CRDs labelled for it",
  edit: "EKS lists the policy's own rules (access-policy-permissions); they resemble the edit ClusterRole's, which also aggregates rules of CRDs labelled for it",
  view: "EKS lists the policy's own rules (access-policy-permissions); they resemble the view ClusterRole's, which also aggregates rules of CRDs labelled for it (neither reads Secrets)",
};

const EVERYWHERE =
  'EKS applies access policies in its own authorizer; this is RBAC instead, so unlike on EKS it shows in kubectl auth can-i --list and kubectl get (cluster)rolebindings, still applies under impersonation (--as with --as-group of this group), and anyone allowed to edit bindings can change it. The group is added by the lab authenticator to logins through this entry; EKS adds no group.';

export interface RbacOutput {
  /** Multi-document YAML for kubectl apply -f -, each binding preceded by what differs from EKS. */
  readonly yaml: string;
  /** The entries' warnings, then the associations with no RBAC equivalent, one line each. */
  readonly unconverted: readonly string[];
  readonly bindings: number;
}

/** A binding name unique per principal and policy (RBAC names only refuse `/`, `%`, `.` and `..`). */
function bindingName(entry: AccessEntry, policy: string): string {
  return `eks-access-policy:${entry.principal.arn.account}:${entry.principal.kind}:${entry.principal.arn.name}:${policy}`;
}

function document(comment: readonly string[], object: Record<string, unknown>): string {
  return `${comment.map((line) => `# ${line}`).join('\n')}\n${stringify(object, { lineWidth: 0 })}`;
}

function bindings(entry: AccessEntry, association: PolicyAssociation, unconverted: string[]): string[] {
  const clusterRole = accessPolicy(association.policyName)?.labClusterRole;
  const label = `${entry.principalArn} ${association.policyName}`;
  if (clusterRole === undefined) {
    unconverted.push(`${label}: ${notModelledReason(association.policyName)!}; not converted`);
    return [];
  }
  const target = { clusterRole, rules: STAND_IN_RULES[clusterRole] };
  const subjects = [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: policyGroup(entry.principalArn) }];
  const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: target.clusterRole };
  const name = bindingName(entry, target.clusterRole);
  const comment = [`${label} → ClusterRole ${target.clusterRole}`, `${association.policyName}: ${target.rules}.`, EVERYWHERE];
  if (association.scope.type === 'cluster') {
    return [document([...comment, 'Scope cluster: a ClusterRoleBinding.'], { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef, subjects })];
  }
  const out: string[] = [];
  for (const namespace of association.scope.namespaces) {
    if (namespace.includes('*')) {
      unconverted.push(`${label}: namespace pattern ${namespace}: RBAC binds namespaces by name, so it is not converted (bind each matching namespace)`);
      continue;
    }
    out.push(
      document([...comment, `Scope namespace ${namespace}: a RoleBinding there (the namespace must exist; EKS's scope applies to it whenever it exists).`], {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace },
        roleRef,
        subjects,
      }),
    );
  }
  return out;
}

/** The RBAC that gives each access entry's policies in a lab cluster. */
export function accessEntriesRbac(entries: AccessEntries): RbacOutput {
  const unconverted: string[] = entries.entries.flatMap((entry) => entry.warnings.map((warning) => `${entry.principalArn}: ${warning}`));
  const documents = entries.entries.flatMap((entry) => entry.policies.flatMap((association) => bindings(entry, association, unconverted)));
  const notes = unconverted.map((line) => `# not converted: ${line}\n`).join('');
  const header = '# RBAC standing in for EKS access policies in a lab cluster (pod-identity-webhook access-entries rbac).\n';
  return { yaml: `${header}${notes}${documents.length > 0 ? '---\n' : ''}${documents.join('---\n')}`, unconverted, bindings: documents.length };
}
