import type { SessionTag } from '../../shared/aws/trust-requests.js';

/**
 * STS's limits on session tags (the STS API model 2011-06-15 and the IAM user guide's "IAM and STS
 * quotas"): at most 50 tags and 50 transitive keys; a key of 1 to 128 characters, a value of 0 to
 * 256, both of letters, digits, white space and `_ . : / = + - @`; no key starting with `aws:`; no
 * two keys differing only in case (keys are case-insensitive). Not emulated: the packed size
 * (`PackedPolicyTooLarge`), whose encoding AWS does not publish.
 */
export const MAX_SESSION_TAGS = 50;
export const MAX_TAG_KEY_CHARACTERS = 128;
export const MAX_TAG_VALUE_CHARACTERS = 256;

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Characters as AWS counts them: code points, not UTF-16 units. */
function characters(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function quoted(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

const invalid = (value: string, member: string, constraint: string): string =>
  `1 validation error detected: Value '${quoted(value)}' at '${member}' failed to satisfy constraint: ${constraint}`;

/**
 * What STS would refuse in a request's session tags, as its ValidationError message, or undefined.
 * Lengths are checked before patterns, so a pattern only ever runs over at most 256 characters.
 */
export function sessionTagsProblem(tags: readonly SessionTag[], transitiveTagKeys: readonly string[]): string | undefined {
  if (tags.length > MAX_SESSION_TAGS) return `1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to ${MAX_SESSION_TAGS}`;
  if (transitiveTagKeys.length > MAX_SESSION_TAGS) {
    return `1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to ${MAX_SESSION_TAGS}`;
  }
  const seen = new Set<string>();
  for (const [index, { key, value }] of tags.entries()) {
    const member = `tags.${index + 1}.member`;
    if (key.length === 0) return invalid(key, `${member}.key`, 'Member must have length greater than or equal to 1');
    if (key.length > 2 * MAX_TAG_KEY_CHARACTERS || characters(key) > MAX_TAG_KEY_CHARACTERS) {
      return invalid(key, `${member}.key`, `Member must have length less than or equal to ${MAX_TAG_KEY_CHARACTERS}`);
    }
    if (!TAG_KEY.test(key)) return invalid(key, `${member}.key`, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+');
    if (value.length > 2 * MAX_TAG_VALUE_CHARACTERS || characters(value) > MAX_TAG_VALUE_CHARACTERS) {
      return invalid(value, `${member}.value`, `Member must have length less than or equal to ${MAX_TAG_VALUE_CHARACTERS}`);
    }
    if (!TAG_VALUE.test(value)) return invalid(value, `${member}.value`, 'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*');
    const folded = key.toLowerCase();
    if (folded.startsWith('aws:')) return `Tag key ${quoted(key)} starts with aws:, which is reserved for AWS`;
    if (seen.has(folded)) return `Duplicate tag keys found: ${quoted(key)} (tag keys are case-insensitive)`;
    seen.add(folded);
  }
  return undefined;
}
