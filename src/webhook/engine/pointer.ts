/** Builds an RFC 6901 JSON Pointer from raw segments, escaping `~` as `~0` and `/` as `~1`. */
export function jsonPointer(...segments: ReadonlyArray<string | number>): string {
  let pointer = '';
  for (const segment of segments) {
    const text = String(segment);
    // Most segments (field names, indexes) need no escaping; skip the two replaces for them.
    pointer += `/${text.includes('~') || text.includes('/') ? text.replaceAll('~', '~0').replaceAll('/', '~1') : text}`;
  }
  return pointer;
}
