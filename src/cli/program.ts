import { Command, type ParseOptionsResult } from 'commander';
import { packageVersion } from '../shared/package-info.js';
import { registerAccessEntries } from './access-entries-command.js';
import { registerAuthenticator, registerLintAwsAuth, registerTokenExec } from './auth-commands.js';
import { registerCerts } from './certs-command.js';
import { registerDoctor } from './doctor-command.js';
import { registerDemo, registerIssuer, registerSts, registerToken } from './lab-commands.js';
import { registerExplain } from './explain-command.js';
import { registerImagePullConfig } from './image-pull-command.js';
import { registerManifests } from './manifests-command.js';
import { registerCompletion, registerVersion } from './meta-commands.js';
import { registerPodIdentityAgent, registerPodIdentityConfig } from './pod-identity-commands.js';
import { registerRender } from './render-command.js';
import { registerServe, registerStart } from './serve-command.js';

/** Every message the command line prints for bad input starts with this (see cli.ts). */
export const ERROR_PREFIX = 'pod-identity-webhook: ';

/**
 * Commander checks required options before unknown ones, so a misspelt `--pdo` was reported as a
 * missing `--pod`. A command without subcommands here reports the unknown option first.
 */
class CliCommand extends Command {
  override createCommand(name?: string): Command {
    return new CliCommand(name);
  }

  override parseOptions(argv: string[]): ParseOptionsResult {
    const parsed = super.parseOptions(argv);
    const unknown = parsed.unknown[0];
    // commander's own report (with its "did you mean" suggestion); not in its typings, tested in test/cli.
    if (this.commands.length === 0 && unknown?.startsWith('-') && unknown !== '--help' && unknown !== '-h') (this as unknown as { unknownOption(flag: string): never }).unknownOption(unknown);
    return parsed;
  }
}

/**
 * The whole command line: every command and flag (the flags table of docs/flags.md is checked against this).
 * Command modules import their heavy dependencies (@kubernetes/client-node, the AWS SDK, jose,
 * node-forge) inside their actions, so a long-running `serve` loads only what its mode uses: a heap
 * 40 MB larger made every admission request slower (bench/README.md).
 */
export function buildProgram(): Command {
  const program = new CliCommand('pod-identity-webhook')
    .description('IAM roles for service accounts (IRSA) and EKS Pod Identity for Kubernetes: the mutating webhook and an offline OIDC, STS, EKS Auth and agent lab')
    .version(packageVersion())
    .exitOverride()
    // One prefix for every error, commander's own included ("error: unknown option" otherwise).
    .configureOutput({ outputError: (text, write) => write(`${ERROR_PREFIX}${text.replace(/^error: /, '')}`) })
    .showHelpAfterError('(add --help for usage)');
  registerServe(program);
  registerStart(program);
  registerRender(program);
  registerCerts(program);
  registerManifests(program);
  registerIssuer(program);
  registerToken(program);
  registerSts(program);
  registerDemo(program);
  registerPodIdentityAgent(program);
  registerPodIdentityConfig(program);
  registerTokenExec(program);
  registerAuthenticator(program);
  registerLintAwsAuth(program);
  registerAccessEntries(program);
  registerImagePullConfig(program);
  registerExplain(program);
  registerDoctor(program);
  registerVersion(program);
  registerCompletion(program);
  return program;
}
