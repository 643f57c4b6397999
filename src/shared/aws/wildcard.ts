/**
 * IAM wildcard matching (`*` any run of characters, `?` exactly one) without regular expressions:
 * a pattern such as `*a*a*a*a*b` compiled to a regex backtracks exponentially on a long value. This
 * is the greedy two-pointer match with one backtrack point (the last `*`): O(pattern × value) at
 * worst, linear for the patterns trust policies use.
 */
export type PatternPart = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'star' } | { readonly kind: 'one' };

const STAR = { kind: 'star' } as const;
const ONE = { kind: 'one' } as const;

/** The parts of a pattern string in which `*` and `?` are wildcards. */
export function wildcardParts(pattern: string): PatternPart[] {
  const parts: PatternPart[] = [];
  let text = '';
  for (const character of pattern) {
    if (character === '*' || character === '?') {
      if (text !== '') parts.push({ kind: 'text', text });
      text = '';
      parts.push(character === '*' ? STAR : ONE);
    } else {
      text += character;
    }
  }
  if (text !== '') parts.push({ kind: 'text', text });
  return parts;
}

type Unit = string | typeof STAR | typeof ONE;

function units(parts: readonly PatternPart[]): Unit[] {
  const out: Unit[] = [];
  for (const part of parts) {
    if (part.kind === 'text') for (const character of part.text) out.push(character);
    else out.push(part.kind === 'star' ? STAR : ONE);
  }
  return out;
}

/** Whether `value` matches the pattern parts as a whole (case-sensitive unless `ignoreCase`). */
export function matchesParts(parts: readonly PatternPart[], value: string, ignoreCase = false): boolean {
  const pattern = units(ignoreCase ? parts.map((part) => (part.kind === 'text' ? { kind: 'text' as const, text: part.text.toLowerCase() } : part)) : parts);
  const characters = [...(ignoreCase ? value.toLowerCase() : value)];
  let p = 0;
  let v = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (v < characters.length) {
    const unit = pattern[p];
    if (unit === STAR) {
      starAt = p;
      resumeAt = v;
      p += 1;
    } else if (unit !== undefined && (unit === ONE || unit === characters[v])) {
      p += 1;
      v += 1;
    } else if (starAt >= 0) {
      // Let the last star take one more character and try again from there.
      p = starAt + 1;
      resumeAt += 1;
      v = resumeAt;
    } else {
      return false;
    }
  }
  while (pattern[p] === STAR) p += 1;
  return p === pattern.length;
}

/** `*` and `?` wildcards in `pattern`, as IAM's StringLike and action matching use them. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  return matchesParts(wildcardParts(pattern), value, ignoreCase);
}
