import { Option, type OptionValues } from 'commander';
import { stringify } from 'yaml';
import { flagValue } from './flags.js';

/** kubectl's -o: text for people by default, the same object as JSON or YAML for programs. */
export const OUTPUT_FORMATS = ['text', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export type StructuredFormat = Exclude<OutputFormat, 'text'>;

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'what to print: text, json or yaml').choices(OUTPUT_FORMATS).default('text');
}

export function outputFormatFrom(values: OptionValues): OutputFormat {
  return flagValue.typed(values, 'output', (value): value is OutputFormat => OUTPUT_FORMATS.some((format) => format === value));
}

/** `value` as indented JSON or as YAML (block style, no anchors for repeated objects, no folded lines), ending in a newline. */
export function formatStructured(value: unknown, format: StructuredFormat): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 });
}
