/**
 * Every code `explain` can report, in chain order, with the link it belongs to, what it means and
 * the fix it prints. docs/explain.md carries this table; a test keeps the two equal and gives every
 * code a fixture that must produce it.
 */
export interface ExplainCode {
  /** The links that can report it (ISSUER_NOT_TRUSTED: the token's, from the providers, or the trust policy's, from its principals). */
  readonly links: readonly LinkName[];
  readonly meaning: string;
  readonly fix: string;
}

/** `permission` is reported only when a call is asked about (`--action`). */
export const LINKS = ['webhook configuration', 'service account', 'injection', 'running pod', 'environment', 'token', 'trust policy', 'permission', 'image pull'] as const;
export type LinkName = (typeof LINKS)[number];

export const EXPLAIN_CODES = {
  WEBHOOK_NOT_INSTALLED: {
    links: ['webhook configuration'],
    meaning: 'there is no MutatingWebhookConfiguration of that name and no admission policy of the project is bound: neither mode is installed, so the API server calls nothing that injects an identity',
    fix: 'install the webhook (docs/install.md), or name its configuration with --webhook-configuration; for the admission-policy mode, apply the policies with their bindings (manifests --mode admission-policy)',
  },
  WEBHOOK_NOT_CALLED: {
    links: ['webhook configuration'],
    meaning: 'the MutatingWebhookConfiguration does not send this pod to the webhook (rules, namespaceSelector, objectSelector or the opt-out label), and no admission policy of the project is evaluated for it (not bound, or its matchConstraints exclude the pod)',
    fix: 'remove the opt-out label, or change the selector or rules that exclude the pod',
  },
  SERVICE_ACCOUNT_NOT_FOUND: {
    links: ['service account'],
    meaning: 'the ServiceAccount the pod runs as does not exist (spec.serviceAccountName, or default when unset)',
    fix: 'create the ServiceAccount, or set spec.serviceAccountName to the annotated one',
  },
  SA_NOT_ANNOTATED: {
    links: ['service account'],
    meaning: 'the ServiceAccount has no role-arn annotation (and is not listed for EKS Pod Identity); near-miss keys are named',
    fix: 'annotate the ServiceAccount: kubectl annotate serviceaccount NAME eks.amazonaws.com/role-arn=arn:aws:iam::ACCOUNT:role/NAME',
  },
  ROLE_ARN_INVALID: {
    links: ['service account'],
    meaning: 'the role-arn annotation is not an IAM role ARN; the webhook injects nothing',
    fix: 'write the role ARN as arn:PARTITION:iam::ACCOUNT:role/NAME',
  },
  CONTAINER_SKIPPED: {
    links: ['injection'],
    meaning: 'the container is named in the pod annotation skip-containers, so it gets no identity',
    fix: 'remove the container from the skip-containers annotation',
  },
  MOUNT_PATH_CONFLICT: {
    links: ['injection'],
    meaning: 'the container mounts another volume at the token mount path, so the webhook cannot mount the token there and leaves it alone',
    fix: 'move that mount, or change --token-mount-path (or --container-credentials-token-mount-path)',
  },
  ENV_OVERRIDES_IDENTITY: {
    links: ['injection'],
    meaning: 'the container sets a variable that names the identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) to something else; its own value wins',
    fix: 'remove the variable from the container spec and let the webhook inject it',
  },
  POD_NOT_MUTATED: {
    links: ['running pod'],
    meaning: 'the pod exists without the identity the webhook would give it now: it was created while the webhook was unreachable (failurePolicy Ignore), before the ServiceAccount was annotated, or before the webhook saw the ServiceAccount',
    fix: 'recreate the pod (kubectl rollout restart on its owner, or delete it); the webhook mutates only at creation',
  },
  POD_STALE: {
    links: ['running pod'],
    meaning: 'the pod was mutated, but for another identity than the ServiceAccount names now (the annotation or Pod Identity listing changed after it was created)',
    fix: 'recreate the pod (kubectl rollout restart on its owner, or delete it)',
  },
  TOKEN_FILE_NOT_A_TOKEN: {
    links: ['running pod'],
    meaning: 'the token file variable (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) points into a volume that is not a projected serviceAccountToken of the expected audience and path (an emptyDir or hostPath under the token volume\'s name, which webhooks matching volumes by name took for the token), or where nothing is mounted',
    fix: 'recreate the pod (kubectl rollout restart on its owner, or delete it): the webhook now adds its own token volume under a free name; or rename the volume that has the token volume\'s name',
  },
  CREDENTIAL_SOURCE_SHADOWED: {
    links: ['environment'],
    meaning: "a credential source the SDKs try first wins over the injected one: static keys or a profile in the environment, or (for Pod Identity) web identity variables, which the SDKs use before container credentials",
    fix: 'remove the variables that name the other credential source from the container',
  },
  REGION_MISSING: {
    links: ['environment'],
    meaning: 'neither AWS_REGION nor AWS_DEFAULT_REGION is set: the SDKs cannot choose a regional STS endpoint, and most fail before calling it',
    fix: 'start the webhook with --aws-default-region, or set both AWS_REGION and AWS_DEFAULT_REGION in the container',
  },
  TOKEN_SUBJECT_MISMATCH: {
    links: ['token'],
    meaning: "the token's sub is not system:serviceaccount:NAMESPACE:NAME of the pod's ServiceAccount (a token of another pod was given)",
    fix: "give the token the pod itself reads (kubectl exec POD -- cat the token file), or the pod's ServiceAccount",
  },
  TOKEN_AUDIENCE_MISMATCH: {
    links: ['token'],
    meaning: "the token's aud is not the audience the webhook injects, or not one the OIDC provider accepts (STS: InvalidIdentityToken, Incorrect token audience)",
    fix: 'add the audience to the OIDC provider (aws iam add-client-id-to-open-id-connect-provider), or correct the audience annotation or --token-audience',
  },
  TOKEN_EXPIRED: {
    links: ['token'],
    meaning: 'the token expired (STS: ExpiredTokenException); the kubelet refreshes the file, so an application that read it once keeps a stale token',
    fix: "re-read AWS_WEB_IDENTITY_TOKEN_FILE on every refresh (the SDKs' default chains do); check the node's clock",
  },
  ISSUER_NOT_TRUSTED: {
    links: ['token', 'trust policy'],
    meaning: "no OIDC provider is registered for the token's issuer in the role's account, or the trust policy trusts only other issuers' providers (STS: InvalidIdentityToken, No OpenIDConnect provider found in your account)",
    fix: "create the IAM OIDC provider for the cluster's issuer in the role's account (eksctl utils associate-iam-oidc-provider) and name it as the Federated principal",
  },
  POD_IDENTITY_ASSOCIATION_MISSING: {
    links: ['trust policy'],
    meaning: 'the ServiceAccount is listed for EKS Pod Identity but no association names it: EKS Auth refuses the agent',
    fix: 'aws eks create-pod-identity-association --cluster-name CLUSTER --namespace NS --service-account NAME --role-arn ARN',
  },
  TRUST_POLICY_MISSING: {
    links: ['trust policy'],
    meaning: 'the role has no trust policy here (not in the lab config); STS answers AccessDenied as if the role did not exist',
    fix: 'add the role and its trust policy to the lab config, or give --trust-policy',
  },
  TRUST_POLICY_NO_STATEMENT: {
    links: ['trust policy'],
    meaning: 'no Allow statement covers this principal and action (a Federated principal with sts:AssumeRoleWithWebIdentity for IRSA; pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession for Pod Identity)',
    fix: 'add a statement with the expected Principal and Action (printed above)',
  },
  TRUST_POLICY_CONDITION_FAILED: {
    links: ['trust policy'],
    meaning: 'statements cover the principal and action, but a condition of each is not met; each condition is shown with the value the request carries',
    fix: 'correct the condition values (they are case-sensitive; StringEquals does not expand wildcards, StringLike does)',
  },
  TRUST_POLICY_DENY: {
    links: ['trust policy'],
    meaning: 'a Deny statement applies to the request; Deny wins over every Allow',
    fix: 'narrow or remove the Deny statement',
  },
  ECR_ROLE_ARN_INVALID: {
    links: ['image pull'],
    meaning: "the ServiceAccount's eks.amazonaws.com/ecr-role-arn is not an IAM role ARN: ecr-credential-provider's AssumeRoleWithWebIdentity fails, and so does every pull of the pod's ECR images",
    fix: 'write the role ARN as arn:PARTITION:iam::ACCOUNT:role/NAME, or remove the annotation to pull with the node\'s credentials',
  },
  ECR_AUDIENCE_NOT_ALLOWED: {
    links: ['image pull'],
    meaning: "no OIDC provider for the cluster's issuer accepts sts.amazonaws.com, the audience of the token ecr-credential-provider presents (none registered, or sts.amazonaws.com not in its ClientIDList): STS refuses it",
    fix: 'register the cluster\'s OIDC provider with the client id sts.amazonaws.com (aws iam add-client-id-to-open-id-connect-provider)',
  },
  ECR_ROLE_NOT_TRUSTED: {
    links: ['image pull'],
    meaning: "the ecr-role-arn role's trust policy does not allow sts:AssumeRoleWithWebIdentity for the pod's ServiceAccount with a token for sts.amazonaws.com (or the role is not among the known roles): the provider cannot assume it",
    fix: 'add a statement trusting the cluster\'s OIDC provider with :sub system:serviceaccount:NAMESPACE:NAME and :aud sts.amazonaws.com',
  },
  PERMISSION_EXPLICIT_DENY: {
    links: ['permission'],
    meaning: "a Deny statement in an identity policy, the permissions boundary or the session policy of the pod's credentials applies to the call; Deny wins over every Allow",
    fix: 'narrow or remove the Deny statement named above',
  },
  PERMISSION_NOT_GRANTED: {
    links: ['permission'],
    meaning: "no identity policy of the role the pod's credentials are for (with a target role: the target role) allows the action on the resource",
    fix: 'add a statement allowing the action on the resource to a policy of that role',
  },
  PERMISSION_BOUNDARY_LIMITS: {
    links: ['permission'],
    meaning: "the role's identity policies allow the call, but its permissions boundary does not: the credentials get only what both allow",
    fix: 'allow the action on the resource in the permissions boundary too, or ask for a call it allows',
  },
  PERMISSION_SESSION_POLICY_LIMITS: {
    links: ['permission'],
    meaning: "the role's policies allow the call, but the session policy does not: the Pod Identity association's policy (with a target role, it limits the target role's session), or --session-policy",
    fix: "add the action and resource to the association's policy (aws eks update-pod-identity-association --policy), or remove the policy",
  },
} as const satisfies Record<string, ExplainCode>;

export type ExplainCodeName = keyof typeof EXPLAIN_CODES;
