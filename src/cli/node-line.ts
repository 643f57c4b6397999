/** The Node.js release lines the test suite runs on (package.json `engines`, `.ci/run`). */
export const TESTED_NODE_LINES: readonly number[] = [24, 26];

export type NodeLineCheck =
  | { readonly verdict: 'tested' }
  | { readonly verdict: 'untested' | 'too-old'; readonly message: string };

/**
 * What the CLI makes of running on Node `version` (`process.versions.node`): lines older than the
 * oldest tested one are refused (Node 20 is past its end of life; newer AWS SDKs need Node 22),
 * newer untested lines get one warning line.
 */
export function checkNodeLine(version: string): NodeLineCheck {
  const major = Number.parseInt(version, 10);
  if (TESTED_NODE_LINES.includes(major)) return { verdict: 'tested' };
  const tested = TESTED_NODE_LINES.join(' or ');
  if (major < Math.min(...TESTED_NODE_LINES)) {
    return { verdict: 'too-old', message: `Node ${version} is too old: run it on Node ${tested} (npx pod-identity-webhook and the npm scripts use the Node that npm ci installed)` };
  }
  return { verdict: 'untested', message: `warning: Node ${version} is not a tested line (tested: Node ${tested})` };
}
