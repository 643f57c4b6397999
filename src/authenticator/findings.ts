import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { escapeUnprintable } from '../shared/text.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  readonly severity: Severity;
  readonly rule: string;
  /** The aws-auth entry (`mapRoles[2]`, `mapAccounts`, `file`). */
  readonly where: string;
  readonly message: string;
  /** Why it matters, in a sentence or two. */
  readonly explanation: string;
}

export interface Rule {
  readonly severity: Severity;
  /** One line: what the rule finds (SARIF shortDescription, the table in docs/cluster-login.md). */
  readonly summary: string;
  readonly explanation: string;
}

export type RuleSet = Readonly<Record<string, Rule>>;

export function makeFinding(rules: RuleSet, rule: string, where: string, message: string, severity?: Severity): Finding {
  const known = rules[rule];
  if (!known) throw new Error(`internal: unknown rule ${rule}`);
  return { severity: severity ?? known.severity, rule, where, message, explanation: known.explanation };
}

export const OUTPUT_FORMATS = ['text', 'json', 'yaml', 'sarif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function countErrors(findings: readonly Finding[]): number {
  return findings.filter((item) => item.severity === 'error').length;
}

export function formatFindings(source: string, findings: readonly Finding[]): string {
  if (findings.length === 0) return `${source}: no problems found\n`;
  const lines = findings.map((item) => `${escapeUnprintable(source)}: ${item.severity} [${item.rule}] ${escapeUnprintable(item.message)}\n    ${item.explanation}`);
  const errors = countErrors(findings);
  return `${lines.join('\n')}\n${errors} error(s), ${findings.length - errors} warning(s)\n`;
}

/** A file's path as a SARIF artifact URI: relative paths stay relative (to where the tool ran), with `/`. */
function artifactUri(path: string): string {
  if (isAbsolute(path)) return pathToFileURL(path).href;
  return path.split(/[\\/]/).map(encodeURIComponent).join('/');
}

export interface SarifOptions {
  readonly source: string;
  readonly version: string;
  readonly rules: RuleSet;
  /** The 1-based line of a `where`, when known. */
  readonly lineOf: (where: string) => number | undefined;
}

/** SARIF 2.1.0: one run, every rule of the set in the driver, one result per finding with its file location. */
export function findingsSarif(findings: readonly Finding[], options: SarifOptions): Record<string, unknown> {
  const ids = Object.keys(options.rules);
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pod-identity-webhook lint-aws-auth',
            version: options.version,
            rules: ids.map((id) => ({
              id,
              shortDescription: { text: options.rules[id]!.summary },
              fullDescription: { text: options.rules[id]!.explanation },
              defaultConfiguration: { level: options.rules[id]!.severity },
            })),
          },
        },
        results: findings.map((item) => {
          const line = options.lineOf(item.where);
          return {
            ruleId: item.rule,
            ruleIndex: ids.indexOf(item.rule),
            level: item.severity,
            message: { text: item.message },
            locations: [
              {
                physicalLocation: { artifactLocation: { uri: artifactUri(options.source) }, ...(line === undefined ? {} : { region: { startLine: line } }) },
                logicalLocations: [{ name: item.where, kind: 'element' }],
              },
            ],
          };
        }),
      },
    ],
  };
}

/** The findings as JSON objects, each with its line when known. */
export function findingsJson(findings: readonly Finding[], lineOf: (where: string) => number | undefined): Array<Finding & { line?: number }> {
  return findings.map((item) => {
    const line = lineOf(item.where);
    return line === undefined ? { ...item } : { ...item, line };
  });
}
