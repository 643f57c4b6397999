/**
 * Small builders of CEL text for the admission policies: literals and the regular expressions the
 * policies match paths with. Pure string functions; the expressions they build are checked by the
 * real kube-apiserver in test/e2e/admission-policy.e2e.ts.
 */

/** A CEL string literal: JSON's double-quoted form is valid CEL (\", \\, \n, \uXXXX). */
export function celString(value: string): string {
  return JSON.stringify(value);
}

/** A CEL list of string literals. */
export function celStringList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

/** `value` escaped for an RE2 pattern (every character RE2 gives a meaning outside a class). */
export function re2Escape(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * An RE2 pattern matching every absolute path that `path.posix.normalize` with trailing slashes
 * trimmed turns into `cleanPath` (an absolute path without `.`, `..`, empty segments or a trailing
 * slash): repeated slashes and `.` segments anywhere, trailing slashes. Paths that reach it through
 * `..` are not matched (the engine resolves them; see docs/admission-policy.md).
 */
export function cleanPathPattern(cleanPath: string): string {
  const segments = cleanPath.split('/').filter((segment) => segment !== '');
  const separator = '/+(\\./+)*';
  if (segments.length === 0) return '^/+(\\./*)*$';
  return `^${separator}${segments.map(re2Escape).join(separator)}(/+\\.)*/*$`;
}

/**
 * An RE2 pattern matching every relative path that `path.posix.normalize` with trailing slashes
 * trimmed turns into `cleanPath` (relative, without `.`, `..` or empty segments): `token`,
 * `./token`, `.//token/`, `token/.`. The file a projected token is written at, as the kubelet reads it.
 */
export function cleanRelativePathPattern(cleanPath: string): string {
  const separator = '/+(\\./+)*';
  const segments = cleanPath.split('/').filter((segment) => segment !== '');
  return `^(\\./+)*${segments.map(re2Escape).join(separator)}(/+\\.)*/*$`;
}
