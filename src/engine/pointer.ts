/** Builds an RFC 6901 JSON Pointer from raw segments, escaping `~` as `~0` and `/` as `~1`. */
export function jsonPointer(...segments: ReadonlyArray<string | number>): string {
  return segments
    .map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}
