import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

/**
 * Cluster mode listens on IPv6 and IPv4 by default: on an IPv6 cluster an IPv4-only webhook is
 * never reached, and with failurePolicy Ignore every pod would be admitted without identity. The
 * server runs in a network namespace of its own (only loopback exists there), so listening on every
 * address exposes nothing.
 */
describe('cluster mode listens dual-stack by default', function () {
  this.timeout(60_000);

  it('answers over ::1 and 127.0.0.1 on the HTTPS and the metrics port', async () => {
    const probe = join(ROOT, 'dist', 'test', 'helpers', 'dual-stack-probe.js');
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        'unshare',
        ['--net', '--map-root-user', 'sh', '-c', 'ip link set lo up && exec "$0" "$1"', process.execPath, probe],
        { timeout: 45_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.match(String(result.address), /^https:\/\/\[::\]:\d+$/);
    assert.deepEqual({ v6: result.v6, v4: result.v4, metricsV6: result.metricsV6, metricsV4: result.metricsV4 }, { v6: 200, v4: 200, metricsV6: 200, metricsV4: 200 });
  });
});
