import type { DoctorReport } from '../report.js';
import { diagnose } from './diagnose.js';
import { type GatherConfig, gatherFacts } from './gather.js';

export { ALL_CODES, DOCTOR_CODES, type DoctorCode } from './codes.js';
export { diagnose } from './diagnose.js';
export { ApiUnreachableError, DEFAULTS, type GatherConfig, type IdentitiesSource, type JsonApi } from './gather.js';

/**
 * `doctor`: reads a live installation (read-only: GETs and lists, one TLS connection per url
 * webhook, GET /readyz through the service proxy, SubjectAccessReviews, which store nothing) and
 * reports what it finds. Throws
 * `ApiUnreachableError` when the API server cannot be used at all.
 */
export async function runDoctor(config: GatherConfig): Promise<DoctorReport> {
  const { facts, pods } = await gatherFacts(config);
  return diagnose(facts, pods);
}
