/** A parsed JSON object (a mapping), before its fields are checked. */
export type JsonObject = Record<string, unknown>;

/** A JSON object (not null, not an array): what `JSON.parse` gives for `{…}`. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
