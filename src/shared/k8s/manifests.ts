import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileError, readTextFile } from '../files/read-file.js';
import { parseYamlDocuments } from '../yaml.js';
import { isJsonObject } from '../json.js';
import type { Parsed } from '../result.js';

/** One Kubernetes object read from a file, with where it came from for error messages. */
export interface ManifestDocument {
  readonly source: string;
  readonly kind: string | undefined;
  readonly object: Record<string, unknown>;
}

/**
 * Parses YAML or JSON text (JSON is YAML) holding one or more documents. Empty documents are
 * skipped; `kind: List` documents (as `kubectl get -o yaml` prints) are expanded into their items.
 */
export function parseManifests(text: string, source: string): Parsed<ManifestDocument[]> {
  const documents = parseYamlDocuments(text, source);
  if (!documents.ok) return documents;
  const out: ManifestDocument[] = [];
  for (const [index, value] of documents.value.entries()) {
    if (value === null || value === undefined) continue;
    if (!isJsonObject(value)) {
      return { ok: false, error: `${source}: document ${index + 1} is not a Kubernetes object (a YAML mapping)` };
    }
    const kind = typeof value.kind === 'string' ? value.kind : undefined;
    if (kind === 'List' || (kind?.endsWith('List') && Array.isArray(value.items))) {
      const items = Array.isArray(value.items) ? value.items : [];
      for (const [itemIndex, item] of items.entries()) {
        if (!isJsonObject(item)) {
          return { ok: false, error: `${source}: item ${itemIndex + 1} of document ${index + 1} is not a Kubernetes object` };
        }
        out.push({ source, kind: typeof item.kind === 'string' ? item.kind : undefined, object: item });
      }
      continue;
    }
    out.push({ source, kind, object: value });
  }
  return { ok: true, value: out };
}

export async function loadManifestFile(path: string): Promise<Parsed<ManifestDocument[]>> {
  const text = await readTextFile(path);
  return text.ok ? parseManifests(text.value, path) : text;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Loads a manifest file, or every `.yaml`/`.yml`/`.json` file in a directory tree (sorted, so the
 * result does not depend on the file system's order).
 */
export async function loadManifestPath(path: string): Promise<Parsed<ManifestDocument[]>> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    return { ok: false, error: fileError(path, error) };
  }
  if (!isDirectory) return loadManifestFile(path);
  let entries: string[];
  try {
    entries = (await readdir(path, { recursive: true })).sort();
  } catch (error) {
    return { ok: false, error: fileError(path, error) };
  }
  const out: ManifestDocument[] = [];
  for (const entry of entries) {
    if (!MANIFEST_EXTENSIONS.has(extname(entry))) continue;
    const file = join(path, entry);
    let isFile: boolean;
    try {
      isFile = (await stat(file)).isFile();
    } catch (error) {
      return { ok: false, error: fileError(file, error) };
    }
    if (!isFile) continue;
    const loaded = await loadManifestFile(file);
    if (!loaded.ok) return loaded;
    out.push(...loaded.value);
  }
  return { ok: true, value: out };
}
