import type { Command } from 'commander';
import { readAccessEntries } from '../authenticator/access-entries.js';
import { readTextFile } from '../shared/files/read-file.js';
import { UsageError } from './usage-error.js';

export function registerAccessEntries(program: Command): void {
  const group = program.command('access-entries').description('EKS access entries in the lab: the RBAC standing in for their access policies');
  group
    .command('rbac')
    .description('print the RBAC (ClusterRoleBindings, RoleBindings) that grants an access-entries file\'s policies in a lab cluster, with what differs from EKS beside each binding (lab)')
    .argument('<file>', 'access entries and their policies, as describe-access-entry and list-associated-access-policies print them (the authenticator\'s --access-entries)')
    .action(async (file: string) => {
      const text = await readTextFile(file, { what: 'access entries', maxBytes: 16 * 1024 * 1024 });
      if (!text.ok) throw new UsageError(text.error);
      const entries = readAccessEntries(text.value, { source: file });
      if (!entries.ok) throw new UsageError(entries.error);
      const { accessEntriesRbac } = await import('../lab/access-entries-rbac.js');
      const output = accessEntriesRbac(entries.value);
      process.stdout.write(output.yaml);
      for (const line of output.unconverted) process.stderr.write(`warning: ${line}\n`);
    });
}
