import { NOT_CHECKED_CODES } from './doctor/codes.js';
import type { Severity } from './severity.js';

/**
 * The report shapes of `explain` (a chain of links, the first broken one named) and `doctor`
 * (findings about a live installation), their exit codes and their text form. The JSON printed with
 * `--output json` is exactly these objects: their field names are a stable interface.
 */
export type Verdict = 'ok' | 'broken';

/** `not-checked`: the link needs an input that was not given, or depends on a link that is broken. */
export type LinkStatus = 'ok' | 'warning' | 'broken' | 'not-checked';

export interface Link {
  readonly name: string;
  readonly status: LinkStatus;
  /** What was checked and with which values, one line each. */
  readonly detail: readonly string[];
  /** When broken: the code (from the documented list) and what to do. */
  readonly code?: string;
  readonly fix?: string;
  /** The permission link's answer, for `--output json`. */
  readonly permission?: PermissionAnswer;
}

/** What the pod's credentials may do for one call (`explain --action --resource`). */
export interface PermissionAnswer {
  readonly action: string;
  readonly resource: string;
  /** The role the credentials are for, when known. */
  readonly roleArn: string | undefined;
  /** As IAM's simulator names it: allowed, explicitDeny or implicitDeny. */
  readonly decision: 'allowed' | 'explicitDeny' | 'implicitDeny';
  /** The statements that decide (the Denies, or the Allows of every kind of policy). */
  readonly matchedStatements: readonly { readonly policyId: string; readonly policyType: 'identity' | 'boundary' | 'session'; readonly index: number; readonly sid?: string; readonly effect: 'Allow' | 'Deny' }[];
  /** Condition keys and policy variables the statements need that explain does not know. */
  readonly missingContextValues: readonly string[];
}

/**
 * The `schemaVersion` of each JSON report: it changes only when a field is removed, renamed or
 * changes meaning (fields may be added within a version).
 */
export const EXPLAIN_SCHEMA_VERSION = 'explain.pod-identity-webhook/v1';
export const DOCTOR_SCHEMA_VERSION = 'doctor.pod-identity-webhook/v1';

export interface ExplainReport {
  readonly schemaVersion: typeof EXPLAIN_SCHEMA_VERSION;
  readonly verdict: Verdict;
  /** Code and fix of the first broken link; absent when the chain holds. */
  readonly code?: string;
  readonly fix?: string;
  readonly links: readonly Link[];
}

export type { Severity };

export interface Finding {
  readonly check: string;
  readonly severity: Severity;
  /** Set for warnings and errors: from the documented list. */
  readonly code?: string;
  /** The object the finding is about (`ns/name`, a webhook name), when there is one. */
  readonly object?: string;
  readonly detail: string;
  readonly fix?: string;
}

/**
 * `incomplete`: no error found, but something could not be checked (a read failed or was
 * refused), so "no error" says nothing about it: a gate must not pass on it.
 */
export type DoctorVerdict = Verdict | 'incomplete';

export interface DoctorReport {
  readonly schemaVersion: typeof DOCTOR_SCHEMA_VERSION;
  /** `broken` when any finding is an error; else `incomplete` when a check could not be made; else `ok`. */
  readonly verdict: DoctorVerdict;
  readonly findings: readonly Finding[];
}

/** 0: the chain holds (or no error found); 1: broken; 3: incomplete (doctor). Bad input exits 2 before any report. */
export const EXIT = { ok: 0, broken: 1, usage: 2, incomplete: 3 } as const;

export function exitCodeOf(verdict: DoctorVerdict): number {
  return EXIT[verdict];
}

/** The report from its links: the verdict and the code and fix of the first broken one. */
export function explainReport(links: readonly Link[]): ExplainReport {
  const broken = links.find((link) => link.status === 'broken');
  if (broken === undefined) return { schemaVersion: EXPLAIN_SCHEMA_VERSION, verdict: 'ok', links };
  return { schemaVersion: EXPLAIN_SCHEMA_VERSION, verdict: 'broken', code: broken.code, fix: broken.fix, links };
}

/** The findings that say a check was not made: a read that failed or was refused. */
const notChecked = (finding: Finding): boolean => finding.code !== undefined && NOT_CHECKED_CODES.has(finding.code);

/** What was found decides first (an error is broken whatever was not checked); then what could not be checked. */
export function doctorReport(findings: readonly Finding[]): DoctorReport {
  const verdict = findings.some((finding) => finding.severity === 'error') ? 'broken' : findings.some(notChecked) ? 'incomplete' : 'ok';
  return { schemaVersion: DOCTOR_SCHEMA_VERSION, verdict, findings };
}

const MARK: Readonly<Record<LinkStatus | Severity, string>> = {
  ok: 'ok',
  info: 'info',
  warning: 'warn',
  broken: 'BROKEN',
  error: 'ERROR',
  'not-checked': '--',
};

/** The readable form: one block per link, then the verdict with the code and fix. */
export function explainText(report: ExplainReport): string {
  const lines: string[] = [];
  for (const link of report.links) {
    lines.push(`[${MARK[link.status].padEnd(6)}] ${link.name}${link.code ? `: ${link.code}` : ''}`);
    for (const detail of link.detail) lines.push(`         ${detail}`);
    if (link.fix) lines.push(`         fix: ${link.fix}`);
  }
  lines.push('');
  lines.push(report.verdict === 'ok' ? 'verdict: ok (every link holds)' : `verdict: broken at ${report.code ?? 'an unnamed link'}`);
  if (report.fix) lines.push(`fix: ${report.fix}`);
  return `${lines.join('\n')}\n`;
}

export function doctorText(report: DoctorReport): string {
  const lines: string[] = [];
  for (const finding of report.findings) {
    lines.push(`[${MARK[finding.severity].padEnd(5)}] ${finding.check}${finding.object ? ` ${finding.object}` : ''}${finding.code ? `: ${finding.code}` : ''}`);
    lines.push(`        ${finding.detail}`);
    if (finding.fix) lines.push(`        fix: ${finding.fix}`);
  }
  const errors = report.findings.filter((finding) => finding.severity === 'error').length;
  const warnings = report.findings.filter((finding) => finding.severity === 'warning').length;
  lines.push('');
  const counts = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  const unchecked = report.findings.filter(notChecked).length;
  lines.push(`verdict: ${report.verdict} (${counts}${report.verdict === 'incomplete' ? `; ${unchecked} read${unchecked === 1 ? '' : 's'} failed or ${unchecked === 1 ? 'was' : 'were'} refused: those checks were not made` : ''})`);
  return `${lines.join('\n')}\n`;
}
