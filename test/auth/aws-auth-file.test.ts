import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsAuthFile, type WatchedFile } from '../../src/authenticator/authenticator.js';
import type { AwsAuthConfig } from '../../src/authenticator/aws-auth.js';
import { createLogger } from '../../src/shared/log.js';
import { LogCapture, waitFor } from '../helpers/wait.js';

function configMap(roleNames: string[]): string {
  const roles = roleNames.map((name) => `    - rolearn: arn:aws:iam::111122223333:role/${name}\n      username: ${name}\n      groups: [${name}s]\n`).join('');
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n${roles}`;
}

describe('aws-auth file: reloaded when it changes', function () {
  this.timeout(20_000);
  let dir: string;
  let file: WatchedFile<AwsAuthConfig> | undefined;
  let logs: LogCapture;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'piw-aws-auth-'));
    writeFileSync(join(dir, 'aws-auth.yaml'), configMap(['first']));
    logs = new LogCapture();
    const loaded = await AwsAuthFile.load(join(dir, 'aws-auth.yaml'), createLogger(logs.write, 'debug'));
    assert.ok(loaded.ok);
    file = loaded.value;
    file.start();
  });
  afterEach(() => {
    file?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const roleArns = (): string[] => file!.value.roles.map((role) => role.arn);

  it('picks up a rewritten file and a ConfigMap volume style rename, and ignores other files in the directory', async () => {
    assert.deepEqual(roleArns(), ['arn:aws:iam::111122223333:role/first']);
    for (let index = 0; index < 5; index += 1) {
      writeFileSync(join(dir, 'notes.txt'), `line ${index}\n`);
      await sleep(30);
    }
    await sleep(300);
    assert.equal(logs.events('aws-auth-loaded').length, 0, 'an unrelated file caused a reload');

    writeFileSync(join(dir, 'aws-auth.yaml'), configMap(['first', 'second']));
    await waitFor('the rewritten mapping', () => roleArns().length === 2);
    assert.deepEqual(roleArns(), ['arn:aws:iam::111122223333:role/first', 'arn:aws:iam::111122223333:role/second']);

    // Editors and volume updates replace the file by renaming a new one over it.
    writeFileSync(join(dir, '.aws-auth.yaml.tmp'), configMap(['third']));
    renameSync(join(dir, '.aws-auth.yaml.tmp'), join(dir, 'aws-auth.yaml'));
    await waitFor('the renamed mapping', () => roleArns()[0] === 'arn:aws:iam::111122223333:role/third');
  });

  it('keeps the last good mapping when an update is not a ConfigMap, and logs why', async () => {
    writeFileSync(join(dir, 'aws-auth.yaml'), 'mapRoles: [unclosed');
    await waitFor('the failed reload logged', () => logs.events('aws-auth-reload-failed').length > 0);
    assert.deepEqual(roleArns(), ['arn:aws:iam::111122223333:role/first']);
    assert.match(String(logs.events('aws-auth-reload-failed')[0]!.error), /aws-auth\.yaml: /);
  });
});
