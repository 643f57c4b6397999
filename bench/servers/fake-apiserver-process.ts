/**
 * The fake kube-apiserver in its own process, seeded with N realistic ServiceAccounts (and the
 * ServiceAccounts of an optional manifest file), for the benchmark's cluster-mode servers (the
 * webhook under test must not share its heap).
 *
 *   node dist/bench/servers/fake-apiserver-process.js COUNT KUBECONFIG_OUT [SERVICEACCOUNTS_YAML]
 *
 * With FAKE_API_HIDE_GETS=1 every GET of a single object answers 404, so a webhook can only know a
 * ServiceAccount once its list has it (how the cache benchmark times "ready").
 *
 * Prints {"url":...,"count":N} once listening.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { FakeApiServer } from '../../test/support/fake-apiserver.js';
import { realisticServiceAccount } from '../workloads.js';

const count = Number(process.argv[2]);
const kubeconfigPath = process.argv[3];
const extraFile = process.argv[4];
if (!Number.isInteger(count) || count < 0 || !kubeconfigPath) {
  process.stderr.write('usage: fake-apiserver-process COUNT KUBECONFIG_OUT [SERVICEACCOUNTS_YAML]\n');
  process.exit(2);
}
const api = new FakeApiServer();
api.seed('serviceaccounts', (function* () {
  for (let index = 0; index < count; index += 1) yield realisticServiceAccount(index);
})());
if (extraFile) {
  const documents = parseAllDocuments(readFileSync(extraFile, 'utf8')).map((document) => document.toJS() as Record<string, unknown> | null);
  api.seed('serviceaccounts', documents.filter((document): document is Record<string, unknown> => document !== null && document.kind === 'ServiceAccount'));
}
if (process.env.FAKE_API_HIDE_GETS === '1') api.hideFromGets();
await api.start();
writeFileSync(kubeconfigPath, api.kubeconfig());
process.stdout.write(`${JSON.stringify({ url: api.url, count: api.count('serviceaccounts') })}\n`);
process.on('SIGTERM', () => void api.stop().then(() => process.exit(0)));
