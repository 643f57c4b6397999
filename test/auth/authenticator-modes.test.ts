import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessEntriesFile, WatchedFile } from '../../src/authenticator/authenticator.js';
import { createLogger } from '../../src/shared/log.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';
import { LogCapture, waitFor } from '../helpers/wait.js';

const entry = (name: string, fields: Record<string, unknown> = {}) => ({ accessEntry: { principalArn: `arn:aws:iam::111122223333:role/${name}`, ...fields } });

describe('authenticator: --authentication-mode and --access-entries', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'piw-modes-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a mode without the files it reads, access entries in CONFIG_MAP, and an entry EKS would refuse: one line, exit 2, before serving', async () => {
    const entries = join(dir, 'entries.json');
    writeFileSync(entries, JSON.stringify([entry('ok'), entry('admins', { kubernetesGroups: ['system:masters'] })]));
    const awsAuth = join(FIXTURES, 'aws-auth', 'valid.yaml');
    const cases: Array<[string[], RegExp]> = [
      [[], /--authentication-mode CONFIG_MAP reads the aws-auth ConfigMap: give --aws-auth$/],
      [['--aws-auth', awsAuth, '--access-entries', entries], /--access-entries needs --authentication-mode API_AND_CONFIG_MAP or API: EKS has no access entries in CONFIG_MAP mode$/],
      [['--authentication-mode', 'API_AND_CONFIG_MAP', '--access-entries', entries], /--authentication-mode API_AND_CONFIG_MAP reads the aws-auth ConfigMap: give --aws-auth$/],
      [['--authentication-mode', 'API', '--aws-auth', awsAuth], /--authentication-mode API reads access entries: give --access-entries$/],
      [['--authentication-mode', 'API', '--access-entries', entries], /entries\.json: \[1\]\.accessEntry \(arn:aws:iam::111122223333:role\/admins\): InvalidParameterException: The kubernetes group name system:masters is invalid, it cannot start with system:$/],
      [['--authentication-mode', 'api'], /Allowed choices are CONFIG_MAP, API_AND_CONFIG_MAP, API/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(['authenticator', '--cluster-id', 'lab-cluster', '--port', '0', '--tls-cert', join(dir, 'none.crt'), '--tls-key', join(dir, 'none.key'), ...flags]);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
      const [line, ...rest] = result.stderr.trimEnd().split('\n');
      assert.deepEqual(rest.filter((extra) => extra !== '(add --help for usage)'), [], result.stderr);
      assert.match(line!, /^pod-identity-webhook: /);
      assert.match(line!, message);
    }
  });

  it('reloads the entries file when it changes; an update EKS could not have printed keeps the last good entries, and says why', async () => {
    const path = join(dir, 'entries.json');
    writeFileSync(path, JSON.stringify([entry('first')]));
    const logs = new LogCapture();
    const loaded = await WatchedFile.load(path, accessEntriesFile('lab-cluster'), createLogger(logs.write, 'debug'));
    assert.ok(loaded.ok);
    const file = loaded.value;
    file.start();
    try {
      const names = (): string[] => file.value.entries.map((item) => item.principalArn.split('/').pop()!);
      writeFileSync(path, JSON.stringify([entry('first'), entry('second', { type: 'EC2_LINUX' })]));
      await waitFor('the new entries', () => names().length === 2);
      assert.deepEqual(logs.events('access-entries-loaded').at(-1), { ...logs.events('access-entries-loaded').at(-1), entries: 2, policies: 0 });
      writeFileSync(path, JSON.stringify([entry('third', { username: 'system:admin' })]));
      await waitFor('the refused update logged', () => logs.events('access-entries-reload-failed').length > 0);
      assert.deepEqual(names(), ['first', 'second']);
      assert.match(String(logs.events('access-entries-reload-failed')[0]!.error), /The username system:admin is invalid, it cannot start with system:/);
      writeFileSync(path, JSON.stringify([entry('other-cluster', { clusterName: 'prod' })]));
      await waitFor('the other cluster refused', () => logs.events('access-entries-reload-failed').length > 1);
      assert.match(String(logs.events('access-entries-reload-failed')[1]!.error), /belongs to cluster prod, not lab-cluster/);
      assert.deepEqual(names(), ['first', 'second']);
    } finally {
      file.stop();
    }
  });

  it('says at each load which policies the lab grants nothing for, and the warnings of EC2 (Auto Mode) entries; the entries are in force all the same', async () => {
    const path = join(dir, 'entries.json');
    const policy = (name: string) => ({ policyArn: `arn:aws:eks::aws:cluster-access-policy/${name}`, accessScope: { type: 'cluster' } });
    const arn = (name: string): string => `arn:aws:iam::111122223333:role/${name}`;
    writeFileSync(
      path,
      JSON.stringify([
        entry('auto-nodes', { type: 'EC2' }),
        { principalArn: arn('auto-nodes'), associatedAccessPolicies: [policy('AmazonEKSAutoNodePolicy'), policy('AmazonEKSViewPolicy')] },
        entry('viewers'),
        { principalArn: arn('viewers'), associatedAccessPolicies: [policy('AmazonEKSViewPolicy')] },
      ]),
    );
    const logs = new LogCapture();
    const loaded = await WatchedFile.load(path, accessEntriesFile('lab-cluster'), createLogger(logs.write, 'debug'));
    assert.ok(loaded.ok);
    assert.equal(loaded.value.value.entries.length, 2);
    assert.deepEqual(
      logs.events('access-entries-policy-note').map((event) => event.note),
      [
        `${arn('auto-nodes')}: AmazonEKSViewPolicy on an EC2 (Auto Mode) entry: EC2 entries take AmazonEKSAutoNodePolicy only (CDK says node entries take no access policies; the EKS docs attach AmazonEKSAutoNodePolicy)`,
        `${arn('auto-nodes')}: AmazonEKSAutoNodePolicy is a policy for an AWS service or EKS-managed component: known, not modelled by the lab's RBAC stand-in, so the lab grants nothing for it`,
      ],
      'the modelled AmazonEKSViewPolicy of viewers is not mentioned',
    );
    assert.equal(logs.events('access-entries-policy-note')[0]!.level, 'warn');
  });
});
