import type { Conversion, ConversionReport, ProposedEntry, TargetMode } from './convert-aws-auth.js';

/** The conversion for people: the aws eks commands and the text report. */

const SAFE_WORD = /^[A-Za-z0-9_./:=,@+-]+$/;
const shellWord = (value: string): string => (SAFE_WORD.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`);

function entryCommands(entry: ProposedEntry): string[] {
  const create = ['aws eks create-access-entry --cluster-name "$CLUSTER"', `--principal-arn ${shellWord(entry.principalArn)}`, `--type ${entry.type}`];
  if (entry.username !== undefined) create.push(`--username ${shellWord(entry.username)}`);
  if (entry.kubernetesGroups.length > 0) create.push(`--kubernetes-groups ${entry.kubernetesGroups.map(shellWord).join(' ')}`);
  const associate = entry.policies.map((policy) =>
    [
      'aws eks associate-access-policy --cluster-name "$CLUSTER"',
      `--principal-arn ${shellWord(entry.principalArn)}`,
      `--policy-arn ${policy.policyArn}`,
      `--access-scope ${policy.scope.type === 'cluster' ? 'type=cluster' : `type=namespace,namespaces=${policy.scope.namespaces.join(',')}`}`,
    ].join(' '),
  );
  return [create.join(' '), ...associate];
}

export function commandsFor(conversions: readonly Conversion[], targetMode: TargetMode, lockedOut: number): string[] {
  const entries = conversions.flatMap((conversion) => conversion.outcomes.flatMap((outcome) => (outcome.kind === 'entry' ? [outcome.entry] : [])));
  const commands = [
    '# CLUSTER=<cluster name>. First the access-entry API beside aws-auth (one way: it cannot be turned off again):',
    'aws eks update-cluster-config --name "$CLUSTER" --access-config authenticationMode=API_AND_CONFIG_MAP',
    `# ${entries.length} access entr${entries.length === 1 ? 'y' : 'ies'}; each overrides the aws-auth mapping of its principal from the moment it exists:`,
    ...entries.flatMap(entryCommands),
  ];
  if (targetMode === 'API') {
    if (lockedOut > 0) commands.push(`# Not API yet: it would lock out ${lockedOut} aws-auth entr${lockedOut === 1 ? 'y' : 'ies'} (see "locked out"). aws-auth keeps serving them meanwhile.`);
    else commands.push('# Once every login works through its entry: aws-auth is no longer read (CONFIG_MAP cannot be turned back on):', 'aws eks update-cluster-config --name "$CLUSTER" --access-config authenticationMode=API');
  }
  return commands;
}

function describeEntry(entry: ProposedEntry): string {
  const parts = [`${entry.type} ${entry.principalArn}`];
  if (entry.username !== undefined) parts.push(`username ${entry.username}`);
  if (entry.kubernetesGroups.length > 0) parts.push(`groups ${entry.kubernetesGroups.join(', ')}`);
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
  lines.push('', 'commands:', ...report.commands.map((command) => `  ${command}`), '');
  if (report.targetMode === 'API') {
    if (report.lockedOut.length === 0) lines.push('locked out by API: nobody');
    else lines.push(`locked out by API (${report.lockedOut.length}):`, ...report.lockedOut.map((item) => `  ${item.where} ${item.subject}: ${item.reason}`));
  } else {
    lines.push('locked out by API_AND_CONFIG_MAP: nobody (aws-auth stays in force for principals without an entry)');
    if (report.remainOnAwsAuth.length > 0) lines.push(`staying on aws-auth (${report.remainOnAwsAuth.length}):`, ...report.remainOnAwsAuth.map((item) => `  ${item.where} ${item.subject}: ${item.reason}`));
  }
  return `${lines.join('\n')}\n`;
}
