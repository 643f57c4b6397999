import type { IncomingMessage } from 'node:http';

export type BodyResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly status: 400 | 413; readonly message: string };

/**
 * Calls `done` once with the whole request body, or with 413 once it passes `maxBytes` (the rest is
 * read and dropped, so the client can still read the answer). For the hot paths that skip express
 * and its body parser; a callback rather than a promise, which costs a measurable share per request.
 */
export function onBody(req: IncomingMessage, maxBytes: number, done: (result: BodyResult) => void): void {
  const declared = Number(rawHeader(req, 'content-length'));
  let tooLarge = Number.isFinite(declared) && declared > maxBytes;
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let answered = false;
  const finish = (result: BodyResult): void => {
    if (answered) return;
    answered = true;
    done(result);
  };
  req.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > maxBytes) {
      tooLarge = true;
      first = chunks = undefined;
    } else if (first === undefined) first = chunk;
    else (chunks ??= [first]).push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) finish({ ok: false, status: 413, message: `the request body is larger than ${maxBytes} bytes` });
    else finish({ ok: true, body: chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY) });
  });
  req.on('error', () => finish({ ok: false, status: 400, message: 'the request body could not be read' }));
}

const EMPTY = Buffer.alloc(0);

/** `onBody` as a promise, for handlers that are async anyway. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => onBody(req, maxBytes, resolve));
}

/**
 * One request header from the raw list: reading `req.headers` makes Node build an object of every
 * header, which costs more on a hot path than the few lookups it needs.
 */
export function rawHeader(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    if (raw[index]!.length === name.length && raw[index]!.toLowerCase() === name) return raw[index + 1];
  }
  return undefined;
}
