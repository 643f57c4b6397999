import type { Severity } from '../severity.js';

/**
 * Every code `doctor` reports, with its severity, what it means and what to do. docs/doctor.md
 * prints this table; test/diagnose/doctor/codes.test.ts checks that each one is produced by a
 * fixture or a test. A code's severity is fixed: the same code is never an error in one run and a
 * warning in another.
 */
export interface CodeInfo {
  readonly severity: Exclude<Severity, 'ok'>;
  /** The check that reports it. */
  readonly check: CheckName;
  readonly meaning: string;
  readonly fix: string;
}

export const CHECKS = ['access', 'webhook-configuration', 'webhook-selectors', 'webhook-endpoints', 'webhook-deployment', 'webhook-certificate', 'service-accounts', 'pod-identities', 'admission-policy', 'pods', 'image-pull', 'oidc'] as const;
export type CheckName = (typeof CHECKS)[number];

export const DOCTOR_CODES = {
  // access: what doctor could not read
  CHECK_FORBIDDEN: {
    severity: 'warning',
    check: 'access',
    meaning: 'the API server refused a read doctor needs (RBAC): the check that needed it was not made (with no error, the verdict is incomplete)',
    fix: 'run doctor with credentials that may get and list what the finding names (a cluster-admin kubeconfig, or a ClusterRole with get/list on mutatingwebhookconfigurations, mutatingadmissionpolicies, mutatingadmissionpolicybindings, namespaces, serviceaccounts, pods, services, endpointslices, endpoints, deployments and replicasets (apps), certificates (cert-manager.io), the certificate Secret and services/proxy; for image pulls, list on nodes and create on subjectaccessreviews (authorization.k8s.io))',
  },
  CHECK_FAILED: {
    severity: 'warning',
    check: 'access',
    meaning: 'a read failed (timeout, server error, an answer too large): the check that needed it was not made (with no error, the verdict is incomplete)',
    fix: 'run doctor again; raise --request-timeout for a slow API server',
  },
  OBJECT_UNREADABLE: {
    severity: 'warning',
    check: 'access',
    meaning: 'an object does not have the shape Kubernetes gives it (a field of the wrong type); it was skipped',
    fix: 'look at the object named: it was probably written by hand or by a broken tool',
  },

  // webhook-configuration: the MutatingWebhookConfiguration itself
  WEBHOOK_CONFIGURATION_MISSING: {
    severity: 'error',
    check: 'webhook-configuration',
    meaning: 'the MutatingWebhookConfiguration does not exist: the API server calls no webhook, so no pod gets an AWS identity',
    fix: 'install the webhook (docs/install.md), or name the configuration with --webhook-configuration',
  },
  WEBHOOK_CONFIGURATION_MALFORMED: {
    severity: 'error',
    check: 'webhook-configuration',
    meaning: 'the configuration, or one of its webhooks, lacks a field the API server needs (webhooks, a clientConfig with a url or a service) or has one of the wrong type',
    fix: 'apply the configuration from the manifests or the chart again',
  },
  NO_POD_CREATE_RULE: {
    severity: 'error',
    check: 'webhook-configuration',
    meaning: 'no webhook of the configuration has a rule for CREATE of pods (group "", version v1): the API server never sends it a pod',
    fix: 'add the rule {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}',
  },
  FAILURE_POLICY_IGNORE: {
    severity: 'info',
    check: 'webhook-configuration',
    meaning: 'failurePolicy Ignore: while the webhook is unreachable or its certificate does not verify, pods are created without their AWS identity and nothing reports it (the pods check below finds them)',
    fix: 'keep Ignore for availability and run doctor after incidents, or set failurePolicy Fail with a namespaceSelector that excludes the webhook\'s own namespace',
  },
  REINVOCATION_NEVER: {
    severity: 'warning',
    check: 'webhook-configuration',
    meaning: 'reinvocationPolicy Never (the API server\'s default): a container another webhook adds after this one gets no identity',
    fix: 'set reinvocationPolicy: IfNeeded (the patch is idempotent)',
  },

  // webhook-selectors: which namespaces and pods it is called for
  NAMESPACE_EXCLUDED: {
    severity: 'warning',
    check: 'webhook-selectors',
    meaning: 'the namespaceSelector excludes a namespace whose ServiceAccounts carry a role or are listed for Pod Identity: its pods never get their identity',
    fix: 'change the namespaceSelector or the namespace\'s labels, or remove the identity from those ServiceAccounts',
  },
  NAMESPACE_SELECTOR_EXCLUDES_ALL: {
    severity: 'error',
    check: 'webhook-selectors',
    meaning: 'the namespaceSelector excludes every namespace that has ServiceAccounts with an identity: the webhook mutates no pod that needs it',
    fix: 'fix the namespaceSelector (the manifests exclude only the webhook\'s own namespace)',
  },
  WEBHOOK_NAMESPACE_NOT_EXCLUDED: {
    severity: 'warning',
    check: 'webhook-selectors',
    meaning: 'failurePolicy Fail and the webhook\'s own namespace is selected: when every replica is down, none can be created again (each new pod waits for the webhook)',
    fix: 'exclude the webhook\'s namespace in the namespaceSelector (kubernetes.io/metadata.name NotIn [<its namespace>])',
  },

  // webhook-endpoints: can the API server reach it
  SERVICE_MISSING: {
    severity: 'error',
    check: 'webhook-endpoints',
    meaning: 'the Service of the clientConfig does not exist: every call fails',
    fix: 'create the Service (manifests/base/service.yaml) or fix clientConfig.service',
  },
  SERVICE_PORT_MISSING: {
    severity: 'error',
    check: 'webhook-endpoints',
    meaning: 'the Service has no port with the clientConfig\'s port number (443 when none is set): every call fails',
    fix: 'make clientConfig.service.port one of the Service\'s ports',
  },
  NO_READY_ENDPOINTS: {
    severity: 'error',
    check: 'webhook-endpoints',
    meaning: 'the Service has no ready endpoint (EndpointSlices, or Endpoints): no webhook pod is ready to answer',
    fix: 'look at the webhook pods (kubectl -n <namespace> get pods, describe, logs; the webhook-deployment findings say what doctor saw): not running, not ready (/readyz), or the Service selector does not match them',
  },
  WEBHOOK_UNREACHABLE: {
    severity: 'error',
    check: 'webhook-endpoints',
    meaning: 'the webhook did not answer: a TLS connection to its url failed, or the API server\'s service proxy could not reach it',
    fix: 'check that the webhook runs and listens where the clientConfig points, and that nothing (NetworkPolicy, firewall) blocks the API server',
  },
  WEBHOOK_NOT_READY: {
    severity: 'warning',
    check: 'webhook-endpoints',
    meaning: 'the webhook answers /readyz with 503: its certificate, its ServiceAccount cache or its caBundle check is not ready',
    fix: 'read the failing checks in the finding and the webhook\'s log',
  },

  // webhook-deployment: the Deployment behind the Service, its ReplicaSets and pods
  WEBHOOK_DEPLOYMENT_MISSING: {
    severity: 'error',
    check: 'webhook-deployment',
    meaning: 'no Deployment in the Service\'s namespace has a pod template the Service\'s selector matches, and no pod matches it: nothing runs the webhook',
    fix: 'install the webhook again (docs/install.md), or make the Service\'s selector match the webhook\'s pod labels',
  },
  WEBHOOK_DEPLOYMENT_SCALED_TO_ZERO: {
    severity: 'error',
    check: 'webhook-deployment',
    meaning: 'the webhook\'s Deployment asks for 0 replicas: no pod runs the webhook',
    fix: 'kubectl -n <namespace> scale deployment/<name> --replicas=2',
  },
  WEBHOOK_DEPLOYMENT_NO_REPLICASET: {
    severity: 'error',
    check: 'webhook-deployment',
    meaning: 'the webhook\'s Deployment has no ReplicaSet: the deployment controller (kube-controller-manager) has not acted on it, so no pod was ever created',
    fix: 'check that kube-controller-manager runs and read the Deployment\'s conditions (kubectl -n <namespace> describe deployment <name>)',
  },
  WEBHOOK_DEPLOYMENT_UNAVAILABLE: {
    severity: 'error',
    check: 'webhook-deployment',
    meaning: 'none of the webhook Deployment\'s replicas is ready: pods not created (the ReplicaSet\'s ReplicaFailure says why), Pending, failing to pull their image, crash-looping or not ready; the pod findings say which',
    fix: 'read the webhook-deployment findings of its pods, then kubectl -n <namespace> describe pods and logs',
  },
  WEBHOOK_DEPLOYMENT_DEGRADED: {
    severity: 'warning',
    check: 'webhook-deployment',
    meaning: 'some, not all, of the webhook Deployment\'s replicas are ready: the webhook answers, with less redundancy than asked for',
    fix: 'read the pod findings that follow; kubectl -n <namespace> describe deployment <name>',
  },
  WEBHOOK_POD_UNSCHEDULED: {
    severity: 'warning',
    check: 'webhook-deployment',
    meaning: 'a webhook pod is Pending and not scheduled: the scheduler found no node (PodScheduled False, with its reason and message), or no scheduler has looked at it',
    fix: 'act on the scheduler\'s message (resources, node selectors, taints, affinity); without a PodScheduled condition, check that kube-scheduler runs',
  },
  WEBHOOK_POD_IMAGE_PULL_FAILING: {
    severity: 'warning',
    check: 'webhook-deployment',
    meaning: 'a webhook pod\'s container cannot start: its image cannot be pulled (ErrImagePull, ImagePullBackOff, InvalidImageName)',
    fix: 'check the image name and tag, the registry\'s reachability from the nodes and the imagePullSecrets',
  },
  WEBHOOK_POD_CRASH_LOOPING: {
    severity: 'warning',
    check: 'webhook-deployment',
    meaning: 'a webhook pod\'s container keeps exiting (CrashLoopBackOff); the finding gives its last termination reason and exit code',
    fix: 'read the previous container\'s log: kubectl -n <namespace> logs <pod> -c <container> --previous',
  },
  WEBHOOK_POD_NOT_READY: {
    severity: 'warning',
    check: 'webhook-deployment',
    meaning: 'a webhook pod is not ready for another reason: its containers wait (CreateContainerConfigError, ContainerCreating: often a Secret or ConfigMap it mounts is missing) or run and fail /readyz',
    fix: 'kubectl -n <namespace> describe pod <pod> (its events name what it waits for); for a failing /readyz, the webhook-endpoints findings and the pod\'s log',
  },

  // webhook-certificate: does the caBundle verify what it serves, and for how long
  CA_BUNDLE_EMPTY: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the webhook has no caBundle and its certificate does not verify with the system roots: every call fails TLS',
    fix: 'fill the caBundle: self-managed mode writes it, cert-manager\'s CA injector does with the inject-ca-from annotation, or `pod-identity-webhook manifests --certs DIR`',
  },
  CA_BUNDLE_MISMATCH: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the caBundle does not verify the serving certificate (a CA rotated without updating the configuration): every call fails TLS, and with failurePolicy Ignore every pod is created without identity',
    fix: 'put the CA that signed the serving certificate into the caBundle, then restart the pods created meanwhile (the pods check lists them)',
  },
  CERTIFICATE_NAME_MISMATCH: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the serving certificate does not name the host the API server connects to (the url\'s host, or NAME.NAMESPACE.svc of the Service): every call fails TLS',
    fix: 'issue the certificate for that name (a SAN; a Common Name alone is refused)',
  },
  CERTIFICATE_EXPIRED: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the serving certificate (or the CA that verifies it) has expired: every call fails TLS',
    fix: 'renew the certificate (self-managed renews itself: look at the webhook\'s log; cert-manager: kubectl describe certificate), then restart the pods created meanwhile',
  },
  CERTIFICATE_NOT_YET_VALID: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the serving certificate is not valid yet (its notBefore is in the future: a clock difference, or issued with a future date): every call fails TLS',
    fix: 'check the clocks of the machine that issued it and of the API server; issue it again',
  },
  CERTIFICATE_EXPIRES_SOON: {
    severity: 'warning',
    check: 'webhook-certificate',
    meaning: 'the serving certificate (or its CA) expires within 7 days, or within the last third of a lifetime shorter than 21 days: renewal is late',
    fix: 'check that renewal works (self-managed: renews at two thirds of the lifetime; cert-manager: renewBefore); renew by hand if it does not',
  },
  CERTIFICATE_NOT_CHECKED: {
    severity: 'info',
    check: 'webhook-certificate',
    meaning: 'the certificate could not be compared with the caBundle: the API server\'s service proxy does not show the peer certificate, and no Secret holding it was found',
    fix: 'pass --certificate-secret <namespace>/<name> (the Secret with tls.crt the webhook serves)',
  },

  CERT_MANAGER_ANNOTATION_INVALID: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the configuration\'s cert-manager.io/inject-ca-from annotation is not <namespace>/<name> of a Certificate: cert-manager\'s CA injector injects nothing',
    fix: 'set the annotation to the Certificate of the webhook\'s serving certificate, as <namespace>/<name>',
  },
  CERT_MANAGER_NOT_INSTALLED: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the configuration asks cert-manager for its caBundle (cert-manager.io/inject-ca-from), but the API server does not serve cert-manager.io/v1 Certificates: cert-manager (its CRDs) is not installed, so nothing issues the certificate or fills the caBundle',
    fix: 'install cert-manager (with its CRDs and the cainjector), then apply the webhook\'s Certificate; or use the self-managed mode',
  },
  CERT_MANAGER_CERTIFICATE_MISSING: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the Certificate the cert-manager.io/inject-ca-from annotation names does not exist: cert-manager issues no serving certificate and its CA injector fills no caBundle',
    fix: 'apply the webhook\'s Certificate (manifests/cert-manager/certificate.yaml, or the chart with certificates.mode cert-manager), or correct the annotation',
  },
  CERT_MANAGER_CERTIFICATE_NOT_READY: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the Certificate the annotation names is not Ready (its Ready condition False or absent, with cert-manager\'s reason and message): its Secret is missing or stale',
    fix: 'kubectl -n <namespace> describe certificate <name>, and its CertificateRequest and Issuer: act on the reason given',
  },
  CERT_MANAGER_CA_NOT_INJECTED: {
    severity: 'error',
    check: 'webhook-certificate',
    meaning: 'the caBundle does not hold the CA (ca.crt) of the Certificate\'s Secret: cert-manager\'s CA injector has not injected it (not running, not allowed to patch the configuration, or the Secret has no ca.crt), so the API server cannot verify the webhook',
    fix: 'check that the cert-manager-cainjector pods run and read their log; the Secret must have a ca.crt',
  },

  // service-accounts: their annotations
  ROLE_ARN_INVALID: {
    severity: 'error',
    check: 'service-accounts',
    meaning: 'the role-arn annotation is not an IAM role ARN: the webhook injects nothing into the ServiceAccount\'s pods',
    fix: 'set it to arn:<partition>:iam::<12-digit account>:role/<name>',
  },
  ANNOTATION_INVALID: {
    severity: 'warning',
    check: 'service-accounts',
    meaning: 'an identity annotation has a value the webhook cannot use (audience empty, sts-regional-endpoints not true/false, token-expiration not whole seconds or too large): it is ignored and the default used',
    fix: 'correct the annotation the finding names',
  },
  ANNOTATION_PREFIX_MISMATCH: {
    severity: 'warning',
    check: 'service-accounts',
    meaning: 'the ServiceAccount has a role-arn annotation under another prefix than the one the webhook reads (--annotation-prefix): it is ignored',
    fix: 'use the webhook\'s prefix, or give doctor (and the webhook) the --annotation-prefix you meant',
  },

  // pod-identities: the container-credentials identities source
  POD_IDENTITIES_INVALID: {
    severity: 'warning',
    check: 'pod-identities',
    meaning: 'the identities ConfigMap does not hold valid identities JSON: the webhook keeps the last good set it read (none, after a restart)',
    fix: 'correct its config key: {"identities":[{"namespace":"<namespace>","serviceAccount":"<name>"}]}',
  },

  // admission-policy: the MutatingAdmissionPolicy mode (manifests --mode admission-policy)
  POLICY_NOT_BOUND: {
    severity: 'error',
    check: 'admission-policy',
    meaning: 'a MutatingAdmissionPolicy of the project has no MutatingAdmissionPolicyBinding naming it: the API server never evaluates it, so its pods get no identity from it',
    fix: 'apply the binding printed with it by `pod-identity-webhook manifests --mode admission-policy` (same name as the policy)',
  },
  POLICY_BINDING_ORPHANED: {
    severity: 'warning',
    check: 'admission-policy',
    meaning: 'a MutatingAdmissionPolicyBinding of the project names a policy that does not exist: it does nothing (a policy deleted or renamed without its binding)',
    fix: 'apply the policy again (`manifests --mode admission-policy`), or delete the binding',
  },
  POLICY_PARAM_REF_INVALID: {
    severity: 'error',
    check: 'admission-policy',
    meaning: 'the binding\'s paramRef is not `{selector: {}, parameterNotFoundAction: Allow}`: the policy does not see the pod\'s own ServiceAccount as its parameter (a name picks one ServiceAccount, a selector with labels or a namespace others), so most pods get no identity',
    fix: 'apply the binding as `manifests --mode admission-policy` prints it',
  },
  POLICY_PARAM_KIND_INVALID: {
    severity: 'error',
    check: 'admission-policy',
    meaning: 'the policy\'s paramKind is not {apiVersion: v1, kind: ServiceAccount}: its CEL reads the ServiceAccount\'s annotations from params, which are then another object (or none)',
    fix: 'apply the policy as `manifests --mode admission-policy` prints it',
  },
  BOTH_MODES_ACTIVE: {
    severity: 'info',
    check: 'admission-policy',
    meaning: 'the webhook configuration and the admission policies are both installed: both mutate pods; they inject once (the second finds nothing left to add, docs/admission-policy.md), as long as they are rendered from the same settings',
    fix: 'keep one mode when the migration is over (delete the MutatingWebhookConfiguration, or the policies and bindings)',
  },
  POLICY_SETTINGS_DIFFER: {
    severity: 'warning',
    check: 'admission-policy',
    meaning: 'with both modes installed, a policy is not what `manifests --mode admission-policy` renders from doctor\'s flags (the webhook\'s): its audience, mount path, region or another setting differs, so a pod gets the settings of whichever mutates first and the other may add a second token or variables',
    fix: 'render the policies again with the flags serve runs with (and give doctor those flags), then kubectl apply them',
  },

  // pods: what runs without the identity it should have
  POD_NOT_MUTATED: {
    severity: 'error',
    check: 'pods',
    meaning: 'the pod\'s ServiceAccount has an identity, the webhook would inject it, but the pod has none of it: created while the webhook was unreachable (failurePolicy Ignore), before it was installed, or before the ServiceAccount was annotated. Its AWS SDKs fall back to the node\'s role, or find no credentials',
    fix: 'recreate the pod: kubectl rollout restart for its Deployment, StatefulSet or DaemonSet, otherwise delete it (the finding names the owner)',
  },
  POD_IDENTITY_STALE: {
    severity: 'warning',
    check: 'pods',
    meaning: 'the pod carries an identity other than the one the webhook would inject now (the role-arn changed, or the ServiceAccount moved between IRSA and Pod Identity, or lost its role)',
    fix: 'recreate the pod so it is mutated again (the webhook only mutates at creation)',
  },
  POD_PARTIALLY_MUTATED: {
    severity: 'warning',
    check: 'pods',
    meaning: 'the pod has the identity, but some container lacks variables or the token mount the webhook would add (a container added by a later webhook with reinvocationPolicy Never, or doctor was given other flags than the webhook runs with)',
    fix: 'give doctor the flags the webhook runs with; otherwise set reinvocationPolicy IfNeeded and recreate the pod',
  },
  POD_TOKEN_FILE_NOT_A_TOKEN: {
    severity: 'error',
    check: 'pods',
    meaning: 'a container\'s token file variable (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) points into a volume that is not a projected serviceAccountToken of the expected audience and path (an emptyDir or hostPath under the token volume\'s name, which webhooks matching volumes by name took for the token), or where nothing is mounted: its AWS SDKs read no token, or the wrong one',
    fix: 'recreate the pod (the finding names how): the webhook now adds its own token volume under a free name; or rename the volume that has the token volume\'s name',
  },
  POD_NOT_SELECTED: {
    severity: 'warning',
    check: 'pods',
    meaning: 'the pod\'s ServiceAccount has an identity but the objectSelector excludes the pod (for example the opt-out label): the webhook is never called for it',
    fix: 'remove the label that excludes it and recreate the pod, or remove the identity from the ServiceAccount if the opt-out is meant',
  },

  // image-pull: pod tokens for the kubelet's ECR credential provider (docs/image-pull.md)
  ECR_ROLE_ARN_INVALID: {
    severity: 'error',
    check: 'image-pull',
    meaning: 'a ServiceAccount\'s eks.amazonaws.com/ecr-role-arn is not an IAM role ARN: ecr-credential-provider\'s AssumeRoleWithWebIdentity fails, and so do its pods\' pulls from ECR',
    fix: 'set it to arn:<partition>:iam::<12-digit account>:role/<name>, or remove it to pull with the node\'s credentials',
  },
  NODE_AUDIENCE_NOT_GRANTED: {
    severity: 'error',
    check: 'image-pull',
    meaning: 'a ServiceAccount carries eks.amazonaws.com/ecr-role-arn, but the API server does not authorize nodes for request-serviceaccounts-token-audience on the ECR provider\'s audience (sts.amazonaws.com) for it, and its pods mount no token of that audience: NodeRestriction refuses the kubelet\'s token request (ServiceAccountNodeAudienceRestriction, on since 1.32), so pulls from ECR fail',
    fix: 'grant it to the nodes: pod-identity-webhook image-pull-config --rbac | kubectl apply -f - (or the chart\'s imagePull.nodeAudienceRbac=true, or manifests/optional/image-pull)',
  },

  // oidc: the cluster's issuer, as the API server serves it
  OIDC_DISCOVERY_MISSING: {
    severity: 'error',
    check: 'oidc',
    meaning: 'the API server does not serve /.well-known/openid-configuration (it serves it only with an https --service-account-issuer): STS cannot verify the cluster\'s tokens unless the issuer is hosted elsewhere',
    fix: 'set --service-account-issuer to an https URL (and --service-account-jwks-uri if needed), or host the discovery document and JWKS where the issuer points',
  },
  OIDC_DISCOVERY_INVALID: {
    severity: 'error',
    check: 'oidc',
    meaning: 'the discovery document lacks issuer or jwks_uri, or is not a JSON object',
    fix: 'check the API server\'s --service-account-issuer and --service-account-jwks-uri',
  },
  OIDC_ISSUER_NOT_HTTPS: {
    severity: 'warning',
    check: 'oidc',
    meaning: 'the issuer or the jwks_uri is not an https URL: an IAM OIDC provider must be https, and STS fetches the keys over https',
    fix: 'set --service-account-issuer (and --service-account-jwks-uri) to https URLs',
  },
  OIDC_ISSUER_PORT: {
    severity: 'warning',
    check: 'oidc',
    meaning: 'the issuer URL has a port: an IAM OIDC provider is reached on 443, and its URL must equal the tokens\' iss',
    fix: 'serve the issuer (or a public copy of its discovery document and JWKS) on https without a port, and use that URL as --service-account-issuer',
  },
  OIDC_JWKS_INVALID: {
    severity: 'error',
    check: 'oidc',
    meaning: 'the JWKS (/openid/v1/jwks) is not served, not a key set, or has no RSA signing key: STS cannot verify the tokens',
    fix: 'check the API server\'s --service-account-key-file (the public keys it publishes)',
  },
} as const satisfies Record<string, CodeInfo>;

export type DoctorCode = keyof typeof DOCTOR_CODES;

export const ALL_CODES = Object.keys(DOCTOR_CODES) as DoctorCode[];

/** The codes that say a check was not made (a read failed or was refused): with no error, the verdict is `incomplete`. */
export const NOT_CHECKED_CODES: ReadonlySet<string> = new Set<DoctorCode>(['CHECK_FORBIDDEN', 'CHECK_FAILED']);
