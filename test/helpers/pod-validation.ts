import { posix } from 'node:path';

/**
 * The API server's uniqueness rules for a pod, as messages (mountPath must be unique per container,
 * volume names per pod, a mount must name a volume of the pod; env names, which the API server only
 * warns about, are checked too). Paths are compared cleaned, which is stricter than the API server.
 */
export function uniquenessViolations(pod: unknown): string[] {
  const violations: string[] = [];
  const spec = (pod as { spec?: Record<string, unknown> }).spec ?? {};
  const volumes = Array.isArray(spec.volumes) ? (spec.volumes as Array<{ name?: unknown }>) : [];
  const volumeNames = volumes.map((volume) => volume.name);
  const repeated = (values: unknown[]): unknown[] => values.filter((value, index) => values.indexOf(value) !== index);
  for (const name of repeated(volumeNames)) violations.push(`spec.volumes: ${String(name)} repeated`);
  for (const field of ['containers', 'initContainers']) {
    const containers = Array.isArray(spec[field]) ? (spec[field] as Array<Record<string, unknown>>) : [];
    containers.forEach((container, index) => {
      const where = `spec.${field}[${index}]`;
      const mounts = Array.isArray(container.volumeMounts) ? (container.volumeMounts as Array<{ name?: unknown; mountPath?: unknown }>) : [];
      const paths = mounts.map((mount) => (typeof mount.mountPath === 'string' ? posix.normalize(mount.mountPath).replace(/(.)\/$/, '$1') : mount.mountPath));
      for (const path of repeated(paths)) violations.push(`${where}.volumeMounts: mountPath ${String(path)} repeated`);
      for (const mount of mounts) if (!volumeNames.includes(mount.name)) violations.push(`${where}.volumeMounts: ${String(mount.name)} is not a volume`);
      const env = Array.isArray(container.env) ? (container.env as Array<{ name?: unknown }>) : [];
      for (const name of repeated(env.map((variable) => variable.name))) violations.push(`${where}.env: ${String(name)} repeated`);
    });
  }
  return violations;
}
