import jsonpatch from 'jsonpatch';
import type { PatchOperation } from './engine/types.js';

/**
 * Applies a JSON patch with the `jsonpatch` library (an independent RFC 6902 implementation, so a
 * successful apply is evidence the engine's patch is valid). Throws when an operation does not apply.
 */
export function applyPatch<T>(document: T, patch: readonly PatchOperation[]): T {
  return jsonpatch.apply_patch(document, patch) as T;
}
