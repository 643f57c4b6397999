import { readFileSync } from 'node:fs';

/**
 * The code blocks of a markdown file marked `<!-- tested: NAME -->` on the line before their opening
 * fence (indented alike inside a list), by name: what a test performs, so the document stays true.
 */
export function testedBlocks(path: string): Map<string, string> {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks = new Map<string, string>();
  for (let index = 0; index < lines.length; index += 1) {
    const marker = /^(\s*)<!-- tested: ([\w-]+) -->$/.exec(lines[index]!);
    if (!marker) continue;
    const [, indent = '', name = ''] = marker;
    if (blocks.has(name)) throw new Error(`${path}:${index + 1}: a second block named ${name}`);
    const fence = lines[index + 1];
    if (fence === undefined || !fence.startsWith(`${indent}\`\`\``)) throw new Error(`${path}:${index + 1}: the marker ${name} is not followed by a code block`);
    const body: string[] = [];
    let end = index + 2;
    for (; end < lines.length && lines[end] !== `${indent}\`\`\``; end += 1) body.push(lines[end]!.slice(indent.length));
    if (end === lines.length) throw new Error(`${path}:${index + 1}: the block ${name} is not closed`);
    blocks.set(name, body.join('\n'));
    index = end;
  }
  return blocks;
}

/** The block named `name`, or a failure naming the file. */
export function testedBlock(blocks: ReadonlyMap<string, string>, name: string): string {
  const block = blocks.get(name);
  if (block === undefined) throw new Error(`the guide has no block marked <!-- tested: ${name} -->`);
  return block;
}

/** Shell lines with their `\` continuations joined, without blank lines. */
export function commandLines(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** kube-apiserver flags written one `--name=value` a line: name → values, in order. */
export function flagLines(block: string): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (const line of commandLines(block)) {
    const match = /^--([a-z][a-z0-9-]*)=(\S+)$/.exec(line);
    if (!match) throw new Error(`not a --flag=value line: ${line}`);
    flags.set(match[1]!, [...(flags.get(match[1]!) ?? []), match[2]!]);
  }
  return flags;
}
