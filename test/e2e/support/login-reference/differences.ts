/**
 * The differences between two TokenReview answers, field by field, and the table of deliberate ones
 * docs/cluster-login.md keeps ("Differences from aws-iam-authenticator").
 */
import type { ReviewOutcome, ReviewResult } from './corpus.js';

export interface Difference {
  /** `SCENARIO/PRINCIPAL/SOURCE` */
  readonly id: string;
  /** `available`, `authenticated`, `username`, `uid`, `groups` or `extra.KEY`. */
  readonly field: string;
  readonly ours: unknown;
  readonly reference: unknown;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Field by field; a server that was not there differs only in `available`. */
export function compare(id: string, ours: ReviewOutcome, reference: ReviewOutcome): Difference[] {
  if ('unavailable' in ours || 'unavailable' in reference) {
    const state = (outcome: ReviewOutcome): string => ('unavailable' in outcome ? 'unavailable' : 'available');
    return state(ours) === state(reference) ? [] : [{ id, field: 'available', ours: 'unavailable' in ours ? ours.unavailable : ours, reference: 'unavailable' in reference ? reference.unavailable : reference }];
  }
  if (ours.authenticated !== reference.authenticated) return [{ id, field: 'authenticated', ours, reference }];
  if (!ours.authenticated) return [];
  const found: Difference[] = [];
  for (const field of ['username', 'uid', 'groups'] as const) {
    if (!same(ours[field], reference[field])) found.push({ id, field, ours: ours[field], reference: reference[field] });
  }
  const oursExtra = ours.extra ?? {};
  const referenceExtra = reference.extra ?? {};
  for (const key of [...new Set([...Object.keys(oursExtra), ...Object.keys(referenceExtra)])].sort()) {
    if (!same(oursExtra[key], referenceExtra[key])) found.push({ id, field: `extra.${key}`, ours: oursExtra[key], reference: referenceExtra[key] });
  }
  return found;
}

export function differences(results: readonly ReviewResult[]): Difference[] {
  return results.flatMap((result) => compare(result.id, result.ours, result.reference));
}

export interface DocumentedDifference {
  /** A case id in which `*` stands for any characters but `/`. */
  readonly pattern: string;
  readonly field: string;
  readonly why: string;
}

const HEADING = '### Differences from aws-iam-authenticator';
const HEADER_CELLS = ['case', 'field', 'ours', 'aws-iam-authenticator v0.7.18', 'why'];

function cells(line: string): string[] {
  return line
    .slice(1, -1)
    .split('|')
    .map((cell) => cell.trim().replace(/^`(.*)`$/, '$1'));
}

/** The rows of the table under the heading; throws when the table is missing or malformed. */
export function documentedDifferences(markdown: string): DocumentedDifference[] {
  const start = markdown.indexOf(`\n${HEADING}\n`);
  if (start < 0) throw new Error(`docs/cluster-login.md has no "${HEADING}" section`);
  const lines = markdown.slice(start + HEADING.length + 2).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const table: string[] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    table.push(line.trim());
  }
  const [header, rule, ...rows] = table;
  if (!header || !rule || JSON.stringify(cells(header)) !== JSON.stringify(HEADER_CELLS)) throw new Error(`the table under "${HEADING}" must have the columns ${HEADER_CELLS.join(', ')}`);
  return rows.map((row) => {
    const [pattern = '', field = '', , , why = ''] = cells(row);
    if (!pattern || !field || !why) throw new Error(`a row of the table under "${HEADING}" lacks its case, field or reason: ${row}`);
    return { pattern, field, why };
  });
}

export function matches(pattern: string, id: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return regex.test(id);
}
