/**
 * `text` without any run of `character` at its end. A loop, not `/x+$/`: that regex tries every
 * start of a long run and is quadratic in its length.
 */
export function trimTrailing(text: string, character: string): string {
  const code = character.charCodeAt(0);
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === code) end -= 1;
  return end === text.length ? text : text.slice(0, end);
}

/** `character` (one UTF-16 unit) as a JSON/JavaScript escape: `\u001b`. */
export function unicodeEscape(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Characters that make one line of text look like several, or like other text: C0 and C1
 * controls, DEL, the Unicode line and paragraph separators, and the bidirectional embeddings,
 * overrides and isolates.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Whether `text` holds a character of UNPRINTABLE. */
export function hasUnprintable(text: string): boolean {
  return text.search(UNPRINTABLE) >= 0;
}

/** `text` with every UNPRINTABLE character written as `\uXXXX`, so text from a file cannot forge lines of a report or message. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, unicodeEscape);
}
