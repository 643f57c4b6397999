import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadLabConfig } from '../../src/lab/sts/config.js';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';
import { CliProcess } from '../helpers/process.js';

describe('lab commands (separate processes)', function () {
  this.timeout(90_000);
  let dir: string;
  const processes: CliProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-labcli-'));
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((child) => child.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });
  /** Commands run in the temporary directory, so default files (certs/...) land there. */
  const launch = (args: string[]): CliProcess => {
    const child = CliProcess.start(args, { cwd: dir });
    processes.push(child);
    return child;
  };

  it('the shipped lab config is valid', async () => {
    const config = await loadLabConfig(join(ROOT, 'manifests', 'lab', 'lab.yaml'));
    assert.ok(config.ok, config.ok ? '' : config.error);
    assert.deepEqual([...config.value.roles.keys()], [
      'arn:aws:iam::111122223333:role/demo-app',
      'arn:aws:iam::111122223333:role/team-readers',
      'arn:aws:iam::111122223333:role/cluster-admins',
      'arn:aws:iam::111122223333:role/pod-identity-app',
    ]);
    assert.deepEqual([...config.value.clusters.keys()], ['lab']);
    assert.deepEqual(
      config.value.podIdentityAssociations.map((association) => `${association.cluster} ${association.namespace}/${association.serviceAccount} → ${association.roleArn}`),
      ['lab default/pod-identity-app → arn:aws:iam::111122223333:role/pod-identity-app'],
    );
  });

  it('issuer + token + sts: credentials for the SDK that survive an STS restart', async () => {
    const issuer = launch(['issuer', '--port', '0']);
    const issuerUrl = String((await issuer.line('issuer-listening')).issuer);
    assert.match(issuer.stderr, /generated an RSA-2048 signing key in certs\/issuer\.key/);
    assert.equal(statSync(join(dir, 'certs', 'issuer.key')).mode & 0o777, 0o600);

    // The shipped config, pointed at this issuer's port.
    const config = parse(readFileSync(join(ROOT, 'manifests', 'lab', 'lab.yaml'), 'utf8')) as { providers: Array<Record<string, unknown>>; roles: unknown[] };
    const text = stringify(config).replaceAll('127.0.0.1:8081', new URL(issuerUrl).host);
    writeFileSync(join(dir, 'lab.yaml'), text);
    const secretFile = join(dir, 'sts-secret.key');
    const stsArgs = ['sts', '--config', join(dir, 'lab.yaml'), '--port', '0', '--secret-file', secretFile];
    let sts = launch(stsArgs);
    const stsUrl = String((await sts.line('sts-listening')).address);
    assert.match(sts.stderr, /generated the STS server key/);
    assert.equal(statSync(secretFile).mode & 0o777, 0o600);

    // `token` finds the same default key (certs/issuer.key) the issuer generated.
    const minted = await runCli(['token', '--namespace', 'team-a', '--service-account', 'reader', '--issuer-url', issuerUrl], { cwd: dir });
    assert.equal(minted.code, 0, minted.stderr);
    const client = (url: string, credentials = { accessKeyId: 'AKIAUNUSED', secretAccessKey: 'unused' } as { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
      new STSClient({ region: 'eu-west-1', endpoint: url, credentials, maxAttempts: 1 });
    const assumed = await client(stsUrl).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: 'arn:aws:iam::111122223333:role/team-readers', RoleSessionName: 'cli', WebIdentityToken: minted.stdout, DurationSeconds: 7200 }),
    );
    const credentials = { accessKeyId: assumed.Credentials!.AccessKeyId!, secretAccessKey: assumed.Credentials!.SecretAccessKey!, sessionToken: assumed.Credentials!.SessionToken! };
    const success = await sts.lineWhere('a successful AssumeRoleWithWebIdentity', (line) => line.event === 'sts' && line.outcome === 'ok');
    assert.equal(success.action, 'AssumeRoleWithWebIdentity');
    assert.equal(success.subject, 'system:serviceaccount:team-a:reader');

    // The Deny statement of team-readers keeps team-blocked out, whatever the Allow says.
    const blocked = await runCli(['token', '--namespace', 'team-blocked', '--service-account', 'reader', '--issuer-url', issuerUrl], { cwd: dir });
    await assert.rejects(
      client(stsUrl).send(new AssumeRoleWithWebIdentityCommand({ RoleArn: 'arn:aws:iam::111122223333:role/team-readers', RoleSessionName: 'cli', WebIdentityToken: blocked.stdout })),
      (error: Error) => error.name === 'AccessDenied',
    );
    const denial = await sts.lineWhere('the denial', (line) => line.code === 'AccessDenied');
    assert.match(String(denial.reason), /team-blocked:reader may not assume .*explicitly denied by statement 1/);

    // An AWS CLI caches these credentials on disk; the STS restarts; they must still work.
    assert.equal(await sts.stop('SIGTERM'), 0);
    sts = launch(stsArgs);
    const restartedUrl = String((await sts.line('sts-listening')).address);
    const identity = await client(restartedUrl, credentials).send(new GetCallerIdentityCommand({}));
    assert.equal(identity.Arn, 'arn:aws:sts::111122223333:assumed-role/team-readers/cli');
    assert.equal(await issuer.stop(), 0);
  });

  it('sts: one-line errors for a missing or invalid config', async () => {
    const missing = await runCli(['sts', '--config', join(dir, 'nope.yaml'), '--port', '0']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^pod-identity-webhook: cannot read .*nope\.yaml/);
    writeFileSync(join(dir, 'bad.yaml'), 'providers: []\nroles: []\n');
    const invalid = await runCli(['sts', '--config', join(dir, 'bad.yaml'), '--port', '0']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /bad\.yaml: providers must be a non-empty list/);
  });

  it('demo: the real SDK gets the demo-app identity, and the intruder gets AccessDenied', async () => {
    const result = await runCli(['demo'], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /identity\s+GetCallerIdentity with the AWS SDK default chain → arn:aws:sts::111122223333:assumed-role\/demo-app\/aws-sdk-js-session-\d+/);
    assert.match(result.stdout, /denied\s+AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity/);
    assert.match(result.stdout, /AWS_ENDPOINT_URL_STS=http:\/\/127\.0\.0\.1:\d+/);
    assert.match(result.stdout, /AWS_WEB_IDENTITY_TOKEN_FILE=\/\S+\/serviceaccount\/token/);
  });
});
