import { type Document, isAlias, isMap, isNode, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Parsed } from './result.js';
import { escapeUnprintable } from './text.js';

/**
 * YAML (and JSON, which is YAML) from untrusted files, read without ever throwing: every failure is
 * one line naming the source and, where the parser knows it, the line and column.
 *
 * - Aliases are capped (an alias bomb expands to gigabytes otherwise).
 * - A key repeated in one mapping is an error naming its path: the YAML library and JSON.parse
 *   would keep the last value, and a trust policy with a repeated `StringEquals` silently loses
 *   a condition that way.
 * - Nesting is bounded, so a deeply nested document cannot exhaust the stack.
 * - Values are JSON's: an alias inside the node it names (a cycle), a list or mapping used as a key
 *   and tags beyond the JSON ones (`!!binary` becomes bytes) are refused.
 */
export const MAX_YAML_ALIASES = 100;
export const MAX_YAML_DEPTH = 256;

/** `message at line L, column C` (the parser's first line without its trailing colon). */
function describeError(error: { message: string }): string {
  const first = error.message.split('\n', 1)[0] ?? error.message;
  return first.endsWith(':') ? first.slice(0, -1) : first;
}

function pathSegment(key: unknown): string {
  const text = isScalar(key) ? String(key.value) : String(key);
  return /^[A-Za-z_$][\w$-]*$/.test(text) ? `.${text}` : `[${JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)}]`;
}

function joinPath(path: string, segment: string): string {
  return path === '' && segment.startsWith('.') ? segment.slice(1) : `${path}${segment}`;
}

/** The tags whose values JSON can hold (YAML 1.2's core schema). */
const JSON_TAGS = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:bool', 'tag:yaml.org,2002:null', 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq']);

interface Visit {
  readonly node: unknown;
  readonly path: string;
  readonly depth: number;
  /** The enclosing node's visit: anchors on this chain are the ones an alias here must not name. */
  readonly parent: Visit | undefined;
}

const shortTag = (tag: string): string => (tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice(18)}` : tag);

function namesAncestor(alias: string, visit: Visit | undefined): boolean {
  for (let at = visit; at !== undefined; at = at.parent) {
    if (isNode(at.node) && at.node.anchor === alias) return true;
  }
  return false;
}

/**
 * The first problem in a parsed document's structure: a repeated key (with its path), a cycle, a
 * tag JSON has no value for, or nesting deeper than MAX_YAML_DEPTH. Walks with an explicit stack,
 * so depth costs no recursion.
 */
function structureProblem(document: Document): string | undefined {
  const stack: Visit[] = [{ node: document.contents, path: '', depth: 0, parent: undefined }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { node, path, depth } = visit;
    const where = path || 'the top level';
    if (depth > MAX_YAML_DEPTH) return `nested deeper than ${MAX_YAML_DEPTH} levels at ${where}`;
    if (isAlias(node)) {
      if (namesAncestor(node.source, visit.parent)) return `the alias *${node.source} at ${where} refers to a node that contains it`;
      continue;
    }
    if (isNode(node) && node.tag !== undefined && !JSON_TAGS.has(node.tag)) return `the tag ${shortTag(node.tag)} at ${where} is not supported (plain JSON values only)`;
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        // JSON and Kubernetes keys are strings; a list or mapping as a key has no meaning there.
        if (pair.key !== null && !isScalar(pair.key)) return `a key at ${where} is a list, mapping or alias, not a string`;
        if (isScalar(pair.key) && pair.key.tag !== undefined && !JSON_TAGS.has(pair.key.tag)) return `the tag ${shortTag(pair.key.tag)} of a key at ${where} is not supported (plain JSON values only)`;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const childPath = joinPath(path, pathSegment(pair.key));
        if (seen.has(key)) return `the key ${JSON.stringify(key)} appears twice at ${path || 'the top level'} (${childPath})`;
        seen.add(key);
        stack.push({ node: pair.value, path: childPath, depth: depth + 1, parent: visit });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => stack.push({ node: item, path: `${path}[${index}]`, depth: depth + 1, parent: visit }));
    }
  }
  return undefined;
}

type Read = { readonly ok: true; readonly values: unknown[] } | { readonly ok: false; readonly message: string };

function readDocuments(text: string): Read {
  let documents: Document[];
  try {
    documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: false }) as Document[];
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  const values: unknown[] = [];
  for (const [index, document] of documents.entries()) {
    const where = documents.length > 1 ? ` (document ${index + 1})` : '';
    // Warnings (an unresolved tag, say) mean the text does not say what it seems to: refused too.
    const firstError = document.errors[0] ?? document.warnings[0];
    if (firstError) return { ok: false, message: `${describeError(firstError)}${where}` };
    const problem = structureProblem(document);
    if (problem) return { ok: false, message: `${problem}${where}` };
    try {
      values.push(document.toJS({ maxAliasCount: MAX_YAML_ALIASES }));
    } catch (error) {
      // The alias limit (a ReferenceError), or a document the converter cannot build.
      const reason = error instanceof ReferenceError ? `more than ${MAX_YAML_ALIASES} alias expansions (an alias bomb?)` : (error as Error).message;
      return { ok: false, message: `${reason}${where}` };
    }
  }
  return { ok: true, values };
}

/** `SOURCE: ` when a source is named (errors of nested texts, such as a ConfigMap key, read better without). */
const prefix = (source: string | undefined): string => (source === undefined ? '' : `${source}: `);

/** Every document of YAML text as plain values (empty documents are null). */
export function parseYamlDocuments(text: string, source?: string): Parsed<unknown[]> {
  const read = readDocuments(text);
  return read.ok ? { ok: true, value: read.values } : { ok: false, error: `${prefix(source)}invalid YAML: ${read.message}` };
}

/** A single YAML document (null when the text holds none); several documents are an error. */
export function parseYaml(text: string, source?: string): Parsed<unknown> {
  const documents = parseYamlDocuments(text, source);
  if (!documents.ok) return documents;
  if (documents.value.length > 1) return { ok: false, error: `${prefix(source)}holds ${documents.value.length} YAML documents, expected one` };
  return { ok: true, value: documents.value[0] ?? null };
}

/**
 * Object members written in valid JSON text: the colons outside string literals, one per member;
 * -1 when brackets nest deeper than MAX_YAML_DEPTH (the YAML reader then reports where).
 */
function membersInText(text: string): number {
  let members = 0;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index += 1; // a backslash: the next character is escaped
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x3a) members += 1;
    else if (code === 0x7b || code === 0x5b) {
      depth += 1;
      if (depth > MAX_YAML_DEPTH) return -1;
    } else if (code === 0x7d || code === 0x5d) depth -= 1;
  }
  return members;
}

/** Object members JSON.parse kept: fewer than in the text exactly when a key repeats within an object. */
function membersParsed(value: unknown): number {
  // An explicit stack: nesting as deep as JSON.parse accepts must not overflow the call stack.
  const pending: unknown[] = [value];
  let members = 0;
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== 'object' || item === null) continue;
    if (Array.isArray(item)) {
      for (const element of item) pending.push(element);
      continue;
    }
    for (const key of Object.keys(item)) {
      members += 1;
      pending.push((item as Record<string, unknown>)[key]);
    }
  }
  return members;
}

/**
 * JSON text (JSON.parse's grammar), refusing repeated keys with their path as parseYaml does:
 * JSON.parse itself keeps the last of two equal keys without a word. The common case costs two
 * linear passes (members in the text against members parsed); only a difference, a repeated key,
 * goes through the YAML reader for its path.
 */
export function parseJsonText(text: string, source?: string): Parsed<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse quotes the text around the error, control characters and line breaks included: keep it one line.
    const message = escapeUnprintable((error as Error).message);
    return { ok: false, error: `${prefix(source)}invalid JSON: ${message}` };
  }
  if (membersInText(text) === membersParsed(value)) return { ok: true, value };
  // Valid JSON is YAML of the same structure: the YAML reader finds repeated keys and their paths.
  const structure = readDocuments(text);
  if (!structure.ok) return { ok: false, error: `${prefix(source)}invalid JSON: ${structure.message}` };
  return { ok: true, value };
}
