import { matchesParts, type PatternPart, wildcardParts } from './wildcard.js';

/**
 * Policy values as IAM reads them: text, `*`/`?` wildcards where the element or operator takes them,
 * and (policy Version 2012-10-17) `${key}` variables with an optional `${key, 'default'}`; `${*}`,
 * `${?}` and `${$}` stand for the characters themselves (IAM user guide, "IAM policy elements:
 * Variables and tags").
 */
export type ValuePart = PatternPart | { readonly kind: 'variable'; readonly key: string; readonly fallback: string | undefined; readonly written: string };

export interface PolicyValue {
  /** As written, for messages. */
  readonly written: string;
  readonly parts: readonly ValuePart[];
}

/** The request context: condition key (lower-cased, as IAM keys are case-insensitive) → its values. */
export type RequestContext = ReadonlyMap<string, readonly string[]>;

/** The longest single value (an action, ARN or condition value) a policy may hold: IAM's ARN limit, doubled. */
export const MAX_POLICY_VALUE_LENGTH = 4096;

export interface ValueOptions {
  readonly wildcards: boolean;
  readonly variables: boolean;
  /** Why a variable's key cannot be used, or undefined when it can. */
  readonly checkKey: (key: string) => string | undefined;
}

/** Splits a value into text, wildcards (when `wildcards`) and `${…}` variables (when `variables`); throws with `where` on bad input. */
export function parseValue(written: string, where: string, options: ValueOptions): PolicyValue {
  if (written.length > MAX_POLICY_VALUE_LENGTH) throw new Error(`${where}: a value is ${written.length} characters long, more than ${MAX_POLICY_VALUE_LENGTH}`);
  const text = (literal: string): PatternPart[] => (options.wildcards ? wildcardParts(literal) : literal === '' ? [] : [{ kind: 'text', text: literal }]);
  if (!options.variables || !written.includes('${')) return { written, parts: text(written) };
  const parts: ValuePart[] = [];
  let from = 0;
  for (;;) {
    const open = written.indexOf('${', from);
    if (open < 0) break;
    const close = written.indexOf('}', open + 2);
    if (close < 0) throw new Error(`${where}: "${written.slice(0, 100)}" has an unclosed \${`);
    parts.push(...text(written.slice(from, open)));
    const inner = written.slice(open + 2, close).trim();
    if (inner === '*' || inner === '?' || inner === '$') {
      parts.push({ kind: 'text', text: inner });
    } else {
      const comma = inner.indexOf(',');
      const key = (comma < 0 ? inner : inner.slice(0, comma)).trim();
      const rawFallback = comma < 0 ? undefined : inner.slice(comma + 1).trim();
      if (rawFallback !== undefined && !/^'[^']*'$/.test(rawFallback)) {
        throw new Error(`${where}: the default of \${${key.slice(0, 100)}} must be a quoted string, as in \${${key.slice(0, 100)}, 'value'}`);
      }
      const problem = options.checkKey(key);
      if (problem) throw new Error(`${where}: policy variable \${${key.slice(0, 100)}}: ${problem}`);
      parts.push({ kind: 'variable', key: key.toLowerCase(), fallback: rawFallback?.slice(1, -1), written: key });
    }
    from = close + 1;
  }
  parts.push(...text(written.slice(from)));
  return { written, parts };
}

/** The keys (as written) of the variables in a value that the request does not fill and that have no default. */
export function unresolvedKeys(value: PolicyValue, context: RequestContext): string[] {
  return value.parts.flatMap((part) => (part.kind === 'variable' && part.fallback === undefined && context.get(part.key)?.length !== 1 ? [part.written] : []));
}

/** The value's parts with its variables replaced by the request's values; undefined when one has none. */
export function resolve(value: PolicyValue, context: RequestContext): PatternPart[] | undefined {
  const parts: PatternPart[] = [];
  for (const part of value.parts) {
    if (part.kind !== 'variable') {
      parts.push(part);
      continue;
    }
    const values = context.get(part.key);
    // Only a single-valued key can stand in a value; a multi-valued or absent one without a default cannot.
    const text = values?.length === 1 ? values[0]! : part.fallback;
    if (text === undefined) return undefined;
    parts.push({ kind: 'text', text });
  }
  return parts;
}

/** The text of resolved parts, for operators that compare whole values (no wildcards). */
export function partsText(parts: readonly PatternPart[]): string {
  return parts.map((part) => (part.kind === 'text' ? part.text : part.kind === 'star' ? '*' : '?')).join('');
}

/** IAM compares ARNs component by component (partition, service, region, account, resource). */
function arnComponents(text: string): string[] | undefined {
  const components: string[] = [];
  let from = 0;
  for (let index = 0; index < 5; index += 1) {
    const colon = text.indexOf(':', from);
    if (colon < 0) return undefined;
    components.push(text.slice(from, colon));
    from = colon + 1;
  }
  components.push(text.slice(from));
  return components[0] === 'arn' ? components : undefined;
}

function splitParts(parts: readonly PatternPart[]): PatternPart[][] | undefined {
  const components: PatternPart[][] = [[]];
  for (const part of parts) {
    if (part.kind !== 'text') {
      components[components.length - 1]!.push(part);
      continue;
    }
    const pieces = part.text.split(':');
    pieces.forEach((piece, index) => {
      if (index > 0) {
        if (components.length === 6) components[5]!.push({ kind: 'text', text: ':' });
        else components.push([]);
      }
      if (piece !== '') components[components.length - 1]!.push({ kind: 'text', text: piece });
    });
  }
  return components.length === 6 ? components : undefined;
}

/**
 * An ARN pattern against an ARN: when both have six components, each is matched on its own, so a
 * wildcard never spans a colon of the first five; otherwise the whole text is matched.
 */
export function arnMatches(parts: readonly PatternPart[], value: string): boolean {
  const actual = arnComponents(value);
  const wanted = splitParts(parts);
  if (!actual || !wanted) return matchesParts(parts, value);
  return wanted.every((component, index) => matchesParts(component, actual[index]!));
}
