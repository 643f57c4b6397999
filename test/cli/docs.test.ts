import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT } from '../helpers/paths.js';

const FLAGS_DOC = join('docs', 'flags.md');
/** A row of a flags table: `| \`-o, --output <format>\` | commands | default |`. */
const FLAG_ROW = /^\| `((?:-[A-Za-z], )?--[^`]+)` \| ([^|]+) \| ([^|]+) \|/;

/** The flags table (docs/flags.md, up to its first subsection): flag spec → commands that accept it, and the default column. */
function readmeFlagRows(): Map<string, { commands: Set<string>; defaults: string }> {
  const doc = readFileSync(join(ROOT, FLAGS_DOC), 'utf8');
  assert.ok(doc.startsWith('# Flags\n'), `${FLAGS_DOC} does not start with its title`);
  const section = doc.split('\n## ')[0]!;
  const rows = new Map<string, { commands: Set<string>; defaults: string }>();
  for (const line of section.split('\n')) {
    const match = FLAG_ROW.exec(line);
    if (!match) continue;
    assert.ok(!rows.has(match[1]!), `${match[1]} is documented twice`);
    rows.set(match[1]!, { commands: new Set(match[2]!.split(',').map((command) => command.trim())), defaults: match[3]!.trim() });
  }
  return rows;
}

/** The project's Markdown pages, relative to the repository root. */
function markdownPages(): string[] {
  return ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', join('bench', 'README.md'), join('charts', 'pod-identity-webhook', 'README.md')]
    .concat(readdirSync(join(ROOT, 'docs')).filter((file) => file.endsWith('.md')).map((file) => join('docs', file)));
}

/** A page's lines outside fenced code blocks. */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const heading = /^#{1,6} (.+)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

function readmeFlags(): Map<string, Set<string>> {
  return new Map([...readmeFlagRows()].map(([flags, row]) => [flags, row.commands]));
}

describe('documentation matches the command line', () => {
  const program = buildProgram();
  const documented = readmeFlags();

  it('every flag of every command is in the flags table, for that command', () => {
    for (const command of program.commands) {
      for (const option of command.options) {
        if (option.long === '--help') continue;
        const commands = documented.get(option.flags);
        assert.ok(commands, `README does not document ${option.flags} (${command.name()})`);
        assert.ok(commands.has(command.name()), `README does not list ${command.name()} for ${option.flags}`);
      }
    }
  });

  it('every flag in the flags table exists on every command it names', () => {
    for (const [flags, commands] of documented) {
      for (const name of commands) {
        const command = program.commands.find((candidate) => candidate.name() === name);
        assert.ok(command, `README names an unknown command ${name} for ${flags}`);
        assert.ok(command.options.some((option) => option.flags === flags), `${name} has no ${flags}`);
      }
    }
  });

  it('the flags table\'s default column says what the code does: its default, "required", or "off"', () => {
    const rows = readmeFlagRows();
    const problems: string[] = [];
    for (const command of program.commands) {
      for (const option of command.options) {
        if (option.long === '--help') continue;
        const cell = rows.get(option.flags)?.defaults ?? '';
        const where = `${command.name()} ${option.flags} (${FLAGS_DOC}: ${cell})`;
        if (option.mandatory) {
          if (!cell.includes('required')) problems.push(`${where}: the option is required`);
          continue;
        }
        const value: unknown = option.defaultValue;
        if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
        const expected = option.defaultValueDescription ?? (Array.isArray(value) ? value.join(', ') : String(value));
        if (value === false) {
          if (!/\boff\b|`false`/.test(cell)) problems.push(`${where}: off by default`);
        } else if (!cell.includes(`\`${expected.split(',')[0]!.trim()}\``)) {
          problems.push(`${where}: the default is ${expected}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('no other page has a table row for one of the command line\'s flags: each is documented once, in docs/flags.md', () => {
    const ours = new Set(program.commands.flatMap((command) => command.options.flatMap((option) => [option.flags, option.long ?? option.flags])));
    const pages = markdownPages().filter((page) => page !== FLAGS_DOC);
    const elsewhere: string[] = [];
    for (const page of pages) {
      for (const line of readFileSync(join(ROOT, page), 'utf8').split('\n')) {
        const flags = FLAG_ROW.exec(line)?.[1];
        if (flags !== undefined && ours.has(flags)) elsewhere.push(`${page}: ${flags}`);
      }
    }
    assert.deepEqual(elsewhere, []);
  });

  it('every relative link of the Markdown pages reaches a file, and a heading of it when it names one', () => {
    const broken: string[] = [];
    for (const page of markdownPages()) {
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const line of proseLines(text)) {
        for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/i.test(target!)) continue;
          const [path, anchor] = target!.split('#') as [string, string | undefined];
          const file = path === '' ? page : normalize(join(dirname(page), path));
          if (!existsSync(join(ROOT, file))) {
            broken.push(`${page}: ${target} (no ${file})`);
            continue;
          }
          if (anchor !== undefined && file.endsWith('.md') && !headingAnchors(readFileSync(join(ROOT, file), 'utf8')).has(anchor)) {
            broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
          }
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('the help text states each default once (commander adds "(default: …)" to an option that has one)', () => {
    for (const command of program.commands) {
      for (const option of command.options) {
        if (option.defaultValue === undefined) continue;
        assert.doesNotMatch(option.description, /\(default/, `${command.name()} ${option.flags} states its default twice`);
      }
    }
  });

  it('every command is in the README commands table', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const command of program.commands) assert.ok(readme.includes(`| \`${command.name()}\` |`), command.name());
  });

  it('.ci/run runs npm ci and then exactly the README test commands (npm test, then the real-cluster tests)', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const commands = ci.split('\n').filter((line) => /^(?:timed )?npm /.test(line)).map((line) => line.replace(/^timed /, ''));
    assert.deepEqual(commands, ['npm ci', 'npm test', 'npm run test:e2e']);
    for (const command of commands.slice(1)) assert.match(readme, new RegExp(`^${command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`, 'm'), command);
  });
});
