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
