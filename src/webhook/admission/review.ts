import type { PatchOperation } from '../engine/types.js';
import { isJsonObject } from '../../shared/json.js';

export const ADMISSION_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionVersion = (typeof ADMISSION_VERSIONS)[number];

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

/** The parts of an AdmissionReview request the webhook acts on. */
export interface AdmissionRequestView {
  readonly apiVersion: AdmissionVersion;
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  readonly subResource: string | undefined;
  readonly operation: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly dryRun: boolean;
  readonly object: unknown;
}

/** Why a review could not be read; `uid` is echoed back when the request had a usable one. */
export interface ReviewProblem {
  readonly message: string;
  readonly apiVersion: AdmissionVersion;
  readonly uid: string;
}

export type ParsedReview = { readonly ok: true; readonly value: AdmissionRequestView } | { readonly ok: false; readonly problem: ReviewProblem };

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isAdmissionVersion(value: unknown): value is AdmissionVersion {
  return (ADMISSION_VERSIONS as readonly unknown[]).includes(value);
}

const MAX_UID_LENGTH = 256;

/**
 * Validates the AdmissionReview envelope. The object inside is left for the pod reader; only what
 * routing needs (kind, resource, operation, uid) must be well-formed here.
 */
export function parseAdmissionReview(body: unknown): ParsedReview {
  const fail = (message: string, apiVersion: AdmissionVersion = 'admission.k8s.io/v1', uid = ''): ParsedReview => ({
    ok: false,
    problem: { message, apiVersion, uid },
  });
  if (!isJsonObject(body)) return fail('the body must be a JSON object (an AdmissionReview)');
  if (body.kind !== 'AdmissionReview') {
    return fail(`kind must be AdmissionReview, got ${JSON.stringify(body.kind ?? null).slice(0, 64)}`);
  }
  if (!isAdmissionVersion(body.apiVersion)) {
    return fail(
      `apiVersion must be one of ${ADMISSION_VERSIONS.join(', ')}, got ${JSON.stringify(body.apiVersion ?? null).slice(0, 64)}`,
    );
  }
  const apiVersion = body.apiVersion;
  const request = body.request;
  if (!isJsonObject(request)) return fail('the AdmissionReview has no request object', apiVersion);
  const uid = text(request.uid);
  if (!uid) return fail('request.uid is missing or empty', apiVersion);
  if (uid.length > MAX_UID_LENGTH) return fail(`request.uid is longer than ${MAX_UID_LENGTH} characters`, apiVersion);
  const kind = request.kind;
  const resource = request.resource;
  if (!isJsonObject(kind) || typeof kind.kind !== 'string') return fail('request.kind is missing', apiVersion, uid);
  if (!isJsonObject(resource) || typeof resource.resource !== 'string') {
    return fail('request.resource is missing', apiVersion, uid);
  }
  const operation = text(request.operation);
  if (!operation) return fail('request.operation is missing', apiVersion, uid);
  return {
    ok: true,
    value: {
      apiVersion,
      uid,
      kind: { group: text(kind.group) ?? '', version: text(kind.version) ?? '', kind: kind.kind },
      resource: { group: text(resource.group) ?? '', version: text(resource.version) ?? '', resource: resource.resource },
      subResource: text(request.subResource) || undefined,
      operation,
      namespace: text(request.namespace) || undefined,
      name: text(request.name) || undefined,
      dryRun: request.dryRun === true,
      object: request.object,
    },
  };
}

export interface AdmissionReviewResponse {
  readonly apiVersion: AdmissionVersion;
  readonly kind: 'AdmissionReview';
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly patchType?: 'JSONPatch';
    readonly patch?: string;
    readonly warnings?: string[];
    readonly status?: { readonly code: number; readonly message: string; readonly status: 'Failure' };
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Prefix so `kubectl` users can tell which webhook a warning comes from. */
export const WARNING_PREFIX = 'pod-identity-webhook: ';

/** An allowing response; the patch is attached (base64 JSON) only when it has operations. */
export function allowResponse(
  apiVersion: AdmissionVersion,
  uid: string,
  patch: readonly PatchOperation[],
  warnings: readonly string[],
): AdmissionReviewResponse {
  const response: Mutable<AdmissionReviewResponse['response']> = { uid, allowed: true };
  if (patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length > 0) response.warnings = warnings.map((warning) => WARNING_PREFIX + warning);
  return { apiVersion, kind: 'AdmissionReview', response };
}

/** A refusing response carrying an HTTP-style status code and a message the user sees. */
export function denyResponse(apiVersion: AdmissionVersion, uid: string, code: number, message: string): AdmissionReviewResponse {
  return {
    apiVersion,
    kind: 'AdmissionReview',
    response: { uid, allowed: false, status: { code, message, status: 'Failure' } },
  };
}

/**
 * The response as JSON text. Same output as JSON.stringify, written out for the one shape that
 * carries a patch: the base64 patch (tens of kB for large pods, and free of characters JSON
 * escapes) is spliced in rather than scanned for escapes, and no intermediate object is built.
 */
export function serializeReview(review: AdmissionReviewResponse): string {
  const { uid, allowed, patchType, patch, warnings, status } = review.response;
  if (patch === undefined || patchType === undefined || status !== undefined) return JSON.stringify(review);
  return (
    `{"apiVersion":"${review.apiVersion}","kind":"AdmissionReview","response":{"uid":${JSON.stringify(uid)},"allowed":${allowed},` +
    `"patchType":"${patchType}","patch":"${patch}"${warnings === undefined ? '' : `,"warnings":${JSON.stringify(warnings)}`}}}`
  );
}
