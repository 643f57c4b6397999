import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_CODES, CHECKS, DOCTOR_CODES } from '../../../src/diagnose/doctor/codes.js';
import { doctorFixtureNames, loadDoctorFixture } from '../../helpers/doctor-fixtures.js';
import { ROOT } from '../../helpers/paths.js';

/** Test files that run doctor and assert its codes (the fixtures runner asserts the fixtures' expected.yaml). */
function assertingSources(): Array<{ file: string; text: string }> {
  const dir = join(ROOT, 'test', 'diagnose', 'doctor');
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts') && name !== 'codes.test.ts' && name !== 'fixtures.test.ts')
    .map((name) => join(dir, name));
  files.push(join(ROOT, 'test', 'e2e', 'doctor.e2e.ts'));
  return files.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

describe('doctor codes: documented, and each one produced by a fixture or a test', () => {
  it('each code has a severity, a check, a meaning and a fix', () => {
    for (const code of ALL_CODES) {
      const info = DOCTOR_CODES[code];
      assert.match(code, /^[A-Z][A-Z_]+$/);
      assert.ok(['info', 'warning', 'error'].includes(info.severity), code);
      assert.ok((CHECKS as readonly string[]).includes(info.check), code);
      assert.ok(info.meaning.length > 20 && info.fix.length > 10, code);
    }
  });

  it('every code is expected by a fixture of test/fixtures/doctor/ or asserted by a doctor test', () => {
    const byFixture = new Map<string, string[]>();
    for (const name of doctorFixtureNames()) {
      for (const finding of loadDoctorFixture(name).expected.findings) byFixture.set(finding.code, [...(byFixture.get(finding.code) ?? []), name]);
    }
    const sources = assertingSources();
    const uncovered = ALL_CODES.filter((code) => !byFixture.has(code) && !sources.some((source) => new RegExp(`['\`]${code}[ '\`]`).test(source.text)));
    assert.deepEqual(uncovered, [], 'codes no fixture expects and no test asserts');
    for (const code of byFixture.keys()) assert.ok((ALL_CODES as string[]).includes(code), `a fixture expects ${code}, which codes.ts does not define`);
  });

  it('docs/doctor.md lists every code, once, with its severity, meaning and fix', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'doctor.md'), 'utf8');
    const rows = new Map<string, string>();
    for (const line of doc.split('\n')) {
      const match = /^\| `([A-Z_]+)` \| (info|warning|error) \|/.exec(line);
      if (!match) continue;
      assert.ok(!rows.has(match[1]!), `${match[1]} is documented twice`);
      rows.set(match[1]!, line);
    }
    assert.deepEqual([...rows.keys()].sort(), [...ALL_CODES].sort());
    for (const code of ALL_CODES) {
      const row = rows.get(code)!;
      const info = DOCTOR_CODES[code];
      assert.ok(row.includes(`| ${info.severity} |`), `${code}: severity`);
      assert.ok(row.includes(info.meaning.replaceAll('|', '\\|')), `${code}: the meaning in docs/doctor.md differs from codes.ts`);
      assert.ok(row.includes(info.fix.replaceAll('|', '\\|')), `${code}: the fix in docs/doctor.md differs from codes.ts`);
    }
  });
});
