/**
 * The fake kube-apiserver in its own process, seeded with N realistic ServiceAccounts, for the
 * ServiceAccount-cache benchmark (the webhook under test must not share its heap).
 *
 *   node dist/bench/servers/fake-apiserver-process.js COUNT KUBECONFIG_OUT
 *
 * Prints {"url":...,"count":N} once listening.
 */
import { writeFileSync } from 'node:fs';
import { FakeApiServer } from '../../test/support/fake-apiserver.js';
import { realisticServiceAccount } from '../workloads.js';

const count = Number(process.argv[2]);
const kubeconfigPath = process.argv[3];
if (!Number.isInteger(count) || count < 0 || !kubeconfigPath) {
  process.stderr.write('usage: fake-apiserver-process COUNT KUBECONFIG_OUT\n');
  process.exit(2);
}
const api = new FakeApiServer();
api.seed('serviceaccounts', (function* () {
  for (let index = 0; index < count; index += 1) yield realisticServiceAccount(index);
})());
await api.start();
writeFileSync(kubeconfigPath, api.kubeconfig());
process.stdout.write(`${JSON.stringify({ url: api.url, count: api.count('serviceaccounts') })}\n`);
process.on('SIGTERM', () => void api.stop().then(() => process.exit(0)));
