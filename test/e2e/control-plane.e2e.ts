import assert from 'node:assert/strict';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import { isLoopback, listeningAddresses, runCommand } from './support/processes.js';

for (const release of kubernetesReleases()) {
  describe(`control plane: kube-apiserver ${release.version}`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;

    before(async () => {
      controlPlane = await ControlPlane.create(release);
    });
    after(async () => {
      await controlPlane?.stop();
    });

    it('runs the versions it was built for (kube-apiserver, kubectl, etcd)', async () => {
      const cp = controlPlane!;
      const printed = await runCommand(release.kubeApiserver, ['--version']);
      assert.equal(printed.stdout.trim(), `Kubernetes ${release.version}`);
      assert.equal(cp.serverVersion, release.version, 'GET /version');
      const kubectl = await cp.kubectl(['version', '--output=json']);
      assert.equal(kubectl.code, 0, kubectl.stderr);
      const versions = JSON.parse(kubectl.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
      assert.equal(versions.clientVersion.gitVersion, release.version);
      assert.equal(versions.serverVersion.gitVersion, release.version);
      const etcd = await runCommand(cp.etcd.etcd, ['--version']);
      assert.match(etcd.stdout, new RegExp(`^etcd Version: ${cp.etcd.version.slice(1).replace(/\./g, '\\.')}$`, 'm'));
      console.log(`      kube-apiserver ${cp.serverVersion}, kubectl ${versions.clientVersion.gitVersion}, etcd ${cp.etcd.version}`);
    });

    it('authorizes with RBAC: an anonymous request is refused, the system:masters client is not', async () => {
      const cp = controlPlane!;
      const anonymous = await cp.client({ anonymous: true }).request('GET', '/api/v1/namespaces/default/pods');
      assert.equal(anonymous.status, 403, anonymous.text);
      assert.match(anonymous.text, /system:anonymous/);
      assert.equal((await cp.admin.request('GET', '/api/v1/namespaces/default/pods')).status, 200);
    });

    it('loads the MutatingAdmissionWebhook admission plugin', () => {
      const log = controlPlane!.apiserverLog(100_000);
      const loaded = /Loaded \d+ mutating admission controller\(s\) successfully in the following order: (.*?)\./.exec(log);
      assert.ok(loaded, 'the API server logs its mutating admission plugins');
      assert.ok(loaded[1]!.split(',').includes('MutatingAdmissionWebhook'), loaded[1]);
    });

    it('listens on loopback only (every listening socket of etcd and kube-apiserver)', () => {
      for (const [name, pid] of Object.entries(controlPlane!.pids())) {
        const addresses = listeningAddresses(pid);
        assert.ok(addresses.length > 0, `${name} listens somewhere`);
        assert.deepEqual(
          addresses.filter((address) => !isLoopback(address)),
          [],
          `${name} listens on ${addresses.join(', ')}`,
        );
      }
    });
  });
}
