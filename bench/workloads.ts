/** What the benchmarks send: realistic pods, ServiceAccounts and AdmissionReviews. */

/** A container as real workloads write them: env (some from secrets), ports, resources, probes, mounts. */
export function realisticContainer(index: number): Record<string, unknown> {
  return {
    name: `container-${index}`,
    image: `123456789012.dkr.ecr.us-west-2.amazonaws.com/team/service-${index}:1.${index}.0`,
    imagePullPolicy: 'IfNotPresent',
    command: ['/app/server'],
    args: ['--port=8080', `--shard=${index}`, '--log-format=json'],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'SERVICE_NAME', value: `service-${index}` },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'FEATURE_FLAGS', value: 'a,b,c' },
    ],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/live', port: 8080 }, initialDelaySeconds: 10 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app' },
      { name: 'tmp', mountPath: '/tmp' },
    ],
    securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
  };
}

export function realisticPod(containers: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'service-7d9f8c-',
      namespace: 'shop',
      labels: { app: 'service', 'pod-template-hash': '7d9f8c' },
      annotations: { 'prometheus.io/scrape': 'true' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'service-7d9f8c', uid: '0b6b1d4c-1111-2222-3333-444455556666', controller: true }],
    },
    spec: {
      serviceAccountName: 'service',
      containers: Array.from({ length: containers }, (_, index) => realisticContainer(index)),
      volumes: [
        { name: 'config', configMap: { name: 'service-config' } },
        { name: 'tmp', emptyDir: {} },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
    },
  };
}

export const REVIEW_UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

export function admissionReviewFor(pod: Record<string, unknown>, apiVersion: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1' = 'admission.k8s.io/v1'): Record<string, unknown> {
  return {
    apiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: REVIEW_UID,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'u', groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

export const BENCH_ROLE_ARN = 'arn:aws:iam::111122223333:role/service';

/**
 * A ServiceAccount as a real cluster holds it: labels, the kubectl last-applied annotation,
 * managedFields, secrets; one in five carries a role.
 */
export function realisticServiceAccount(index: number): Record<string, unknown> {
  const namespace = `team-${index % 500}`;
  const name = `service-${index}`;
  const annotations: Record<string, string> = {
    'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace, labels: { app: name, team: namespace }, annotations: index % 5 === 0 ? { 'eks.amazonaws.com/role-arn': BENCH_ROLE_ARN } : {} },
    }),
    'meta.helm.sh/release-name': `release-${index % 97}`,
    'meta.helm.sh/release-namespace': namespace,
  };
  if (index % 5 === 0) annotations['eks.amazonaws.com/role-arn'] = `arn:aws:iam::111122223333:role/service-${index}`;
  return {
    metadata: {
      name,
      namespace,
      labels: { app: name, team: namespace, 'app.kubernetes.io/managed-by': 'Helm' },
      annotations,
      creationTimestamp: '2026-01-02T03:04:05Z',
      managedFields: [
        {
          manager: 'kubectl-client-side-apply',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-01-02T03:04:05Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app': {}, 'f:team': {} } } },
        },
      ],
    },
    secrets: [{ name: `${name}-token-abcde` }],
    imagePullSecrets: [{ name: 'registry' }],
  };
}
