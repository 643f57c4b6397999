import { Command } from 'commander';
import { packageVersion } from '../shared/package-info.js';
import { registerAuthenticator, registerLintAwsAuth, registerTokenExec } from './auth-commands.js';
import { registerCerts } from './certs-command.js';
import { registerDemo, registerIssuer, registerSts, registerToken } from './lab-commands.js';
import { registerManifests } from './manifests-command.js';
import { registerRender } from './render-command.js';
import { registerServe, registerStart } from './serve-command.js';

/**
 * The whole command line: every command and flag (the README's flags table is checked against this).
 * Command modules import their heavy dependencies (@kubernetes/client-node, the AWS SDK, jose,
 * node-forge) inside their actions, so a long-running `serve` loads only what its mode uses: a heap
 * 40 MB larger made every admission request slower (bench/README.md).
 */
export function buildProgram(): Command {
  const program = new Command('pod-identity-webhook')
    .description('IAM roles for service accounts (IRSA) for Kubernetes: the mutating webhook and an offline OIDC/STS lab')
    .version(packageVersion())
    .exitOverride()
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
  registerTokenExec(program);
  registerAuthenticator(program);
  registerLintAwsAuth(program);
  return program;
}
