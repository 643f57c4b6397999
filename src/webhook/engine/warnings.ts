/**
 * Warnings as the API server passes them on: it may cut a warning over 256 characters and drops
 * every warning once 4,096 characters have been added. Bounding them here keeps what kubectl
 * shows readable and says how many were left out, instead of losing them silently.
 */
export const MAX_WARNING_LENGTH = 256;
export const MAX_WARNINGS_LENGTH = 4096;
/** Room kept for the `pod-identity-webhook: ` prefix the admission response adds to each warning. */
const PREFIX_ROOM = 32;

function cut(warning: string): string {
  const limit = MAX_WARNING_LENGTH - PREFIX_ROOM;
  return warning.length > limit ? `${warning.slice(0, limit - 3)}...` : warning;
}

export function boundWarnings(warnings: readonly string[]): string[] {
  const kept: string[] = [];
  let total = 0;
  for (const [index, warning] of warnings.entries()) {
    const text = cut(warning);
    const remaining = warnings.length - index - 1;
    // Keep room for the closing "N more" line whenever more warnings follow.
    const reserve = remaining > 0 ? 64 : 0;
    if (total + text.length + PREFIX_ROOM + reserve > MAX_WARNINGS_LENGTH) {
      kept.push(`${warnings.length - index} more warning(s) not shown`);
      return kept;
    }
    kept.push(text);
    total += text.length + PREFIX_ROOM;
  }
  return kept;
}
