/** What an AWS SDK call rejects with, as far as the tests read it. */
export interface SdkError {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
}

/** The error an SDK call fails with; throws when it succeeds. */
export async function sdkError(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the SDK call to fail');
}
