import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';

/**
 * Files an attacker (or a mistake) can put where a server reads its configuration. Each replaces
 * whatever is at `path`; the servers must keep answering and keep their last good configuration.
 */
export interface HostileFile {
  readonly name: string;
  readonly write: (path: string) => void;
}

/** Nine aliases of nine of ... : expands to 9^5 (59,049) strings if aliases are followed without a limit. */
export const ALIAS_BOMB = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  '',
].join('\n');

function replaceWith(path: string, make: () => void): void {
  rmSync(path, { recursive: true, force: true });
  make();
}

export const HOSTILE_FILES: readonly HostileFile[] = [
  { name: 'an alias bomb', write: (path) => replaceWith(path, () => writeFileSync(path, ALIAS_BOMB)) },
  { name: 'a repeated key', write: (path) => replaceWith(path, () => writeFileSync(path, 'kind: ConfigMap\nkind: Secret\n')) },
  { name: 'nesting 10,000 levels deep', write: (path) => replaceWith(path, () => writeFileSync(path, `${'['.repeat(10_000)}${']'.repeat(10_000)}\n`)) },
  { name: 'a 20 MiB file', write: (path) => replaceWith(path, () => writeFileSync(path, Buffer.alloc(20 * 1024 * 1024, 0x61))) },
  { name: 'a link to /dev/zero', write: (path) => replaceWith(path, () => symlinkSync('/dev/zero', path)) },
  { name: 'a FIFO nobody writes to', write: (path) => replaceWith(path, () => execFileSync('mkfifo', [path])) },
  { name: 'a directory', write: (path) => replaceWith(path, () => mkdirSync(path)) },
  { name: 'a dangling link', write: (path) => replaceWith(path, () => symlinkSync(`${path}.nowhere`, path)) },
  { name: 'binary garbage and invalid UTF-8', write: (path) => replaceWith(path, () => writeFileSync(path, Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a, 0x1b, 0x5b]))) },
  { name: 'an empty file', write: (path) => replaceWith(path, () => writeFileSync(path, '')) },
  { name: 'an unclosed template and 10,000 spaces', write: (path) => replaceWith(path, () => writeFileSync(path, `kind: ConfigMap\ndata:\n  mapRoles: "{{${' '.repeat(10_000)}"\n`)) },
];
