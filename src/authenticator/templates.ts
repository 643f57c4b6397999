import type { CanonicalIdentity } from '../shared/aws/arn.js';

/** Everything the templates of a mapping can draw on. */
export interface CallerIdentity extends CanonicalIdentity {
  readonly userId: string;
  readonly accessKeyId: string;
}

/** What aws-iam-authenticator expands in aws-auth usernames and groups. */
export const TEMPLATE_VARIABLES = ['AccountID', 'SessionName', 'SessionNameRaw', 'EC2PrivateDNSName', 'AccessKeyID'] as const;

export interface Placeholder {
  readonly start: number;
  readonly end: number;
  /** The text between the braces, without surrounding white space. */
  readonly name: string;
}

/**
 * The `{{Name}}` placeholders of a string, left to right. A placeholder holds no `}`; one scan with
 * indexOf, so no input makes it slower than linear (a backtracking regex took seconds per login on
 * an unclosed `{{` followed by thousands of spaces).
 */
export function placeholders(text: string): Placeholder[] {
  const found: Placeholder[] = [];
  let from = 0;
  for (;;) {
    const open = text.indexOf('{{', from);
    if (open < 0) break;
    const brace = text.indexOf('}', open + 2);
    if (brace < 0) break;
    if (text.charCodeAt(brace + 1) === 0x7d) {
      found.push({ start: open, end: brace + 2, name: text.slice(open + 2, brace).trim() });
      from = brace + 2;
    } else {
      // No placeholder can start before this lone `}` and end after it.
      from = brace + 1;
    }
  }
  return found;
}

/** The `{{Name}}` variables a string uses. */
export function templateVariables(text: string): string[] {
  return placeholders(text).map((placeholder) => placeholder.name);
}

function value(name: string, identity: CallerIdentity): string {
  switch (name) {
    case 'AccountID':
      return identity.account;
    case 'AccessKeyID':
      return identity.accessKeyId;
    case 'SessionNameRaw':
    case 'SessionName':
    case 'EC2PrivateDNSName': {
      if (identity.sessionName === undefined) throw new Error(`{{${name}}} needs a role session, and ${identity.arn} is not one`);
      // In the lab there is no EC2 API to ask: a node role's session name stands for its private DNS name.
      return name === 'SessionName' ? identity.sessionName.replaceAll('@', '-') : identity.sessionName;
    }
    default:
      throw new Error(`unknown template variable {{${name}}}`);
  }
}

/** Expands every placeholder; throws (with a message for the log) on one that cannot be expanded. */
export function expandTemplate(text: string, identity: CallerIdentity): string {
  let out = '';
  let from = 0;
  for (const placeholder of placeholders(text)) {
    out += text.slice(from, placeholder.start) + value(placeholder.name, identity);
    from = placeholder.end;
  }
  return out + text.slice(from);
}
