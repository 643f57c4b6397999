/**
 * The project's one error convention for parsers (see docs/architecture.md): a parser returns a
 * result, never throws on bad input. `error` is one line for people; `code`, where a caller has to
 * tell failures apart, is a stable identifier (`ERR_FILE_NOT_FOUND`, say), as jose's errors carry.
 */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly code?: string };
