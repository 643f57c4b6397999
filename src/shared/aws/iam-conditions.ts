import { BlockList, isIP } from 'node:net';
import { isJsonObject } from '../json.js';
import { stringList } from './iam-document.js';
import { matchesParts, type PatternPart } from './wildcard.js';
import { arnMatches, parseValue, partsText, type PolicyValue, type RequestContext, resolve, unresolvedKeys } from './iam-values.js';

/**
 * IAM condition operators, every family the IAM user guide lists ("IAM JSON policy elements:
 * Condition operators"): String, Numeric, Date, Bool, Binary, IP address, ARN and Null, each but
 * Null with `…IfExists` and the set qualifiers `ForAnyValue:` / `ForAllValues:`. Values are read
 * when the policy is parsed, so a policy with a value its operator cannot compare is refused then.
 */
export const CONDITION_OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null',
] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];
export type StringOperator = Extract<ConditionOperator, `String${string}`>;
export type ArnOperator = Extract<ConditionOperator, `Arn${string}`>;
export type ConditionFamily = 'string' | 'numeric' | 'date' | 'bool' | 'binary' | 'ip' | 'arn' | 'null';

/** The operators that match when the value does NOT match (and so hold when the key is absent). */
const NEGATED: ReadonlySet<ConditionOperator> = new Set(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike', 'NumericNotEquals', 'DateNotEquals', 'NotIpAddress', 'ArnNotEquals', 'ArnNotLike']);

export function operatorFamily(operator: ConditionOperator): ConditionFamily {
  if (operator.startsWith('String')) return 'string';
  if (operator.startsWith('Numeric')) return 'numeric';
  if (operator.startsWith('Date')) return 'date';
  if (operator.startsWith('Arn')) return 'arn';
  if (operator.endsWith('IpAddress')) return 'ip';
  if (operator === 'Bool') return 'bool';
  if (operator === 'BinaryEquals') return 'binary';
  return 'null';
}

export function isNegated(operator: ConditionOperator): boolean {
  return NEGATED.has(operator);
}

/** The values of a Numeric, Date, Bool, Binary or IP condition, read once at parse. */
export type TypedValues =
  | { readonly kind: 'numeric' | 'date'; readonly numbers: readonly number[] }
  | { readonly kind: 'bool'; readonly booleans: readonly boolean[] }
  | { readonly kind: 'binary'; readonly bytes: readonly Buffer[] }
  | { readonly kind: 'ip'; readonly blocks: BlockList };

export interface Condition {
  readonly operator: ConditionOperator;
  readonly qualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly ifExists: boolean;
  /** Context key, lower-cased (IAM keys are case-insensitive). */
  readonly key: string;
  /** The key as the policy writes it (for `MissingContextValues`). */
  readonly writtenKey: string;
  readonly values: readonly PolicyValue[];
  /** Numeric, Date, Bool, Binary and IP values as the operator compares them. */
  readonly typed: TypedValues | undefined;
  /** As written (`StringEquals oidc.example.com:sub`), for messages. */
  readonly source: string;
}

export interface ConditionParseOptions {
  /** Whether `${…}` variables are read (policy Version 2012-10-17). */
  readonly variables: boolean;
  /** Why a condition key (or a variable's key) cannot be used, or undefined when it can. */
  readonly checkKey: (key: string) => string | undefined;
}

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const EPOCH = /^-?\d{1,12}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function readNumber(text: string): number | undefined {
  if (!NUMBER.test(text.trim())) return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : undefined;
}

/** An ISO 8601 date or date-time (UTC unless it has an offset) or epoch seconds, in milliseconds. */
export function readDate(text: string): number | undefined {
  const trimmed = text.trim();
  if (EPOCH.test(trimmed)) return Number(trimmed) * 1000;
  const match = ISO_DATE.exec(trimmed);
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone = 'Z'] = match;
  // A day the month does not have (31 February) is refused, not rolled over into the next month.
  if (new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).getUTCDate() !== Number(day) || Number(month) < 1 || Number(month) > 12) return undefined;
  const offset = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const milliseconds = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction.slice(0, 4).padEnd(fraction === '' ? 0 : 4, '0')}${offset}`);
  return Number.isNaN(milliseconds) ? undefined : milliseconds;
}

function readBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

function addIpBlock(blocks: BlockList, text: string): boolean {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) {
    blocks.addAddress(address, type);
    return true;
  }
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  if (bits < 0 || bits > (family === 4 ? 32 : 128)) return false;
  blocks.addSubnet(address, bits, type);
  return true;
}

function readTyped(operator: ConditionOperator, values: readonly string[], at: string): TypedValues | undefined {
  const each = <T>(read: (text: string) => T | undefined, what: string): T[] =>
    values.map((value) => {
      const read_ = read(value);
      if (read_ === undefined) throw new Error(`${at}: ${operator} needs ${what}, got "${value.slice(0, 100)}"`);
      return read_;
    });
  switch (operatorFamily(operator)) {
    case 'numeric':
      return { kind: 'numeric', numbers: each(readNumber, 'a number') };
    case 'date':
      return { kind: 'date', numbers: each(readDate, 'an ISO 8601 date (2026-01-31 or 2026-01-31T12:00:00Z) or epoch seconds') };
    case 'bool':
      return { kind: 'bool', booleans: each((text) => ({ true: true, false: false })[text.toLowerCase() as 'true' | 'false'], '"true" or "false"') };
    case 'binary':
      return { kind: 'binary', bytes: each(readBase64, 'base64') };
    case 'ip': {
      const blocks = new BlockList();
      each((text) => (addIpBlock(blocks, text) ? true : undefined), 'an IPv4 or IPv6 address or CIDR block (203.0.113.0/24, 2001:db8::/32)');
      return { kind: 'ip', blocks };
    }
    case 'null':
      each((text) => (text === 'true' || text === 'false' ? text : undefined), '"true" or "false"');
      return undefined;
    default:
      return undefined;
  }
}

/** Reads a Condition block; throws a one-line error naming `where` on anything it cannot evaluate. */
export function parseConditionBlock(block: unknown, where: string, options: ConditionParseOptions): Condition[] {
  if (block === undefined) return [];
  if (!isJsonObject(block)) throw new Error(`${where} must be an object`);
  const conditions: Condition[] = [];
  for (const [written, keys] of Object.entries(block)) {
    const match = /^(?:(ForAnyValue|ForAllValues):)?(\w+?)(IfExists)?$/.exec(written);
    const operator = match?.[2] as ConditionOperator | undefined;
    if (!match || !operator || !CONDITION_OPERATORS.includes(operator) || (operator === 'Null' && (match[1] || match[3]))) {
      throw new Error(`${where}: unsupported condition operator "${written.slice(0, 100)}" (supported: ${CONDITION_OPERATORS.join(', ')}, with ForAnyValue:/ForAllValues: and IfExists but for Null)`);
    }
    if (!isJsonObject(keys)) throw new Error(`${where}.${written} must map condition keys to values`);
    const seen = new Map<string, string>();
    for (const [key, values] of Object.entries(keys)) {
      const at = `${where}.${written}.${key.slice(0, 100)}`;
      const problem = options.checkKey(key);
      if (problem) throw new Error(`${at}: ${problem}`);
      const lower = key.toLowerCase();
      // Key names are case-insensitive: "x:sub" and "x:SUB" in one block are the same key twice.
      if (seen.has(lower)) throw new Error(`${where}.${written}: the condition key ${key} appears twice (as ${seen.get(lower)} too)`);
      seen.set(lower, key);
      const listed = stringList(values, at);
      if (operator === 'Null' && !listed.every((value) => value === 'true' || value === 'false')) throw new Error(`${at}: Null takes "true" or "false"`);
      const family = operatorFamily(operator);
      const textual = family === 'string' || family === 'arn';
      const wildcards = operator.endsWith('Like') || family === 'arn';
      conditions.push({
        operator,
        qualifier: match[1] as Condition['qualifier'],
        ifExists: match[3] !== undefined,
        key: lower,
        writtenKey: key,
        // Policy variables stand in string and ARN values only (IAM user guide, policy variables).
        values: listed.map((value) => parseValue(value, at, { wildcards, variables: options.variables && textual, checkKey: options.checkKey })),
        typed: readTyped(operator, listed, at),
        source: `${written} ${key}`,
      });
    }
  }
  return conditions;
}

export interface ConditionVerdict {
  readonly condition: Condition;
  /** What the request carried for the key (undefined: absent). */
  readonly contextValues: readonly string[] | undefined;
  readonly met: boolean;
  /** Why it is not met, in words, when it is not. */
  readonly why: string | undefined;
  /** Keys (as written) the condition needed that the request lacked: its own when absent, and its variables'. */
  readonly missingKeys: readonly string[];
}

/** Whether one context value matches one of the (positive) operator's values; undefined when the value cannot be read as the operator's type. */
function positiveMatch(condition: Condition, patterns: readonly PatternPart[][], contextValue: string): boolean | undefined {
  const typed = condition.typed;
  switch (condition.operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return patterns.some((parts) => partsText(parts) === contextValue);
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return patterns.some((parts) => partsText(parts).toLowerCase() === contextValue.toLowerCase());
    case 'StringLike':
    case 'StringNotLike':
      return patterns.some((parts) => matchesParts(parts, contextValue));
    case 'ArnEquals':
    case 'ArnLike':
    case 'ArnNotEquals':
    case 'ArnNotLike':
      return patterns.some((parts) => arnMatches(parts, contextValue));
    case 'Bool': {
      const lower = contextValue.toLowerCase();
      if (lower !== 'true' && lower !== 'false') return undefined;
      return typed?.kind === 'bool' && typed.booleans.includes(lower === 'true');
    }
    case 'BinaryEquals': {
      const bytes = readBase64(contextValue);
      if (bytes === undefined || typed?.kind !== 'binary') return undefined;
      return typed.bytes.some((wanted) => wanted.equals(bytes));
    }
    case 'IpAddress':
    case 'NotIpAddress': {
      const family = isIP(contextValue);
      if (family === 0 || typed?.kind !== 'ip') return undefined;
      return typed.blocks.check(contextValue, family === 4 ? 'ipv4' : 'ipv6');
    }
    case 'Null':
      return false;
    default: {
      if (typed?.kind !== 'numeric' && typed?.kind !== 'date') return undefined;
      const actual = typed.kind === 'numeric' ? readNumber(contextValue) : readDate(contextValue);
      if (actual === undefined) return undefined;
      const comparison = condition.operator.replace(/^(Numeric|Date)/, '');
      return typed.numbers.some((wanted) => {
        switch (comparison) {
          case 'LessThan':
            return actual < wanted;
          case 'LessThanEquals':
            return actual <= wanted;
          case 'GreaterThan':
            return actual > wanted;
          case 'GreaterThanEquals':
            return actual >= wanted;
          default:
            return actual === wanted;
        }
      });
    }
  }
}

/**
 * One condition against the request context. An absent key: Null decides by it, `…IfExists` and
 * the negated operators hold, `ForAllValues:` holds (an empty set), everything else fails. A value
 * the operator cannot read (a Numeric condition on "abc") fails the condition, negated or not.
 */
export function evaluateCondition(condition: Condition, context: RequestContext): ConditionVerdict {
  const values = context.get(condition.key);
  const absent = values === undefined || values.length === 0;
  const variableKeys = condition.values.flatMap((value) => unresolvedKeys(value, context));
  const missingKeys = absent ? [condition.writtenKey, ...variableKeys] : variableKeys;
  const verdict = (met: boolean, why: string): ConditionVerdict => ({ condition, contextValues: values, met, why: met ? undefined : why, missingKeys });
  if (condition.operator === 'Null') {
    const wantsAbsent = condition.values.some((value) => value.written === 'true');
    const wantsPresent = condition.values.some((value) => value.written === 'false');
    return verdict((absent && wantsAbsent) || (!absent && wantsPresent), absent ? 'the key is absent' : 'the key is present');
  }
  const negated = isNegated(condition.operator);
  if (absent) {
    if (condition.qualifier === 'ForAllValues') return verdict(true, '');
    if (condition.qualifier === 'ForAnyValue') return verdict(false, 'the key is absent');
    return verdict(negated || condition.ifExists, 'the key is absent');
  }
  const resolved = condition.values.map((value) => resolve(value, context));
  if (resolved.includes(undefined)) return verdict(false, 'a policy variable has no value in this request');
  const patterns = resolved as PatternPart[][];
  const matches = values.map((value) => positiveMatch(condition, patterns, value));
  const unreadable = values.find((_, index) => matches[index] === undefined);
  if (unreadable !== undefined) return verdict(false, `the request's value "${unreadable.slice(0, 100)}" is not one ${condition.operator} compares`);
  const hit = (index: number): boolean => (negated ? !matches[index] : matches[index]!);
  let met: boolean;
  switch (condition.qualifier) {
    case 'ForAnyValue':
      met = values.some((_, index) => hit(index));
      break;
    case 'ForAllValues':
      met = values.every((_, index) => hit(index));
      break;
    default:
      met = negated ? !matches.some(Boolean) : matches.some(Boolean);
  }
  return verdict(met, negated ? 'the value matches' : 'the value does not match');
}
