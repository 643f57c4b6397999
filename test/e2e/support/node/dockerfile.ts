/** What the Dockerfile's final stage says of the image (node tests compare the assembled image with it). */
export interface DockerfileStage {
  readonly user?: string;
  readonly workdir?: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly ports: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Absolute paths the stage's COPY instructions write. */
  readonly copied: readonly string[];
}

/** Instructions of a Dockerfile, with continuation lines joined and comments dropped. */
function instructions(text: string): { keyword: string; rest: string }[] {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), rest: line.slice(keyword.length).trim() };
    });
}

/** `KEY="value" KEY2=value` pairs, with ${ARG} replaced from `args`. */
function pairs(text: string, args: ReadonlyMap<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const match of text.matchAll(/([A-Za-z0-9_.-]+)=("((?:[^"\\]|\\.)*)"|\S+)/g)) {
    const raw = match[3] ?? match[2] ?? '';
    result[match[1]!] = raw.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => args.get(name) ?? '');
  }
  return result;
}

/** The final stage (after the last FROM) of a Dockerfile. `args` override ARG defaults (as --build-arg). */
export function dockerfileFinalStage(text: string, args: ReadonlyMap<string, string> = new Map()): DockerfileStage {
  const all = instructions(text);
  const lastFrom = all.map((instruction) => instruction.keyword).lastIndexOf('FROM');
  const stage = all.slice(lastFrom + 1);
  const argValues = new Map<string, string>();
  let user: string | undefined;
  let workdir: string | undefined;
  let entrypoint: readonly string[] | undefined;
  let cmd: readonly string[] | undefined;
  const ports: string[] = [];
  const labels: Record<string, string> = {};
  const copied: string[] = [];
  for (const { keyword, rest } of stage) {
    switch (keyword) {
      case 'ARG': {
        const [name = '', value = ''] = rest.split('=');
        argValues.set(name, args.get(name) ?? value);
        break;
      }
      case 'USER':
        user = rest;
        break;
      case 'WORKDIR':
        workdir = rest;
        break;
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(rest) as string[];
        break;
      case 'CMD':
        cmd = JSON.parse(rest) as string[];
        break;
      case 'EXPOSE':
        ports.push(...rest.split(/\s+/));
        break;
      case 'LABEL':
        Object.assign(labels, pairs(rest, argValues));
        break;
      case 'COPY': {
        const destination = rest.split(/\s+/).at(-1)!.replace(/\/$/, '');
        const absolute = destination === '.' || destination === './' ? workdir ?? '/' : destination.startsWith('/') ? destination : `${workdir ?? ''}/${destination.replace(/^\.\//, '')}`;
        const sources = rest.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1);
        // `COPY a b ./` writes each source's name under the destination directory.
        if (destination === '.' || destination === './' || rest.endsWith('/')) copied.push(...sources.map((source) => `${absolute}/${source.split('/').at(-1)}`));
        else copied.push(absolute);
        break;
      }
      default:
        break;
    }
  }
  return { user, workdir, entrypoint, cmd, ports, labels, copied };
}
