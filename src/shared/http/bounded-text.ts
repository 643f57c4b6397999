/** An answer longer than the reader's cap: what was read so far is dropped and the body cancelled. */
export class AnswerTooLargeError extends Error {
  override readonly name = 'AnswerTooLargeError';
  readonly code = 'ERR_ANSWER_TOO_LARGE';
}

/**
 * A fetch answer's body as text, read up to `maxBytes` (decoded bytes, so a compressed answer is
 * bounded too): a declared `content-length` over the cap is refused before reading, and a body that
 * grows past it is cancelled at once, which closes the connection instead of reading it to its end.
 * `what` names the server in the error (`STS answered with more than 65536 bytes`).
 */
export async function readBoundedText(response: Response, maxBytes: number, what: string): Promise<string> {
  const tooLarge = (): AnswerTooLargeError => new AnswerTooLargeError(`${what} answered with more than ${maxBytes} bytes`);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
