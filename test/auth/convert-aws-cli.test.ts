import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProposedEntry } from '../../src/authenticator/convert-aws-auth.js';
import { runCli } from '../helpers/cli.js';

/**
 * The commands `lint-aws-auth --to-access-entries` prints, run as printed by the real AWS CLI
 * (v1, on PATH; skipped without it) against a loopback server of this test that captures each
 * EKS request: whatever the aws-auth names hold (options, quotes, shell syntax, URLs the CLI
 * would fetch, control characters), every request says exactly what the conversion proposed.
 */

const A = '111122223333';
const ATTACKER = 'arn:aws:iam::999999999999:role/attacker';

interface Captured {
  readonly method: string;
  /** The path's segments, percent-decoded. */
  readonly segments: readonly string[];
  readonly body: Record<string, unknown>;
}

/** Answers CreateAccessEntry, AssociateAccessPolicy and UpdateClusterConfig as EKS shapes them, and records each request. */
function captureServer(captured: Captured[]): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    request.on('end', () => {
      const segments = new URL(request.url ?? '/', 'http://capture').pathname.split('/').slice(1).map(decodeURIComponent);
      const text = Buffer.concat(chunks).toString('utf8');
      const body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
      captured.push({ method: request.method ?? '', segments, body });
      const now = Math.floor(Date.now() / 1000);
      let answer: unknown;
      const [root, cluster, kind, principalArn, policies] = segments;
      if (root !== 'clusters' || cluster === undefined) answer = undefined;
      else if (kind === 'access-entries' && segments.length === 3) {
        answer = { accessEntry: { clusterName: cluster, principalArn: body.principalArn, kubernetesGroups: body.kubernetesGroups ?? [], username: body.username ?? 'u', type: body.type ?? 'STANDARD', tags: {}, createdAt: now, modifiedAt: now } };
      } else if (kind === 'access-entries' && policies === 'access-policies') {
        answer = { clusterName: cluster, principalArn, associatedAccessPolicy: { policyArn: body.policyArn, accessScope: body.accessScope, associatedAt: now, modifiedAt: now } };
      } else if (kind === 'update-config') {
        answer = { update: { id: '00000000-0000-4000-8000-000000000000', status: 'InProgress', type: 'AccessConfigUpdate', params: [], createdAt: now, errors: [] } };
      }
      response.setHeader('Content-Type', 'application/json');
      if (answer === undefined) {
        response.statusCode = 404;
        response.setHeader('x-amzn-ErrorType', 'ResourceNotFoundException');
        response.end(JSON.stringify({ message: `no such route ${request.url ?? ''}` }));
      } else {
        response.end(JSON.stringify(answer));
      }
    });
  });
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, cwd, timeout: 60_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => resolve({ code: typeof error?.code === 'number' ? error.code : error ? -1 : 0, stdout, stderr }));
  });
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

interface Run {
  /** The entries the conversion proposes (from --output json). */
  readonly entries: readonly ProposedEntry[];
  /** The printed commands, comments left out. */
  readonly commands: readonly string[];
  readonly captured: readonly Captured[];
}

describe('lint-aws-auth --to-access-entries: the printed commands, run by the real AWS CLI, send exactly the proposed entries', function () {
  this.timeout(600_000);
  let dir: string;

  before(function () {
    if (spawnSync('aws', ['--version'], { encoding: 'utf8', timeout: 60_000 }).status !== 0) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'piw-convert-cli-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Converts the ConfigMap, then runs each printed command (as printed, through sh) against a capture server. */
  async function convertAndRun(options: { mapRoles: string; mapUsers?: string; rolePaths?: readonly string[]; cluster: string }): Promise<Run> {
    const users = options.mapUsers === undefined ? '' : `  mapUsers: |\n${indent(options.mapUsers)}\n`;
    writeFileSync(join(dir, 'aws-auth.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aws-auth, namespace: kube-system}\ndata:\n  mapRoles: |\n${indent(options.mapRoles)}\n${users}`);
    const args = ['lint-aws-auth', join(dir, 'aws-auth.yaml'), '--to-access-entries', '--target-mode', 'API'];
    if (options.rolePaths) {
      writeFileSync(join(dir, 'roles.json'), JSON.stringify(options.rolePaths));
      args.push('--role-paths', join(dir, 'roles.json'));
    }
    const json = await runCli([...args, '--output', 'json']);
    const report = JSON.parse(json.stdout) as { accessEntries: { conversions: Array<{ outcomes: Array<{ kind: string; entry?: ProposedEntry }> }> } };
    const entries = report.accessEntries.conversions.flatMap((conversion) => conversion.outcomes.flatMap((outcome) => (outcome.entry ? [outcome.entry] : [])));
    const text = await runCli(args);
    const printed = text.stdout.slice(text.stdout.indexOf('\ncommands:\n') + '\ncommands:\n'.length);
    const commands = printed
      .slice(0, printed.indexOf('\n\n'))
      .split('\n')
      .map((line) => line.slice(2))
      .filter((line) => !line.startsWith('#'));

    const captured: Captured[] = [];
    const server = captureServer(captured);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        AWS_CONFIG_FILE: join(dir, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        CLUSTER: options.cluster,
      };
      for (const command of commands) {
        // As printed; the endpoint goes in as positional parameters, never through the shell's parser.
        const result = await run('sh', ['-c', `${command} "$@"`, 'sh', '--endpoint-url', endpoint], env, dir);
        assert.equal(result.code, 0, `${command}\n${result.stderr}`);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    assert.equal(captured.length, commands.length, 'one request per command');
    for (const request of captured) {
      assert.equal(request.method, 'POST');
      assert.equal(request.segments[1], options.cluster);
    }
    return { entries, commands, captured };
  }

  /** Each CreateAccessEntry and AssociateAccessPolicy request equals what the conversion proposed, field by field. */
  function assertRequestsMatch({ entries, captured }: Run): void {
    const creates = captured.filter((request) => request.segments[2] === 'access-entries' && request.segments.length === 3);
    const associations = captured.filter((request) => request.segments[4] === 'access-policies');
    assert.deepEqual(
      creates.map(({ body }) => ({ ...body, clientRequestToken: undefined })),
      entries.map((entry) => ({
        principalArn: entry.principalArn,
        type: entry.type,
        ...(entry.username === undefined ? {} : { username: entry.username }),
        ...(entry.kubernetesGroups.length === 0 ? {} : { kubernetesGroups: entry.kubernetesGroups }),
        clientRequestToken: undefined,
      })),
    );
    assert.deepEqual(
      associations.map((request) => ({ principalArn: request.segments[3], ...request.body })),
      entries.flatMap((entry) => entry.policies.map((policy) => ({ principalArn: entry.principalArn, policyArn: policy.policyArn, accessScope: policy.scope }))),
    );
  }

  it("issue 25's case: a group --principal-arn=ATTACKER stays a group; the principal is the mapping's", async () => {
    const result = await convertAndRun({
      mapRoles: `- {rolearn: "arn:aws:iam::${A}:role/devs", username: "devs:{{SessionName}}", groups: [viewers, "--principal-arn=${ATTACKER}"]}`,
      rolePaths: [`arn:aws:iam::${A}:role/devs`],
      cluster: 'prod',
    });
    assert.deepEqual(
      result.captured.filter((request) => request.segments[2] === 'access-entries').map((request) => [request.body.principalArn, request.body.kubernetesGroups]),
      [[`arn:aws:iam::${A}:role/devs`, ['viewers', `--principal-arn=${ATTACKER}`]]],
    );
    assertRequestsMatch(result);
  });

  it('hostile groups, usernames and ARNs reach EKS as the mapping says, field by field; the cluster name too', async () => {
    // Each group or username is a way the old output (bare words after --kubernetes-groups) could be
    // read as something else: an option (the later --principal-arn won), a URL or file the CLI loads
    // (file://, http://), shell syntax, quotes, non-ASCII and control characters.
    const hostile = [
      `--principal-arn=${ATTACKER}`,
      '--type=EC2_LINUX',
      '-h',
      'file:///etc/hostname',
      'http://127.0.0.1:9/x',
      `it's "$(touch pwned)" \`touch pwned\` $CLUSTER ; | & \\ *`,
      'tab\there',
      'line\nbreak',
      'ünïcödé — 雪 \u2028 \u{1F600}',
      '--cli-input-json={"principalArn":"x"}',
    ];
    const yaml = (value: string): string => JSON.stringify(value);
    const result = await convertAndRun({
      mapRoles: [
        `- rolearn: arn:aws:iam::${A}:role/team-a`,
        `  username: ${yaml(`--principal-arn=${ATTACKER}`)}`,
        `  groups: [${hostile.map(yaml).join(', ')}]`,
        `- rolearn: arn:aws:iam::${A}:role/a+b=c,d.e@f-g`,
        `  username: ${yaml("o'brien:{{SessionName}}")}`,
        `  groups: [system:masters, ${yaml('-x')}]`,
        `- rolearn: arn:aws:iam::${A}:role/nodes`,
        '  username: "system:node:{{EC2PrivateDNSName}}"',
        '  groups: [system:bootstrappers, system:nodes]',
      ].join('\n'),
      mapUsers: [`- userarn: arn:aws:iam::${A}:user/-dash`, `  username: ${yaml('-')}`, `  groups: [${yaml('--')}]`].join('\n'),
      rolePaths: [`arn:aws:iam::${A}:role/p+=,.@-/team-a`, `arn:aws:iam::${A}:role/a+b=c,d.e@f-g`, `arn:aws:iam::${A}:role/nodes`],
      cluster: `--name=${ATTACKER}`,
    });
    assert.equal(result.entries.length, 4);
    assert.deepEqual(result.entries[0]!.kubernetesGroups, hostile, 'the conversion keeps every group as written');
    assert.equal(result.entries[0]!.principalArn, `arn:aws:iam::${A}:role/p+=,.@-/team-a`);
    assert.ok(!existsSync(join(dir, 'pwned')), 'nothing in a name ran in the shell');
    for (const command of result.commands) assert.match(command, /^aws eks [a-z-]+ --(?:cluster-)?name="\$CLUSTER" (?:--cli-input-json '[\x20-\x26\x28-\x7e]+'|--access-config authenticationMode=[A-Z_]+)$/);
    assert.deepEqual(
      result.captured.filter((request) => request.segments[2] === 'update-config').map(({ body }) => ({ ...body, clientRequestToken: undefined })),
      [
        { accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' }, clientRequestToken: undefined },
        { accessConfig: { authenticationMode: 'API' }, clientRequestToken: undefined },
      ],
    );
    assertRequestsMatch(result);
  });
});
