import type { IncomingMessage } from 'node:http';

export type BodyResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly status: 400 | 413; readonly message: string };

/**
 * The whole request body, or 413 once it passes `maxBytes` (the rest is read and dropped, so the
 * client can still read the answer). For the hot paths that skip express and its body parser.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(rawHeader(req, 'content-length'));
    let tooLarge = Number.isFinite(declared) && declared > maxBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) resolve({ ok: false, status: 413, message: `the request body is larger than ${maxBytes} bytes` });
      else resolve({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    });
    req.on('error', () => resolve({ ok: false, status: 400, message: 'the request body could not be read' }));
  });
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
