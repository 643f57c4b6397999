/**
 * EKS Auth errors as the REST-JSON protocol carries them: the code in `X-Amzn-ErrorType`, a body of
 * `{"message": …}`, the HTTP status of the code. One class; `reason` (what really failed) is logged,
 * the wire message stays as terse as the real service's.
 */
export type EksAuthErrorCode =
  | 'AccessDeniedException'
  | 'ExpiredTokenException'
  | 'IncompleteSignatureException'
  | 'InternalServerException'
  | 'InvalidParameterException'
  | 'InvalidRequestException'
  | 'InvalidSignatureException'
  | 'InvalidTokenException'
  | 'MissingAuthenticationTokenException'
  | 'ResourceNotFoundException'
  | 'ServiceUnavailableException'
  | 'ThrottlingException'
  | 'UnknownOperationException'
  | 'UnrecognizedClientException';

const STATUS: Record<EksAuthErrorCode, number> = {
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  IncompleteSignatureException: 403,
  InternalServerException: 500,
  InvalidParameterException: 400,
  InvalidRequestException: 400,
  InvalidSignatureException: 403,
  InvalidTokenException: 400,
  MissingAuthenticationTokenException: 403,
  ResourceNotFoundException: 404,
  ServiceUnavailableException: 503,
  ThrottlingException: 429,
  UnknownOperationException: 404,
  UnrecognizedClientException: 403,
};

export class EksAuthError extends Error {
  override readonly name = 'EksAuthError';
  readonly status: number;

  constructor(
    readonly code: EksAuthErrorCode,
    message: string,
    readonly reason: string = message,
    /** The status when it is not the code's own (authorization failures of the caller are 403, as on every AWS API). */
    status?: number,
  ) {
    super(message);
    this.status = status ?? STATUS[code];
  }

  get fault(): 'client' | 'server' {
    return this.status >= 500 ? 'server' : 'client';
  }
}

/** What EKS answers when the role's trust policy does not let `pods.eks.amazonaws.com` in (agent#139). */
export const EKS_CANNOT_ASSUME = 'Unauthorized Exception! EKS does not have permissions to assume the associated role.';
