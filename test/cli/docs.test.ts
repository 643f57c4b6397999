import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT } from '../helpers/paths.js';

/** The README's flags table: flag spec → commands that accept it, and the default column. */
function readmeFlagRows(): Map<string, { commands: Set<string>; defaults: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n## Flags\n')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, { commands: Set<string>; defaults: string }>();
  for (const line of section.split('\n')) {
    const match = /^\| `((?:-[A-Za-z], )?--[^`]+)` \| ([^|]+) \| ([^|]+) \|/.exec(line);
    if (!match) continue;
    assert.ok(!rows.has(match[1]!), `${match[1]} is documented twice`);
    rows.set(match[1]!, { commands: new Set(match[2]!.split(',').map((command) => command.trim())), defaults: match[3]!.trim() });
  }
  return rows;
}

function readmeFlags(): Map<string, Set<string>> {
  return new Map([...readmeFlagRows()].map(([flags, row]) => [flags, row.commands]));
}

describe('documentation matches the command line', () => {
  const program = buildProgram();
  const documented = readmeFlags();

  it('every flag of every command is in the README flags table, for that command', () => {
    for (const command of program.commands) {
      for (const option of command.options) {
        if (option.long === '--help') continue;
        const commands = documented.get(option.flags);
        assert.ok(commands, `README does not document ${option.flags} (${command.name()})`);
        assert.ok(commands.has(command.name()), `README does not list ${command.name()} for ${option.flags}`);
      }
    }
  });

  it('every flag in the README table exists on every command it names', () => {
    for (const [flags, commands] of documented) {
      for (const name of commands) {
        const command = program.commands.find((candidate) => candidate.name() === name);
        assert.ok(command, `README names an unknown command ${name} for ${flags}`);
        assert.ok(command.options.some((option) => option.flags === flags), `${name} has no ${flags}`);
      }
    }
  });

  it('the README default column says what the code does: its default, "required", or "off"', () => {
    const rows = readmeFlagRows();
    const problems: string[] = [];
    for (const command of program.commands) {
      for (const option of command.options) {
        if (option.long === '--help') continue;
        const cell = rows.get(option.flags)?.defaults ?? '';
        const where = `${command.name()} ${option.flags} (README: ${cell})`;
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
