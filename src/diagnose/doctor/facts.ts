import type { MutationOptions } from '../../webhook/engine/types.js';
import type { PodIdentities } from '../../webhook/pod-identity/identities.js';

/**
 * What `doctor` read from the cluster and learnt over the network, as plain data: the checks are
 * pure functions of this (the fixtures in test/fixtures/doctor/ are these facts written as YAML).
 * The live gathering (`gather.ts`) fills it; pods come separately, page by page, so that a large
 * cluster's pods are never all held at once.
 */
export type Fetched<T> =
  | { readonly status: 'ok'; readonly value: T }
  /** 404: the object (or the API) does not exist. */
  | { readonly status: 'missing' }
  /** 401/403 from the API server. */
  | { readonly status: 'forbidden'; readonly error: string }
  /** A timeout, a network error, a 5xx, an answer too large or not JSON. */
  | { readonly status: 'failed'; readonly error: string };

/** The items of a (paginated) list; `truncated` when the cap was reached before the last page. */
export interface ListResult {
  readonly items: readonly unknown[];
  readonly truncated: boolean;
}

/** An HTTP answer (body parsed as JSON when it is, else its text, bounded). */
export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** A TLS connection to a url clientConfig's host, as the API server makes it, verified against the caBundle. */
export type TlsObservation =
  | {
      readonly connected: true;
      /** The certificates the server sent, leaf first (PEM). */
      readonly chain: readonly string[];
      /** OpenSSL's or node's verdict with the caBundle as the only CAs (system roots without one); undefined when it verified. */
      readonly authorizationError: string | undefined;
      /** GET /readyz on the same terms, when it answered. */
      readonly readyz: Fetched<HttpAnswer>;
    }
  | { readonly connected: false; readonly error: string };

/** What was learnt about one webhook's clientConfig. */
export interface ServiceFacts {
  readonly service: Fetched<unknown>;
  readonly endpointSlices: Fetched<ListResult>;
  /** Read when the EndpointSlices show no ready endpoint, or cannot be read. */
  readonly endpoints: Fetched<unknown> | undefined;
  /** GET /readyz through the API server's service proxy. */
  readonly readyz: Fetched<HttpAnswer>;
  /** The Secret holding the certificate the webhook serves, when one was found (name, and what was read). */
  readonly secret: { readonly name: string; readonly fetched: Fetched<unknown> } | undefined;
  /** The Secrets looked for, for the message when none was found. */
  readonly secretsTried: readonly string[];
  /** What runs behind the Service's selector; undefined when the Service was not read or selects nothing. */
  readonly workload?: WorkloadFacts | undefined;
}

/** The Service's namespace's Deployments and ReplicaSets, and the pods its selector matches (all capped lists). */
export interface WorkloadFacts {
  /** The Service's spec.selector. */
  readonly selector: Readonly<Record<string, string>>;
  readonly deployments: Fetched<ListResult>;
  readonly replicaSets: Fetched<ListResult>;
  readonly pods: Fetched<ListResult>;
}

/**
 * The cert-manager mode: the configuration's `cert-manager.io/inject-ca-from` annotation, the
 * Certificate it names and that Certificate's Secret.
 */
export interface CertManagerFacts {
  /** The annotation's value as written. */
  readonly annotation: string;
  /** Undefined when the annotation is not NAMESPACE/NAME. */
  readonly certificate: Fetched<unknown> | undefined;
  /** GET /apis/cert-manager.io/v1, read when the Certificate is missing: a 404 there is cert-manager not installed. */
  readonly api: Fetched<unknown> | undefined;
  /** The Secret of the Certificate's spec.secretName, when the Certificate names one. */
  readonly secret: { readonly name: string; readonly fetched: Fetched<unknown> } | undefined;
}

export interface WebhookFacts {
  readonly service?: ServiceFacts;
  readonly url?: TlsObservation;
}

export type IdentitiesFacts =
  | { readonly source: string; readonly identities: PodIdentities }
  /** The ConfigMap exists but its config key is not valid identities JSON. */
  | { readonly source: string; readonly invalid: string }
  | { readonly source: string; readonly unread: Fetched<never> };

/** What was read for the MutatingAdmissionPolicy mode. */
export interface PolicyFacts {
  /** The API server's /version gitVersion, when read. */
  readonly version: string | undefined;
  /** Every MutatingAdmissionPolicy (404: the API is not served). */
  readonly policies: Fetched<ListResult>;
  readonly bindings: Fetched<ListResult>;
}

/** A SubjectAccessReview's answer. */
export interface AccessReviewAnswer {
  readonly allowed: boolean;
  /** The authorizer's reason, when it gave one. */
  readonly reason: string;
}

/**
 * Image pulls with pod tokens: may the kubelets mint the ECR provider's audience for the
 * ServiceAccounts that carry eks.amazonaws.com/ecr-role-arn? Asked of the API server as a
 * SubjectAccessReview for a node, one per ServiceAccount (RBAC may name them).
 */
export interface ImagePullFacts {
  readonly audience: string;
  /** The node name the reviews were made for (system:node:NAME in system:nodes). */
  readonly node: string;
  /** True when the name is made up (no node could be read): a grant to named nodes only is not seen. */
  readonly nodeAssumed: boolean;
  /** By ServiceAccount `ns/name`: the first ones carrying the annotation (capped). */
  readonly reviews: ReadonlyMap<string, Fetched<AccessReviewAnswer>>;
}

export interface DoctorFacts {
  readonly now: Date;
  readonly options: MutationOptions;
  /** --namespace: ServiceAccounts, pods and namespaces of this namespace only. */
  readonly namespace: string | undefined;
  readonly configurationName: string;
  readonly configuration: Fetched<unknown>;
  readonly namespaces: Fetched<ListResult>;
  readonly serviceAccounts: Fetched<ListResult>;
  /** Undefined when doctor was not told where the webhook reads its Pod Identity ServiceAccounts. */
  readonly identities: IdentitiesFacts | undefined;
  /** Set when the configuration carries cert-manager.io/inject-ca-from. */
  readonly certManager?: CertManagerFacts | undefined;
  /** By webhook name; a webhook without an entry was not probed. */
  readonly webhooks: ReadonlyMap<string, WebhookFacts>;
  readonly oidc: { readonly discovery: Fetched<unknown>; readonly jwks: Fetched<unknown> };
  /** The MutatingAdmissionPolicy mode's objects. */
  readonly admissionPolicies: PolicyFacts;
  /** The most pods scanned. */
  readonly maxPods: number;
  /** Undefined when not gathered (no ServiceAccount carries eks.amazonaws.com/ecr-role-arn, or the ServiceAccounts were not read). */
  readonly imagePull?: ImagePullFacts | undefined;
}

/** The pods, page by page (a list's pages, or one page in a fixture); `truncated` after the last page when capped. */
export interface PodPages {
  readonly pages: AsyncIterable<readonly unknown[]>;
  /** Read after the pages are consumed. */
  readonly outcome: () => { readonly truncated: boolean; readonly failure: Fetched<never> | undefined };
}
