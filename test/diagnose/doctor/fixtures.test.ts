import assert from 'node:assert/strict';
import { diagnose } from '../../../src/diagnose/doctor/diagnose.js';
import { DOCTOR_CODES, type DoctorCode } from '../../../src/diagnose/doctor/codes.js';
import { doctorText, type Finding } from '../../../src/diagnose/report.js';
import { doctorFixtureNames, loadDoctorFixture } from '../../helpers/doctor-fixtures.js';

/** A bare NS, NAME or NAMESPACE in a fix: a placeholder a user could take literally (what doctor cannot know is written <namespace>). */
const PLACEHOLDER = /\b(NS|NAME|NAMESPACE)\b/;

const key = (finding: { code?: string; object?: string }): string => `${finding.code ?? '-'} ${finding.object ?? '-'}`;

/**
 * Each fixture of test/fixtures/doctor/ is an installation as doctor reads it: its warnings and
 * errors must be exactly the ones expected.yaml lists (code and object), each with its code's
 * severity and a fix, and the verdict as expected.
 */
describe('doctor fixtures: each broken installation gives exactly its findings', () => {
  for (const name of doctorFixtureNames()) {
    it(name, async () => {
      const fixture = loadDoctorFixture(name);
      const report = await diagnose(fixture.facts, fixture.pods());
      const text = doctorText(report);
      const raised = report.findings.filter((finding) => finding.severity === 'warning' || finding.severity === 'error');
      const expectedRaised = fixture.expected.findings.filter((finding) => DOCTOR_CODES[finding.code as DoctorCode]?.severity !== 'info');
      assert.deepEqual(raised.map(key).sort(), expectedRaised.map(key).sort(), `findings of ${name}:\n${text}`);
      for (const wanted of fixture.expected.findings) {
        const matching = report.findings.filter((finding) => key(finding) === key(wanted));
        assert.ok(matching.length > 0, `${name}: expected ${key(wanted)}\n${text}`);
        for (const [field, part] of [['detail', wanted.detailIncludes], ['fix', wanted.fixIncludes]] as const) {
          if (part !== undefined) assert.ok(matching.some((finding) => (finding[field] ?? '').includes(part)), `${name}: no ${key(wanted)} whose ${field} includes ${JSON.stringify(part)}\n${text}`);
        }
      }
      for (const finding of report.findings.filter((candidate): candidate is Finding & { code: string } => candidate.code !== undefined)) {
        const info = DOCTOR_CODES[finding.code as DoctorCode];
        assert.ok(info, `${name}: ${finding.code} is not in codes.ts`);
        assert.equal(finding.severity, info.severity, `${name}: ${finding.code}'s severity`);
        assert.ok(finding.fix, `${name}: ${finding.code} has a fix`);
      }
      assert.equal(report.verdict, fixture.expected.verdict, text);
      assert.equal(report.schemaVersion, 'doctor.pod-identity-webhook/v1');
      for (const finding of report.findings) assert.doesNotMatch(finding.fix ?? '', PLACEHOLDER, `${name}: a fix with a placeholder doctor could have filled: ${finding.fix}`);
    });
  }
});
