import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../../helpers/paths.js';

const MARKER = '<!-- install: test/e2e/node/node.e2e.ts runs this block on a real node -->';

/**
 * The README's install blocks (each ```sh block right after MARKER), as the words of each command.
 * The commands are plain words: a quote, `$`, a pipe or a redirection would need a shell the test
 * does not run, so any of them fails here instead of being run differently from what users type.
 */
export function readmeInstallBlocks(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): string[][][] {
  const blocks: string[][][] = [];
  let at = readme.indexOf(MARKER);
  while (at >= 0) {
    const open = readme.indexOf('```sh\n', at);
    const close = readme.indexOf('\n```', open + 6);
    if (open < 0 || close < 0 || readme.slice(at + MARKER.length, open).trim() !== '') throw new Error('README: an install marker not followed by a ```sh block');
    const commands = readme
      .slice(open + 6, close)
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const command of commands) {
      if (/["'`$|<>;&\\*?]/.test(command)) throw new Error(`README install command needs a shell: ${command}`);
    }
    blocks.push(commands.map((command) => command.split(/\s+/)));
    at = readme.indexOf(MARKER, close);
  }
  return blocks;
}
