import type { Command } from 'commander';

/**
 * Shell completion scripts generated from commander's command tree (commands, subcommands, flags,
 * their choices), so they never drift from the command line. Nothing the user types goes into a
 * script: only the tree's own names, each checked to be a plain word, and descriptions quoted.
 */

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What a flag's value is completed with. */
type ValueCompletion = { readonly kind: 'choices'; readonly words: readonly string[] } | { readonly kind: 'files' } | { readonly kind: 'none' };

interface FlagNode {
  /** `-n` and `--namespace`, as many as it has. */
  readonly names: readonly string[];
  readonly short: string | undefined;
  readonly long: string | undefined;
  readonly description: string;
  /** Undefined: a switch without a value. */
  readonly value: ValueCompletion | undefined;
}

interface CommandNode {
  /** From the program down: [] for the program, ['access-entries', 'rbac'] for a subcommand. */
  readonly path: readonly string[];
  readonly description: string;
  readonly flags: readonly FlagNode[];
  readonly subcommands: readonly CommandNode[];
  /** What the first positional argument is completed with. */
  readonly argument: ValueCompletion;
}

const WORD = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const FLAG = /^--?[A-Za-z0-9][A-Za-z0-9-]*$/;

/** Every name put in a script is a plain word: no quoting, no expansion in any of the shells. */
function word(text: string, pattern: RegExp = WORD): string {
  if (!pattern.test(text)) throw new Error(`internal: "${text}" cannot be put in a completion script`);
  return text;
}

function valueCompletion(placeholder: string, choices: readonly string[] | undefined): ValueCompletion {
  if (choices !== undefined && choices.length > 0) return { kind: 'choices', words: choices.map((choice) => word(choice)) };
  return /file|dir|path/.test(placeholder) ? { kind: 'files' } : { kind: 'none' };
}

function commandNode(command: Command, path: readonly string[]): CommandNode {
  const flags: FlagNode[] = command.options.map((option) => {
    const names = [option.short, option.long].filter((name): name is string => name !== undefined).map((name) => word(name, FLAG));
    const takesValue = option.required || option.optional;
    return { names, short: option.short, long: option.long, description: option.description, value: takesValue ? valueCompletion(option.flags, option.argChoices) : undefined };
  });
  flags.push({ names: ['-h', '--help'], short: '-h', long: '--help', description: 'display help', value: undefined });
  const argument = command.registeredArguments[0];
  return {
    path,
    description: command.description(),
    flags,
    subcommands: command.commands.map((sub) => commandNode(sub, [...path, word(sub.name())])),
    argument: argument === undefined ? { kind: 'none' } : valueCompletion(argument.name(), argument.argChoices),
  };
}

function allNodes(node: CommandNode): CommandNode[] {
  return [node, ...node.subcommands.flatMap(allNodes)];
}

/** The case pattern of a command path, as the scripts build it: ` access-entries rbac`. */
const pathKey = (path: readonly string[]): string => path.map((name) => ` ${name}`).join('');

const functionName = (program: string): string => `_${program.replace(/[^A-Za-z0-9]/g, '_')}`;

/** bash and zsh share the same walk over the words (POSIX `case`); they differ in how they offer words. */
/** How a shell offers words: a fixed list of plain words, or the words of a variable. */
type WordSource = { readonly literal: readonly string[] } | { readonly variable: string };

function shellBody(root: CommandNode, offer: { words: (source: WordSource) => string; files: string; nothing: string }, first: string, current: string): string[] {
  const nodes = allNodes(root);
  const commandPaths = nodes.filter((node) => node.path.length > 0).map((node) => `'${pathKey(node.path)}'`);
  const valueFlags = nodes.flatMap((node) => node.flags.filter((flag) => flag.value !== undefined).map((flag) => ({ node, flag })));
  const lines = [
    `  local cmdpath="" word i cur prev flags="" commands="" argument=""`,
    `  cur="\${words[${current}]}"`,
    `  prev="\${words[${current}-1]}"`,
    `  [[ "$prev" == "=" ]] && prev="\${words[${current}-2]}"`,
    `  for (( i = ${first}; i < ${current}; i++ )); do`,
    '    word="${words[i]}"',
    '    case "$cmdpath $word" in',
  ];
  if (valueFlags.length > 0) lines.push(`      ${valueFlags.flatMap(({ node, flag }) => flag.names.map((name) => `'${pathKey(node.path)} ${name}'`)).join('|')}) (( i++ )) ;;`);
  if (commandPaths.length > 0) lines.push(`      ${commandPaths.join('|')}) cmdpath="$cmdpath $word" ;;`);
  lines.push('    esac', '  done', '  case "$cmdpath" in');
  for (const node of nodes) {
    const flags = node.flags.flatMap((flag) => flag.names).join(' ');
    const commands = node.subcommands.map((sub) => sub.path.at(-1) ?? '').join(' ');
    const argument = node.argument.kind === 'choices' ? node.argument.words.join(' ') : node.argument.kind;
    lines.push(`    '${pathKey(node.path)}') flags='${flags}'; commands='${commands}'; argument='${argument}' ;;`);
  }
  lines.push('  esac', '  case "$cmdpath $prev" in');
  for (const { node, flag } of valueFlags) {
    const patterns = flag.names.map((name) => `'${pathKey(node.path)} ${name}'`).join('|');
    const value = flag.value;
    const action = value?.kind === 'choices' ? offer.words({ literal: value.words }) : value?.kind === 'files' ? offer.files : offer.nothing;
    lines.push(`    ${patterns}) ${action}; return ;;`);
  }
  lines.push(
    '  esac',
    '  if [[ "$cur" == -* ]]; then',
    `    ${offer.words({ variable: 'flags' })}`,
    '  elif [[ -n "$commands" ]]; then',
    `    ${offer.words({ variable: 'commands' })}`,
    '  elif [[ "$argument" == files ]]; then',
    `    ${offer.files}`,
    '  elif [[ "$argument" != none ]]; then',
    `    ${offer.words({ variable: 'argument' })}`,
    '  fi',
  );
  return lines;
}

function bashScript(program: string, root: CommandNode): string {
  const name = functionName(program);
  return [
    `# bash completion for ${program}, generated by \`${program} completion bash\`.`,
    `# Load it with: source <(${program} completion bash)`,
    `${name}() {`,
    '  local -a words=("${COMP_WORDS[@]}")',
    '  COMPREPLY=()',
    ...shellBody(
      root,
      {
        words: (source) => `COMPREPLY=( $(compgen -W ${'literal' in source ? `'${source.literal.join(' ')}'` : `"$${source.variable}"`} -- "$cur") )`,
        files: 'compopt -o filenames 2>/dev/null; COMPREPLY=( $(compgen -f -- "$cur") )',
        nothing: 'COMPREPLY=()',
      },
      '1',
      'COMP_CWORD',
    ),
    '}',
    `complete -F ${name} ${program}`,
    '',
  ].join('\n');
}

function zshScript(program: string, root: CommandNode): string {
  const name = functionName(program);
  return [
    `#compdef ${program}`,
    `# zsh completion for ${program}, generated by \`${program} completion zsh\`.`,
    `# Load it with: autoload -U compinit && compinit; source <(${program} completion zsh)`,
    `${name}() {`,
    // zsh arrays count from 1: the program is words[1], the word being completed words[CURRENT].
    ...shellBody(root, { words: (source) => `compadd -- ${'literal' in source ? source.literal.join(' ') : `\${=${source.variable}}`}`, files: '_files', nothing: 'return 1' }, '2', 'CURRENT'),
    '}',
    `compdef ${name} ${program}`,
    '',
  ].join('\n');
}

/** A fish single-quoted string: only \ and ' are special inside it. */
function fishQuote(text: string): string {
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  const short = line.length > 100 ? `${line.slice(0, 99)}…` : line;
  return `'${short.replace(/[\\']/g, (character) => `\\${character}`)}'`;
}

function fishScript(program: string, root: CommandNode): string {
  const lines = [`# fish completion for ${program}, generated by \`${program} completion fish\`.`, `# Load it with: ${program} completion fish | source`, `complete -c ${program} -f`];
  for (const node of allNodes(root)) {
    const here = node.path.at(-1);
    const children = node.subcommands.map((sub) => sub.path.at(-1) ?? '');
    // Where this command's flags and subcommands apply: its name seen, none of its subcommands yet.
    const seen = here === undefined ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${here}`;
    const condition = children.length > 0 && here !== undefined ? `${seen}; and not __fish_seen_subcommand_from ${children.join(' ')}` : seen;
    for (const sub of node.subcommands) lines.push(`complete -c ${program} -n '${condition}' -a ${sub.path.at(-1) ?? ''} -d ${fishQuote(sub.description)}`);
    for (const flag of node.flags) {
      const names = [flag.short === undefined ? '' : ` -s ${flag.short.slice(1)}`, flag.long === undefined ? '' : ` -l ${flag.long.slice(2)}`].join('');
      const value = flag.value === undefined ? '' : flag.value.kind === 'choices' ? ` -x -a '${flag.value.words.join(' ')}'` : flag.value.kind === 'files' ? ' -r -F' : ' -x';
      lines.push(`complete -c ${program} -n '${seen}'${names}${value} -d ${fishQuote(flag.description)}`);
    }
    if (children.length === 0 && here !== undefined && node.argument.kind !== 'none') {
      lines.push(`complete -c ${program} -n '${seen}' ${node.argument.kind === 'files' ? '-F' : `-a '${node.argument.words.join(' ')}'`}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script for `shell`, from the program's own command tree. */
export function completionScript(program: Command, shell: CompletionShell): string {
  const name = word(program.name());
  const root = commandNode(program, []);
  return shell === 'bash' ? bashScript(name, root) : shell === 'zsh' ? zshScript(name, root) : fishScript(name, root);
}
