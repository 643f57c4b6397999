import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { isJsonObject } from '../json.js';
import { parseJsonText } from '../yaml.js';

/** What trust and permission policies share: the document's envelope, its size, and its statements' places in the text. */
export const POLICY_VERSIONS = ['2012-10-17', '2008-10-17'] as const;
export type PolicyVersion = (typeof POLICY_VERSIONS)[number];

/** No policy text is read past this, whatever its limit: even the simulator's inputs are at most 131,072 characters. */
export const MAX_POLICY_TEXT = 1024 * 1024;

/** A place in the policy text: line and column, both counted from 1. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

export interface StatementSpan {
  readonly start: TextPosition;
  readonly end: TextPosition;
}

export interface PolicyEnvelope {
  readonly version: PolicyVersion;
  readonly statements: readonly unknown[];
  /** Where each statement is in the text, when the policy was given as text. */
  readonly spans: readonly StatementSpan[] | undefined;
  /** Characters without white space, as IAM counts them against its limits. */
  readonly size: number;
}

export function stringList(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')) {
    throw new Error(`${where} must be a string or a non-empty list of strings`);
  }
  return list.map(String);
}

export function refuseUnknownFields(value: Record<string, unknown>, allowed: readonly string[], where: string, unsupported: readonly string[] = [], kind = 'a trust policy'): void {
  for (const key of Object.keys(value)) {
    if (unsupported.includes(key)) throw new Error(`${where}: ${key} is not supported in ${kind} here`);
    if (!allowed.includes(key)) throw new Error(`${where}: unknown field "${key.slice(0, 100)}" (allowed: ${allowed.join(', ')})`);
  }
}

/** The character count IAM holds against a policy's limit: its text without white space outside strings. */
export function minifiedLength(value: unknown): number {
  return JSON.stringify(value).length;
}

function statementSpans(text: string): StatementSpan[] | undefined {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  if (!isMap(document.contents)) return undefined;
  const node = document.contents.get('Statement', true);
  const nodes = isSeq(node) ? node.items : node === undefined ? [] : [node];
  const spans: StatementSpan[] = [];
  for (const item of nodes) {
    const range = (item as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    const start = lines.linePos(range[0]);
    const end = lines.linePos(range[1]);
    spans.push({ start: { line: start.line, column: start.col }, end: { line: end.line, column: end.col } });
  }
  return spans;
}

/**
 * The Version and the statements of a policy given as an object or as JSON text (repeated keys
 * refused, with their path), within `maxChars` characters without white space. Throws one line.
 */
export function readPolicyEnvelope(document: unknown, maxChars: number): PolicyEnvelope {
  let value: unknown = document;
  let text: string | undefined;
  if (typeof document === 'string') {
    if (document.length > MAX_POLICY_TEXT) throw new Error(`the policy text is ${document.length} characters long, more than ${MAX_POLICY_TEXT}`);
    const parsed = parseJsonText(document);
    if (!parsed.ok) throw new Error(parsed.error);
    value = parsed.value;
    text = document;
  }
  if (!isJsonObject(value)) throw new Error('must be an object');
  const length = minifiedLength(value);
  if (length > maxChars) throw new Error(`the policy is ${length} characters long without white space, more than ${maxChars}`);
  refuseUnknownFields(value, ['Version', 'Id', 'Statement'], 'the policy');
  const version = value.Version ?? '2008-10-17';
  if (!POLICY_VERSIONS.includes(version as PolicyVersion)) {
    throw new Error(`Version must be ${POLICY_VERSIONS.join(' or ')}, got ${JSON.stringify(version).slice(0, 40)}`);
  }
  if (value.Id !== undefined && typeof value.Id !== 'string') throw new Error('Id must be a string');
  const statements = Array.isArray(value.Statement) ? value.Statement : [value.Statement];
  if (value.Statement === undefined || statements.length === 0) throw new Error('has no Statement');
  const spans = text === undefined ? undefined : statementSpans(text);
  return { version: version as PolicyVersion, statements, spans: spans?.length === statements.length ? spans : undefined, size: length };
}

/** Refuses two statements with one Sid. */
export function refuseRepeatedSids(sids: readonly (string | undefined)[]): void {
  const named = sids.filter((sid): sid is string => sid !== undefined && sid !== '');
  const repeated = named.find((sid, index) => named.indexOf(sid) !== index);
  if (repeated !== undefined) throw new Error(`the Sid ${repeated} is used by two statements`);
}
