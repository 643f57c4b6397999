/** A problem with what the user gave a command (flags, files); the CLI prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
