import type { ConversionReport, ProposedEntry } from './convert-aws-auth.js';
import { escapeUnprintable, unicodeEscape } from '../shared/text.js';

/**
 * The conversion for people: the aws eks commands and the text report.
 *
 * Every value from aws-auth reaches the AWS CLI inside one `--cli-input-json` document per
 * command, never as a word of its own: the CLI reads any word starting with `-` as an option
 * (a group `--principal-arn=…` after `--kubernetes-groups` replaced the principal, quoted or
 * not), loads `file://` and `http(s)://` words as files and URLs, and parses shorthand in list
 * values; it reads JSON values as they are. The document is printable ASCII without `'` (every
 * other character is a JSON `\uXXXX` escape), so one pair of single quotes makes it one POSIX
 * shell word. The cluster is `--cluster-name="$CLUSTER"`: the `=` form takes the value as it is,
 * even one starting with `-`.
 */

/** JSON with every character outside printable ASCII, and `'`, written as `\uXXXX`. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/['\u007f-\uffff]/g, unicodeEscape);
}

/** `aws eks OPERATION --cluster-name="$CLUSTER" --cli-input-json '{…}'`. */
function eksCommand(operation: string, input: Record<string, unknown>): string {
  return `aws eks ${operation} --cluster-name="$CLUSTER" --cli-input-json '${asciiJson(input)}'`;
}

function entryCommands(entry: ProposedEntry): string[] {
  const create = eksCommand('create-access-entry', {
    principalArn: entry.principalArn,
    type: entry.type,
    ...(entry.username === undefined ? {} : { username: entry.username }),
    ...(entry.kubernetesGroups.length === 0 ? {} : { kubernetesGroups: entry.kubernetesGroups }),
  });
  const associate = entry.policies.map((policy) => eksCommand('associate-access-policy', { principalArn: entry.principalArn, policyArn: policy.policyArn, accessScope: policy.scope }));
  return [create, ...associate];
}

const authenticationMode = (mode: string): string => `aws eks update-cluster-config --name="$CLUSTER" --access-config authenticationMode=${mode}`;

/** The aws eks commands that carry out a conversion, with comments saying what each step does. */
export function conversionCommands(report: ConversionReport): string[] {
  const { conversions, targetMode } = report;
  const lockedOut = report.lockedOut.length;
  const entries = conversions.flatMap((conversion) => conversion.outcomes.flatMap((outcome) => (outcome.kind === 'entry' ? [outcome.entry] : [])));
  // One update per step (a jump, or a request for the mode in force, is refused by EKS).
  const commands = report.modeSteps.includes('API_AND_CONFIG_MAP')
    ? ['# CLUSTER=<cluster name>. First the access-entry API beside aws-auth (one way: it cannot be turned off again):', authenticationMode('API_AND_CONFIG_MAP')]
    : [`# CLUSTER=<cluster name>. The cluster is in ${report.currentMode} already: no mode update before the entries.`];
  commands.push(`# ${entries.length} access entr${entries.length === 1 ? 'y' : 'ies'}; each overrides the aws-auth mapping of its principal from the moment it exists:`, ...entries.flatMap(entryCommands));
  if (report.modeSteps.includes('API')) {
    if (lockedOut > 0) commands.push(`# Not API yet: it would lock out ${lockedOut} aws-auth entr${lockedOut === 1 ? 'y' : 'ies'} (see "locked out"). aws-auth keeps serving them meanwhile.`);
    else commands.push('# Once every login works through its entry: aws-auth is no longer read (CONFIG_MAP cannot be turned back on):', authenticationMode('API'));
  } else if (targetMode === 'API') {
    commands.push('# The cluster is in API already: aws-auth is not read.');
  }
  return commands;
}

/** A name as it is when it reads unambiguously in a list, else as a JSON string. */
const shown = (name: string): string => (/^[A-Za-z0-9_./:=@+{}][A-Za-z0-9_./:=@+{}-]*$/.test(name) ? name : JSON.stringify(name));

function describeEntry(entry: ProposedEntry): string {
  const parts = [`${entry.type} ${entry.principalArn}`];
  if (entry.username !== undefined) parts.push(`username ${shown(entry.username)}`);
  if (entry.kubernetesGroups.length > 0) parts.push(`groups ${entry.kubernetesGroups.map(shown).join(', ')}`);
  const policies = entry.policies.map((policy) => `${policy.policyName} (${policy.scope.type === 'cluster' ? 'cluster' : `namespaces ${policy.scope.namespaces.join(', ')}`})`);
  if (policies.length > 0) parts.push(`policies ${policies.join(', ')}`);
  return parts.join('  ');
}

/** The report as text: each aws-auth entry and what it becomes, the commands, who is locked out. */
export function formatConversion(source: string, report: ConversionReport): string {
  const lines = [`${source}: access entries for authentication mode ${report.targetMode}`, ''];
  for (const conversion of report.conversions) {
    lines.push(`${conversion.where} ${conversion.subject}`);
    for (const outcome of conversion.outcomes) {
      if (outcome.kind === 'entry') lines.push(`  → ${describeEntry(outcome.entry)}`);
      else if (outcome.kind === 'existing') lines.push(`  → already has the access entry ${outcome.principalArn}, which overrides this mapping: nothing to create`);
      else if (outcome.kind === 'ignored') lines.push(`  → nothing: ${outcome.inForce} maps the same ARN and is the one in force`);
      else lines.push(`  → no access entry: ${outcome.reason}`);
    }
  }
  lines.push('', 'commands:', ...conversionCommands(report).map((command) => `  ${command}`), '');
  if (report.targetMode === 'API') {
    if (report.lockedOut.length === 0) lines.push('locked out by API: nobody');
    else lines.push(`locked out by API (${report.lockedOut.length}):`, ...report.lockedOut.map((item) => `  ${item.where} ${item.subject}: ${item.reason}`));
  } else {
    lines.push('locked out by API_AND_CONFIG_MAP: nobody (aws-auth stays in force for principals without an entry)');
    if (report.remainOnAwsAuth.length > 0) lines.push(`staying on aws-auth (${report.remainOnAwsAuth.length}):`, ...report.remainOnAwsAuth.map((item) => `  ${item.where} ${item.subject}: ${item.reason}`));
  }
  return `${lines.map(escapeUnprintable).join('\n')}\n`;
}
