/**
 * The parts of a Pod the mutation engine reads. Produced by `readPod` from untrusted JSON; the
 * original object is never rebuilt from this view, so fields the engine does not know survive.
 */
export interface EnvVarView {
  /** Undefined when the entry has no string name (the API server would reject it later). */
  readonly name: string | undefined;
  readonly value: string | undefined;
}

export interface VolumeMountView {
  readonly name: string | undefined;
  readonly mountPath: string | undefined;
  readonly subPath: string | undefined;
}

/** A `serviceAccountToken` source of a projected volume: the token's audience and its file in the volume. */
export interface ProjectedTokenView {
  /** Undefined when absent (the API server's own audiences) or not a string. */
  readonly audience: string | undefined;
  readonly path: string | undefined;
}

export interface VolumeView {
  /** Empty when the volume has no string name (the API server would reject it later). */
  readonly name: string;
  /** The volume's source, for messages: its first field other than `name` (`emptyDir`, `hostPath`, `projected`, ...). */
  readonly source: string | undefined;
  /** The `serviceAccountToken` sources of a projected volume, in order; empty for any other volume. */
  readonly serviceAccountTokens: readonly ProjectedTokenView[];
}

export interface ContainerView {
  readonly name: string;
  /** Undefined when the container has no `env` array (the patch must create it). */
  readonly env: readonly EnvVarView[] | undefined;
  readonly volumeMounts: readonly VolumeMountView[] | undefined;
}

export interface PodView {
  /** False when the object has no `metadata` at all (only seen in hand-written files). */
  readonly hasMetadata: boolean;
  readonly name: string | undefined;
  readonly generateName: string | undefined;
  readonly namespace: string | undefined;
  /** `spec.serviceAccountName`, or `default` when the pod names none. */
  readonly serviceAccountName: string;
  /** Undefined when `metadata.annotations` is absent. Non-string values are dropped. */
  readonly annotations: Readonly<Record<string, string>> | undefined;
  /** Undefined when `metadata.labels` is absent. Non-string values are dropped. */
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Undefined when `spec.volumes` is absent (the patch must create it). */
  readonly volumes: readonly VolumeView[] | undefined;
  readonly containers: readonly ContainerView[];
  readonly initContainers: readonly ContainerView[] | undefined;
}

/** What the engine needs of a ServiceAccount: who it is and its annotations. */
export interface ServiceAccountView {
  readonly name: string;
  readonly namespace: string;
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * True when the ServiceAccount is listed in the container-credentials identities (EKS Pod
   * Identity): its pods get the agent's URI and token file instead of IRSA, whatever `role-arn` says.
   */
  readonly podIdentity?: boolean;
}

/** Where the EKS Pod Identity token goes and where the SDKs fetch credentials with it. */
export interface ContainerCredentialsOptions {
  readonly audience: string;
  /** Absolute directory the token volume is mounted at. */
  readonly tokenMountPath: string;
  readonly tokenVolumeName: string;
  /** File name of the token inside the volume (relative). */
  readonly tokenPath: string;
  /** Injected as AWS_CONTAINER_CREDENTIALS_FULL_URI. */
  readonly fullUri: string;
}

/** Server-wide settings; the lowest-precedence source for every per-pod value. */
export interface MutationOptions {
  /** Annotation domain, e.g. `eks.amazonaws.com` (keys are `<prefix>/role-arn`, ...). */
  readonly annotationPrefix: string;
  readonly tokenAudience: string;
  readonly tokenExpirationSeconds: number;
  readonly tokenMountPath: string;
  /** Injected as AWS_DEFAULT_REGION and AWS_REGION when set. */
  readonly awsDefaultRegion: string | undefined;
  /** Inject AWS_STS_REGIONAL_ENDPOINTS=regional unless the ServiceAccount says otherwise. */
  readonly stsRegionalEndpoints: boolean;
  /** Injected as AWS_ENDPOINT_URL_STS when set (for the local lab STS). */
  readonly stsEndpointUrl: string | undefined;
  /** Settings of the Pod Identity mode, used for ServiceAccounts marked `podIdentity`. */
  readonly containerCredentials: ContainerCredentialsOptions;
}

/** RFC 6902 operations the engine emits. */
export type PatchOperation =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown };

export interface MutationResult {
  readonly patch: PatchOperation[];
  /** Human-readable problems with annotation values; surfaced as AdmissionResponse warnings. */
  readonly warnings: string[];
}
