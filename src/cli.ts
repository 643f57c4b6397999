#!/usr/bin/env node
import { checkNodeLine } from './cli/node-line.js';

// Checked before any dependency loads: on an older Node one may not even link.
const nodeLine = checkNodeLine(process.versions.node);
if (nodeLine.verdict !== 'tested') process.stderr.write(`pod-identity-webhook: ${nodeLine.message}\n`);
if (nodeLine.verdict === 'too-old') process.exit(1);

const { CommanderError } = await import('commander');
const { buildProgram } = await import('./cli/program.js');
const { UsageError } = await import('./cli/usage-error.js');

try {
  await buildProgram().parseAsync(process.argv);
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
