import { Argument, type Command, type OptionValues } from 'commander';
import { buildCommit, packageVersion } from '../shared/package-info.js';
import { COMPLETION_SHELLS, type CompletionShell, completionScript } from './completion.js';
import { formatStructured, outputFormatFrom, outputOption } from './output-flag.js';

/** `version`: what is running (the package, the commit it was built from, the Node runtime), as kubectl version. */
export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the version, the git commit it was built from, the Node.js runtime and the platform')
    .addOption(outputOption())
    .action(async (values: OptionValues) => {
      const info = { version: packageVersion(), commit: await buildCommit(), node: process.version, platform: `${process.platform}/${process.arch}` };
      const output = outputFormatFrom(values);
      process.stdout.write(
        output === 'text' ? `${program.name()} ${info.version}\ncommit: ${info.commit}\nnode: ${info.node}\nplatform: ${info.platform}\n` : formatStructured(info, output),
      );
    });
}

/** `completion bash|zsh|fish`: the script, generated from this very command tree. */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(pod-identity-webhook completion bash), likewise zsh; fish: ... completion fish | source')
    .addArgument(new Argument('<shell>', 'the shell').choices(COMPLETION_SHELLS))
    .action((shell: CompletionShell) => {
      process.stdout.write(completionScript(program, shell));
    });
}
