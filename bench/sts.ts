/** The lab STS: AssumeRoleWithWebIdentity over HTTP against bare jose verification of the same token. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, exportJWK, jwtVerify } from 'jose';
import { stringify } from 'yaml';
import { keyId } from '../src/lab/keys.js';
import { mintProjectedToken } from '../src/lab/token.js';
import { cli, DURATION, log, round, RUNS, work } from './context.js';
import { type LoadResult, median, runLoad } from './load.js';
import { startNode, stop } from './processes.js';

export interface StsRow {
  baselineVerificationsPerSecond: number;
  sts: Array<{ connections: number; requestsPerSecond: number; p50Ms: number; p99Ms: number }>;
}

export async function benchSts(): Promise<StsRow> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(work, 'issuer.key');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const issuer = await startNode([cli, 'issuer', '--port', '0', '--key', keyFile], { logFile: log('issuer.log'), readyEvent: 'issuer-listening' });
  const issuerUrl = String(issuer.ready.issuer);
  const provider = issuerUrl.replace(/^https?:\/\//, '');
  const role = 'arn:aws:iam::111122223333:role/bench';
  writeFileSync(
    join(work, 'lab.yaml'),
    stringify({
      providers: [{ issuer: issuerUrl, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuerUrl}/keys` }],
      roles: [
        {
          arn: role,
          trustPolicy: {
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${provider}` },
                Action: 'sts:AssumeRoleWithWebIdentity',
                Condition: { StringEquals: { [`${provider}:sub`]: 'system:serviceaccount:shop:service', [`${provider}:aud`]: 'sts.amazonaws.com' } },
              },
            ],
          },
        },
      ],
    }),
  );
  const sts = await startNode([cli, 'sts', '--config', join(work, 'lab.yaml'), '--port', '0', '--secret-file', join(work, 'sts-secret.key')], {
    logFile: log('sts.log'),
    readyEvent: 'sts-listening',
  });
  try {
    const publicKey = createPublicKey(privateKey);
    const kid = keyId(publicKey);
    const token = await mintProjectedToken(
      { kid, publicKey, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }, source: keyFile },
      { issuer: issuerUrl, audiences: ['sts.amazonaws.com'], namespace: 'shop', serviceAccount: 'service', pod: { name: 'service-1' }, expirationSeconds: 3600 },
    );

    // Baseline: bare jose RS256 verification of the same token, one at a time, in this process.
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256' }] });
    const verify = () => jwtVerify(token, keys, { algorithms: ['RS256'], issuer: issuerUrl, audience: 'sts.amazonaws.com' });
    const baselineRuns: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      for (let warm = performance.now(); performance.now() - warm < 300; ) await verify();
      let count = 0;
      const started = performance.now();
      while (performance.now() - started < DURATION * 1000) {
        await verify();
        count += 1;
      }
      baselineRuns.push(count / ((performance.now() - started) / 1000));
    }

    const body = new URLSearchParams({ Action: 'AssumeRoleWithWebIdentity', Version: '2011-06-15', RoleArn: role, RoleSessionName: 'bench', WebIdentityToken: token }).toString();
    const url = String(sts.ready.address);
    const rows: StsRow['sts'] = [];
    for (const connections of [1, 8]) {
      await runLoad({ url, body, contentType: 'application/x-www-form-urlencoded; charset=utf-8', connections, durationSeconds: 1 });
      const runs: LoadResult[] = [];
      for (let run = 0; run < RUNS; run += 1) {
        const result = await runLoad({ url, body, contentType: 'application/x-www-form-urlencoded; charset=utf-8', connections, durationSeconds: DURATION });
        if (result.errors > 0 || result.non2xx > 0) throw new Error(`sts: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
        runs.push(result);
      }
      rows.push({
        connections,
        requestsPerSecond: round(median(runs.map((run) => run.requestsPerSecond)), 0),
        p50Ms: round(median(runs.map((run) => run.p50Ms)), 3),
        p99Ms: round(median(runs.map((run) => run.p99Ms)), 3),
      });
    }
    return { baselineVerificationsPerSecond: round(median(baselineRuns), 0), sts: rows };
  } finally {
    await stop(sts.child);
    await stop(issuer.child);
  }
}

