#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerRender } from './cli/render-command.js';
import { UsageError } from './cli/usage-error.js';
import { packageVersion } from './package-info.js';

const program = new Command('pod-identity-webhook')
  .description('IAM roles for service accounts (IRSA) for Kubernetes: the mutating webhook and an offline OIDC/STS lab')
  .version(packageVersion())
  .exitOverride()
  .showHelpAfterError('(add --help for usage)');

registerRender(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has already printed the message (or the help text)
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UsageError) {
    process.stderr.write(`pod-identity-webhook: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`pod-identity-webhook: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
