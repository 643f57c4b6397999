declare module 'jsonpatch' {
  interface JsonPatchModule {
    /** Applies an RFC 6902 patch; returns a new document, leaving the input untouched. */
    apply_patch(document: unknown, patch: readonly unknown[]): unknown;
    PatchApplyError: new (message?: string) => Error;
    InvalidPatch: new (message?: string) => Error;
  }
  const jsonpatch: JsonPatchModule;
  export = jsonpatch;
}
