import type { SigV4Error } from '../../shared/aws/sigv4.js';

/**
 * STS errors (and the lab IAM's: InvalidInput, NoSuchEntity, MalformedPolicyDocument): one class, a stable AWS error code per failure, mapped once to the HTTP status and the
 * `<ErrorResponse>` the AWS SDKs parse. `reason` is for logs only: real STS never says which
 * trust-policy condition failed, so neither do we on the wire.
 */
export type StsErrorCode =
  | 'AccessDenied'
  | 'ExpiredToken'
  | 'ExpiredTokenException'
  | 'IDPCommunicationError'
  | 'IncompleteSignature'
  | 'InvalidAction'
  | 'InvalidClientTokenId'
  | 'InvalidIdentityToken'
  | 'InvalidInput'
  | 'MalformedPolicyDocument'
  | 'MalformedQueryString'
  | 'MissingAuthenticationToken'
  | 'NoSuchEntity'
  | 'PackedPolicyTooLarge'
  | 'SignatureDoesNotMatch'
  | 'ValidationError';

const STATUS: Record<StsErrorCode, number> = {
  AccessDenied: 403,
  ExpiredToken: 400,
  ExpiredTokenException: 400,
  IDPCommunicationError: 400,
  IncompleteSignature: 400,
  InvalidAction: 400,
  InvalidClientTokenId: 403,
  InvalidIdentityToken: 400,
  InvalidInput: 400,
  MalformedPolicyDocument: 400,
  MalformedQueryString: 404,
  MissingAuthenticationToken: 403,
  NoSuchEntity: 404,
  PackedPolicyTooLarge: 400,
  SignatureDoesNotMatch: 403,
  ValidationError: 400,
};

export class StsError extends Error {
  override readonly name = 'StsError';
  readonly status: number;

  constructor(
    readonly code: StsErrorCode,
    message: string,
    /** What really went wrong, when the wire message is deliberately vague. */
    readonly reason: string = message,
  ) {
    super(message);
    this.status = STATUS[code];
  }

  /** Client errors are `Sender` faults in the AWS Query protocol. */
  get type(): 'Sender' {
    return 'Sender';
  }
}

export const NOT_AUTHORIZED = 'Not authorized to perform sts:AssumeRoleWithWebIdentity';

export function accessDenied(reason: string): StsError {
  return new StsError('AccessDenied', NOT_AUTHORIZED, reason);
}

export function validationError(message: string): StsError {
  return new StsError('ValidationError', message);
}

/** The STS answer to a request that failed SigV4 (the codes are the same on every AWS API). */
export function fromSigV4Error(error: SigV4Error): StsError {
  return new StsError(error.code, error.message);
}
