import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import {
  assertIdentity,
  assertNoIdentity,
  createAppServiceAccounts,
  createPod,
  createServiceAccount,
  getPod,
  type Pod,
  podManifest,
  type Probe,
  ROLE_PREFIX,
  setWebhookConfigurations,
  TOKEN_DIR,
} from './support/pods.js';
import { isLoopback, listeningAddresses } from './support/processes.js';
import { RENAME_TOKEN_LABEL, RENAMED_TOKEN_VOLUME, SIDECAR_LABEL, SidecarWebhook } from './support/sidecar-webhook.js';
import { HoldingProxy } from './support/holding-proxy.js';
import { applyManifest, ClusterWebhook, MANIFESTS } from './support/webhook.js';

const ROLE = `${ROLE_PREFIX}e2e-app`;
const NAMESPACE = 'apps';
const PROBE: Probe = { namespace: 'e2e-probe', serviceAccount: 'probe' };

for (const release of kubernetesReleases()) {
  describe(`admission on a real kube-apiserver ${release.version}: the webhook in cluster mode`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;
    let webhook: ClusterWebhook | undefined;
    let sidecar: SidecarWebhook | undefined;
    let proxy: HoldingProxy | undefined;
    let cp: ControlPlane;
    let hook: ClusterWebhook;

    before(async () => {
      controlPlane = await ControlPlane.create(release);
      cp = controlPlane;
      await createAppServiceAccounts(cp.admin, NAMESPACE, ROLE, PROBE);
      proxy = await HoldingProxy.start(Number(new URL(cp.server).port));
      // The ConfigMap and Role of manifests/optional/role-mapping.yaml, read through that Role's resourceNames rule.
      await applyManifest(cp, join(MANIFESTS, 'base', 'namespace.yaml'));
      await applyManifest(cp, join(MANIFESTS, 'optional', 'role-mapping.yaml'));
      webhook = await ClusterWebhook.start(cp, {
        server: `https://127.0.0.1:${proxy.port}`,
        args: ['--watch-config-map', 'pod-identity-webhook/pod-identity-webhook-roles'],
      });
      hook = webhook;
    });
    after(async () => {
      await sidecar?.close();
      await webhook?.stop();
      await proxy?.close();
      await controlPlane?.stop();
    });

    it('the webhook process listens on loopback only', () => {
      const addresses = listeningAddresses(hook.process.child.pid!);
      assert.equal(addresses.length, 2, `HTTPS and metrics: ${addresses.join(', ')}`);
      assert.deepEqual(addresses.filter((address) => !isLoopback(address)), []);
    });

    it('the role-mapping ConfigMap (manifests/optional/role-mapping.yaml) gives its ServiceAccount a role', async () => {
      // manifests/optional/role-mapping.yaml maps default/example to role/example with token-expiration 3600.
      await setWebhookConfigurations(cp, [hook.configuration({ name: 'pod-identity-webhook-mapping' })], PROBE);
      await createServiceAccount(cp.admin, 'default', 'example');
      const stored = await createPod(cp.admin, 'default', podManifest('mapped', 'example'));
      assertIdentity(stored, `${ROLE_PREFIX}example`, undefined, 3600);
    });

    for (const reviewVersion of ['v1', 'v1beta1']) {
      describe(`registered with admissionReviewVersions: [${reviewVersion}]`, () => {
        before(async () => {
          await setWebhookConfigurations(cp, [hook.configuration({ name: `pod-identity-webhook-${reviewVersion}`, admissionReviewVersions: [reviewVersion] })], PROBE);
        });

        it('a pod created for real is stored with the env, the mount, the token volume and the injected-role-arn annotation', async () => {
          const name = `app-${reviewVersion}`;
          const created = await createPod(cp.admin, NAMESPACE, podManifest(name, 'app'));
          assertIdentity(created, ROLE);
          assertIdentity(await getPod(cp.admin, NAMESPACE, name), ROLE);
          const line = await hook.admissionLine(NAMESPACE, name);
          assert.equal(line.decision, 'mutated');
          assert.equal(line.operation, 'CREATE');
        });

        it('a pod whose ServiceAccount has no role, and a pod labelled pod-identity-webhook.io/skip, are stored as they were', async () => {
          const plain = `plain-${reviewVersion}`;
          assertNoIdentity(await createPod(cp.admin, NAMESPACE, podManifest(plain, 'no-role')));
          assert.equal((await hook.admissionLine(NAMESPACE, plain)).decision, 'unchanged');
          const skipped = `skipped-${reviewVersion}`;
          assertNoIdentity(await createPod(cp.admin, NAMESPACE, podManifest(skipped, 'app', { 'pod-identity-webhook.io/skip': 'true' })));
          await sleep(300); // a line the webhook did write would be out by now (it flushes every 50 ms)
          assert.deepEqual(hook.admissionLines(NAMESPACE, skipped), [], 'the objectSelector keeps the API server from calling the webhook');
        });
      });
    }

    describe('registered as manifests/mutatingwebhookconfiguration.yaml says (v1 and v1beta1, reinvocationPolicy IfNeeded)', () => {
      before(async () => {
        sidecar = await SidecarWebhook.start();
        await setWebhookConfigurations(cp, [hook.configuration(), sidecar.configuration()], PROBE);
      });

      it('ServiceAccounts created immediately before their pods give them their identity', async () => {
        const missesBefore = await hook.metric('pod_identity_webhook_serviceaccount_cache_misses_total');
        for (let index = 0; index < 5; index += 1) {
          const name = `fresh-${index}`;
          await createServiceAccount(cp.admin, NAMESPACE, name, `${ROLE_PREFIX}${name}`);
          assertIdentity(await createPod(cp.admin, NAMESPACE, podManifest(name, name)), `${ROLE_PREFIX}${name}`);
        }
        const misses = (await hook.metric('pod_identity_webhook_serviceaccount_cache_misses_total')) - missesBefore;
        console.log(`      ${misses} of 5 found their ServiceAccount missing from the webhook's cache`);
      });

      it('a ServiceAccount the cache has not seen yet (its watch held back) is fetched with a live GET', async () => {
        const missesBefore = await hook.metric('pod_identity_webhook_serviceaccount_cache_misses_total');
        const cachedBefore = await hook.metric('pod_identity_webhook_serviceaccounts_cached');
        assert.ok(proxy!.holdOpenConnections() >= 1, 'the watch connection is open');
        try {
          await createServiceAccount(cp.admin, NAMESPACE, 'unseen', `${ROLE_PREFIX}unseen`);
          assertIdentity(await createPod(cp.admin, NAMESPACE, podManifest('unseen', 'unseen')), `${ROLE_PREFIX}unseen`);
          assert.equal(await hook.metric('pod_identity_webhook_serviceaccount_cache_misses_total'), missesBefore + 1, 'the watch event has not arrived');
          assert.equal(await hook.metric('pod_identity_webhook_serviceaccounts_cached'), cachedBefore + 1, "the live GET's answer went into the cache");
          // The next pod of the ServiceAccount is answered from the cache, the watch still held back.
          assertIdentity(await createPod(cp.admin, NAMESPACE, podManifest('unseen-2', 'unseen')), `${ROLE_PREFIX}unseen`);
          assert.equal(await hook.metric('pod_identity_webhook_serviceaccount_cache_misses_total'), missesBefore + 1);
        } finally {
          proxy!.release();
        }
        assert.equal(await hook.metric('pod_identity_webhook_serviceaccount_lookup_errors_total'), 0);
        // The held-back ADDED event arrives and finds the object already cached: still one entry.
        await sleep(500);
        assert.equal(await hook.metric('pod_identity_webhook_serviceaccounts_cached'), cachedBefore + 1);
      });

      it('reinvocation: a container another webhook adds after ours gets the identity too', async () => {
        const name = 'with-sidecar';
        const stored = await createPod(cp.admin, NAMESPACE, podManifest(name, 'app', { [SIDECAR_LABEL]: 'true' }));
        assert.deepEqual(
          stored.spec.containers.map((container) => container.name),
          ['app', 'sidecar'],
        );
        assertIdentity(stored, ROLE, ['app', 'sidecar']);
        assert.deepEqual(sidecar!.reviewed.filter((pod) => pod === `${NAMESPACE}/${name}`).length, 1);
        const [first, second] = [await hook.admissionLine(NAMESPACE, name, 1), await hook.admissionLine(NAMESPACE, name, 2)];
        assert.equal(first.decision, 'mutated');
        assert.equal(second.decision, 'mutated', 'reinvoked for the added container');
        assert.ok(Number(second.patchOperations) < Number(first.patchOperations), `second pass patched only the new container: ${String(second.patchOperations)} < ${String(first.patchOperations)}`);
      });

      it('reinvocation after another webhook renamed the token volume adds no second one: the renamed volume is the token', async () => {
        const name = 'renamed-token';
        const stored = await createPod(cp.admin, NAMESPACE, podManifest(name, 'app', { [SIDECAR_LABEL]: 'true', [RENAME_TOKEN_LABEL]: 'true' }));
        const tokens = (stored.spec.volumes ?? []).filter((volume) => volume.projected?.sources.some((source) => source.serviceAccountToken?.audience === 'sts.amazonaws.com'));
        assert.deepEqual(tokens.map((volume) => volume.name), [RENAMED_TOKEN_VOLUME], JSON.stringify(stored.spec.volumes));
        for (const container of stored.spec.containers) {
          assert.deepEqual(container.volumeMounts?.filter((mount) => mount.mountPath === TOKEN_DIR), [{ name: RENAMED_TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true }], container.name);
          assert.deepEqual(container.env?.filter((entry) => entry.name === 'AWS_WEB_IDENTITY_TOKEN_FILE'), [{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${TOKEN_DIR}/token` }], container.name);
        }
        assert.equal((await hook.admissionLine(NAMESPACE, name, 2)).decision, 'mutated', 'reinvoked for the added container');
      });

      it('a pod with an emptyDir named aws-iam-token gets the token in a volume of its own, aws-iam-token-1, and the API server accepts it', async () => {
        const pod = podManifest('empty-dir-token-name', 'app');
        pod.spec.volumes = [{ name: 'aws-iam-token', emptyDir: {} }];
        const stored = await createPod(cp.admin, NAMESPACE, pod);
        const volumes = stored.spec.volumes ?? [];
        assert.deepEqual(volumes.find((volume) => volume.name === 'aws-iam-token'), { name: 'aws-iam-token', emptyDir: {} });
        assert.deepEqual(volumes.find((volume) => volume.name === 'aws-iam-token-1')?.projected?.sources, [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } }]);
        assert.deepEqual(stored.spec.containers[0]!.volumeMounts?.filter((mount) => mount.mountPath === TOKEN_DIR), [{ name: 'aws-iam-token-1', mountPath: TOKEN_DIR, readOnly: true }]);
      });

      it('an UPDATE of a mutated pod (a label change) is accepted and leaves the mutation as it was', async () => {
        const name = 'to-update';
        const before = await createPod(cp.admin, NAMESPACE, podManifest(name, 'app'));
        assertIdentity(before, ROLE);
        const updated = (await cp.admin.expect(200, 'PATCH', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`, { metadata: { labels: { changed: 'yes' } } }, 'application/merge-patch+json')) as Pod;
        assert.equal(updated.metadata?.labels?.changed, 'yes');
        assert.deepEqual(updated.spec, before.spec);
        assert.deepEqual(updated.metadata?.annotations, before.metadata?.annotations);
      });

      it('a pod created from a stored mutated spec gets no duplicates and is accepted', async () => {
        const source = await getPod(cp.admin, NAMESPACE, 'app-v1');
        const copy: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'copy-of-app', labels: source.metadata?.labels ?? {}, annotations: source.metadata?.annotations ?? {} },
          spec: source.spec,
        };
        const stored = await createPod(cp.admin, NAMESPACE, copy);
        assertIdentity(stored, ROLE);
        assert.deepEqual(stored.spec.containers, source.spec.containers);
        assert.deepEqual(stored.spec.volumes, source.spec.volumes);
        const line = await hook.admissionLine(NAMESPACE, 'copy-of-app');
        assert.equal(line.decision, 'unchanged');
        assert.equal(line.patchOperations ?? 0, 0);
      });
    });
  });
}
