import type { Finding } from '../report.js';
import { type CheckName, DOCTOR_CODES, type DoctorCode } from './codes.js';

/** A finding with a code: its check and severity from the code list, the code's fix unless a more precise one is given. */
export function coded(code: DoctorCode, object: string | undefined, detail: string, fix?: string): Finding {
  const info = DOCTOR_CODES[code];
  return { check: info.check, severity: info.severity, code, ...(object === undefined ? {} : { object }), detail, fix: fix ?? info.fix };
}

/** What was checked and held. */
export function passed(check: CheckName, object: string | undefined, detail: string): Finding {
  return { check, severity: 'ok', ...(object === undefined ? {} : { object }), detail };
}

/** Something worth knowing that needs no action, or a check that was not made and why. */
export function noted(check: CheckName, object: string | undefined, detail: string): Finding {
  return { check, severity: 'info', ...(object === undefined ? {} : { object }), detail };
}

/** Untrusted text for a finding: one line, bounded, control characters escaped. */
export function shown(value: unknown, max = 120): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const quoted = JSON.stringify(text.length > max ? `${text.slice(0, max - 3)}...` : text);
  return quoted;
}

/** `ns/name` of an object's metadata, for `object`; `?` for what is missing. */
export function objectName(value: unknown): string {
  const metadata = typeof value === 'object' && value !== null ? (value as { metadata?: unknown }).metadata : undefined;
  const fields = typeof metadata === 'object' && metadata !== null ? (metadata as { name?: unknown; namespace?: unknown }) : {};
  const name = typeof fields.name === 'string' ? fields.name : '?';
  return typeof fields.namespace === 'string' ? `${fields.namespace}/${name}` : name;
}
