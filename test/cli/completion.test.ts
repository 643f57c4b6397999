import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command, Option } from 'commander';
import { completionScript } from '../../src/cli/completion.js';
import { buildProgram } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);

/** Whether `shell` is installed (CI may not have zsh or fish: those tests skip, saying so). */
function installed(shell: string): boolean {
  try {
    execFileSync(shell, ['-c', 'exit 0'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The completion scripts, loaded into the real shells: syntactically valid, and completing what the
 * command tree has. bash is driven through its completion function (COMP_WORDS, COMP_CWORD), zsh
 * through its function with compadd captured, fish through `complete -C`.
 */
describe('completion bash|zsh|fish: generated from the command tree', function () {
  this.timeout(60_000);
  let dir: string;
  const scripts = new Map<string, string>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-completion-'));
    for (const shell of ['bash', 'zsh', 'fish']) {
      const result = await runCli(['completion', shell]);
      assert.equal(result.code, 0, result.stderr);
      const file = join(dir, `completion.${shell}`);
      writeFileSync(file, result.stdout);
      scripts.set(shell, file);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an unknown shell is a usage error (exit 2), listing the shells', async () => {
    const result = await runCli(['completion', 'powershell']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^pod-identity-webhook: command-argument value 'powershell' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish/);
  });

  it('follows the tree: a command added to the program is completed, with its flags and choices', () => {
    const program = new Command('tool');
    program.command('added').option('--mode <mode>', 'a mode').addOption(new Option('--level <level>').choices(['low', 'high']));
    const bash = completionScript(program, 'bash');
    assert.match(bash, /commands='added'/);
    assert.match(bash, /' added --level'\) COMPREPLY=\( \$\(compgen -W 'low high' -- "\$cur"\) \)/);
    // Nothing that could be shell syntax is ever written into a script.
    program.addCommand(new Command('$(reboot)'));
    for (const shell of ['bash', 'zsh', 'fish'] as const) assert.throws(() => completionScript(program, shell), /internal: "\$\(reboot\)" cannot be put in a completion script/);
  });

  const bashComplete = async (...words: string[]): Promise<string[]> => {
    const driver = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _pod_identity_webhook; printf "%s\\n" "${COMPREPLY[@]}"';
    const { stdout } = await run('bash', ['-c', driver, 'bash', scripts.get('bash')!, 'pod-identity-webhook', ...words], { cwd: dir, timeout: 10_000 });
    return stdout.split('\n').filter((line) => line !== '');
  };

  it('bash: valid (bash -n); completes commands, subcommands, flags, choices and values after "=", skipping flag values', async function () {
    if (!installed('bash')) this.skip();
    await run('bash', ['-n', scripts.get('bash')!]);
    assert.deepEqual(await bashComplete('doc'), ['doctor']);
    assert.deepEqual(await bashComplete('access-entries', ''), ['rbac']);
    assert.deepEqual(await bashComplete('doctor', '-o', ''), ['text', 'json', 'yaml']);
    assert.deepEqual(await bashComplete('doctor', '--output', '=', 'y'), ['yaml']);
    assert.deepEqual(await bashComplete('completion', ''), ['bash', 'zsh', 'fish']);
    // "serve" here is --namespace's value, not the serve command: doctor's flags are offered.
    assert.deepEqual(await bashComplete('doctor', '-n', 'serve', '--req'), ['--request-timeout']);
    assert.deepEqual(await bashComplete('explain', '--con'), ['--context', '--container', '--container-credentials-audience', '--container-credentials-token-mount-path', '--container-credentials-token-volume-name', '--container-credentials-token-path', '--container-credentials-full-uri']);
    const every = buildProgram().commands.map((command) => command.name());
    assert.deepEqual(await bashComplete(''), every);
  });

  it('zsh: valid (zsh -n); its completion function offers doctor for "doc" and the output formats', async function () {
    if (!installed('zsh')) this.skip(); // apt-get install zsh
    await run('zsh', ['-n', scripts.get('zsh')!]);
    // compadd and _files exist only inside zsh's completion system: stand-ins print what is offered.
    const driver = 'compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; _files() { print FILES; }; source "$1"; shift; words=("$@"); CURRENT=$#words; _pod_identity_webhook';
    const complete = async (...words: string[]): Promise<string[]> => {
      const { stdout } = await run('zsh', ['-f', '-c', driver, 'zsh', scripts.get('zsh')!, 'pod-identity-webhook', ...words], { timeout: 10_000 });
      return stdout.split('\n').filter((line) => line !== '' && line.startsWith(words.at(-1) ?? ''));
    };
    assert.deepEqual(await complete('doc'), ['doctor']);
    assert.deepEqual(await complete('doctor', '-o', ''), ['text', 'json', 'yaml']);
    assert.deepEqual(await complete('lint-aws-auth', ''), ['FILES']);
  });

  it('fish: valid (fish -n); complete -C offers doctor for "doc" and the output formats', async function () {
    if (!installed('fish')) this.skip(); // apt-get install fish
    await run('fish', ['-n', scripts.get('fish')!]);
    const complete = async (line: string): Promise<string[]> => {
      const { stdout } = await run('fish', ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', scripts.get('fish')!, line], { timeout: 10_000 });
      return stdout.split('\n').filter((entry) => entry !== '').map((entry) => entry.split('\t')[0]!);
    };
    assert.deepEqual(await complete('pod-identity-webhook doc'), ['doctor']);
    assert.deepEqual((await complete('pod-identity-webhook doctor --output ')).sort(), ['json', 'text', 'yaml']);
    assert.deepEqual(await complete('pod-identity-webhook access-entries '), ['rbac']);
  });
});
