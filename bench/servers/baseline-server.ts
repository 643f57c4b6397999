/**
 * Baseline admission servers for the benchmark, each run in its own process:
 *
 *   echo  reads the body and answers a precomputed copy of the webhook's response (the transport ceiling);
 *   work  parses the review, JSON-serialises and base64-encodes the same patch and answers (the least
 *         work any implementation of this design must do).
 *
 *   node dist/bench/servers/baseline-server.js echo|work CERT KEY PAYLOAD_FILE [BUSY_WAIT_US]
 *
 * PAYLOAD_FILE holds the response (echo) or the patch (work). BUSY_WAIT_US adds that many µs of
 * busy-waiting to each answer (calibration: what a few µs of extra code cost on this machine).
 * Prints {"port":N} once listening.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const [mode, certFile, keyFile, payloadFile, busyWaitArg = '0'] = process.argv.slice(2);
const busyWaitMs = Number(busyWaitArg) / 1000;
if ((mode !== 'echo' && mode !== 'work') || !certFile || !keyFile || !payloadFile || !(busyWaitMs >= 0)) {
  process.stderr.write('usage: baseline-server echo|work CERT KEY PAYLOAD_FILE [BUSY_WAIT_US]\n');
  process.exit(2);
}
const payload = readFileSync(payloadFile);
const patch: unknown = mode === 'work' ? JSON.parse(payload.toString('utf8')) : undefined;

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: Buffer;
    if (mode === 'echo') {
      body = payload;
    } else {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { apiVersion: string; request: { uid: string } };
      body = Buffer.from(
        JSON.stringify({
          apiVersion: review.apiVersion,
          kind: 'AdmissionReview',
          response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') },
        }),
      );
    }
    if (busyWaitMs > 0) for (const until = performance.now() + busyWaitMs; performance.now() < until; );
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
