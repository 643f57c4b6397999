import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar } from 'yaml';

const ENTRY = /^(?<key>mapRoles|mapUsers|mapAccounts)(?:\[(?<index>\d+)\])?$/;

/**
 * The 1-based file line of a finding's `where` (`mapRoles[2]`, `mapAccounts`, `file`) in an aws-auth
 * ConfigMap, for SARIF. The lists are YAML inside a string: an entry's own line is known when the
 * string is a literal block (`mapRoles: |`, as kubectl prints it), whose lines are the file's;
 * otherwise the key's line. Only locates: the text has already been read strictly, and any surprise
 * here gives no line rather than an error.
 */
export function awsAuthLocator(text: string): (where: string) => number | undefined {
  let document: ReturnType<typeof parseDocument> | undefined;
  const lines = new LineCounter();
  try {
    document = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  } catch {
    document = undefined;
  }
  const lineOf = (offset: number): number => lines.linePos(offset).line;
  return (where) => {
    if (where === 'file') return 1;
    const match = ENTRY.exec(where)?.groups;
    if (!match || !document || !isMap(document.contents)) return undefined;
    try {
      const data = document.contents.get('data', true);
      if (!isMap(data)) return undefined;
      const pair = data.items.find((item) => isScalar(item.key) && item.key.value === match.key);
      if (!pair || !isScalar(pair.key) || !pair.key.range) return undefined;
      const keyLine = lineOf(pair.key.range[0]);
      const value = pair.value;
      if (match.index === undefined || !isScalar(value) || value.type !== Scalar.BLOCK_LITERAL || typeof value.value !== 'string' || !value.range) return keyLine;
      const inner = new LineCounter();
      const list = parseDocument(value.value, { lineCounter: inner, uniqueKeys: false }).contents;
      const item = isSeq(list) ? list.items[Number(match.index)] : undefined;
      const start = (item as { range?: [number, number, number] } | undefined)?.range?.[0];
      if (start === undefined) return keyLine;
      // A literal block's content starts on the line after its `|` header.
      return lineOf(value.range[0]) + inner.linePos(start).line;
    } catch {
      return undefined;
    }
  };
}
