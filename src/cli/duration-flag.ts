import { InvalidArgumentError, Option } from 'commander';
import type { Parsed } from '../shared/result.js';

/**
 * Durations as kubectl and Helm take them (Go's time.ParseDuration): `500ms`, `10s`, `2m`,
 * `1h30m`, `1.5h`; units ns, us (µs), ms, s, m, h. A bare whole number is the flag's old unit
 * (milliseconds, or seconds for the flags that took seconds), so existing command lines keep working.
 */

const NANOSECONDS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const UNIT_NANOSECONDS = { ms: 1_000_000n, s: 1_000_000_000n } as const;
export type DurationUnit = keyof typeof UNIT_NANOSECONDS;

const MAX_DURATION_TEXT = 64;
const TERM = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/** A Go duration in nanoseconds (non-negative; no sign accepted), or why not. */
export function parseGoDuration(raw: string): Parsed<bigint> {
  const text = raw.trim();
  const invalid: Parsed<bigint> = { ok: false, error: `"${raw.slice(0, MAX_DURATION_TEXT)}" is not a duration such as 500ms, 10s, 2m or 1h30m` };
  if (text === '' || text.length > MAX_DURATION_TEXT) return invalid;
  if (text === '0') return { ok: true, value: 0n };
  let total = 0n;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < text.length) {
    const match = TERM.exec(text);
    if (match === null) return invalid;
    const [, whole = '', fraction = '', unit = ''] = match;
    if (whole === '' && fraction === '') return invalid;
    const scale = NANOSECONDS[unit];
    if (scale === undefined) return invalid;
    // Go truncates a fraction finer than a nanosecond.
    total += BigInt(whole || '0') * scale + (fraction === '' ? 0n : (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length));
  }
  return { ok: true, value: total };
}

/** Milliseconds as the shortest Go-style text: 500ms, 10s, 1.5s, 2m, 1h30m, 0s. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds === 0) return '0s';
  if (milliseconds < 1000) return `${milliseconds}ms`;
  const hours = Math.floor(milliseconds / 3_600_000);
  const minutes = Math.floor((milliseconds % 3_600_000) / 60_000);
  const seconds = (milliseconds % 60_000) / 1000;
  return `${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${seconds ? `${seconds}s` : ''}`;
}

export interface DurationBounds {
  /** The value's unit, and what a bare number means. */
  readonly unit: DurationUnit;
  readonly min: number;
  readonly max: number;
}

/** A duration flag's value in `unit`: a Go duration, or a bare whole number of `unit`; whole units only, within bounds. */
export function parseDurationFlag(bounds: DurationBounds): (raw: string) => number {
  const unitName = bounds.unit === 'ms' ? 'milliseconds' : 'seconds';
  const perUnit = UNIT_NANOSECONDS[bounds.unit];
  const asMs = (value: number): string => formatDuration(bounds.unit === 'ms' ? value : value * 1000);
  return (raw) => {
    let nanoseconds: bigint;
    if (/^\d{1,15}$/.test(raw.trim())) nanoseconds = BigInt(raw.trim()) * perUnit;
    else {
      const parsed = parseGoDuration(raw);
      if (!parsed.ok) throw new InvalidArgumentError(`${parsed.error} (a bare number is ${unitName})`);
      nanoseconds = parsed.value;
    }
    if (nanoseconds % perUnit !== 0n) throw new InvalidArgumentError(`"${raw}" is not a whole number of ${unitName}`);
    const value = nanoseconds / perUnit;
    if (value < BigInt(bounds.min) || value > BigInt(bounds.max)) throw new InvalidArgumentError(`must be between ${asMs(bounds.min)} and ${asMs(bounds.max)}, got "${raw.trim()}"`);
    return Number(value);
  };
}

/** A `--NAME <duration>` option: the help says what a bare number means; the default is shown as a duration. */
export function durationOption(flag: string, description: string, spec: DurationBounds & { readonly default: number }): Option {
  const bare = spec.unit === 'ms' ? 'milliseconds' : 'seconds';
  const shown = formatDuration(spec.unit === 'ms' ? spec.default : spec.default * 1000);
  return new Option(`${flag} <duration>`, `${description} (10s, 2m, 1h30m; a bare number is ${bare})`).default(spec.default, shown).argParser(parseDurationFlag(spec));
}
