// Writes dist/src/build-info.json ({"commit": "<git commit>"}) after the compiler, for `version`:
// an installed package or an image has no .git to ask. The commit is $GIT_COMMIT when set (the
// Dockerfile passes its build argument), else `git rev-parse HEAD`, else "unknown".
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const COMMIT = /^[0-9a-f]{7,64}$/;

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return '';
  }
}

const given = (process.env.GIT_COMMIT ?? '').trim().toLowerCase();
const found = given !== '' ? given : gitCommit();
const commit = COMMIT.test(found) ? found : 'unknown';
const target = process.argv[2] ?? join('dist', 'src', 'build-info.json');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, `${JSON.stringify({ commit })}\n`);
