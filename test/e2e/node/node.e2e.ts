import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { dockerfileFinalStage } from '../support/node/dockerfile.js';
import { gitCommit } from '../support/node/images.js';
import { readmeInstallBlocks } from '../support/node/readme-install.js';
import { CLI, ROOT } from '../../helpers/paths.js';
import { waitFor } from '../../helpers/wait.js';
import { helmBinary, kubernetesReleases } from '../support/components.js';
import { ControlPlane } from '../support/control-plane.js';
import type { KubeObject } from '../support/kube-client.js';
import { LabServices } from '../support/lab-services.js';
import { NODE_NAME, NodeCluster, nodeEnvironment, nodeServerHosts } from '../support/node/node.js';
import { type CallerAnswer, callerAnswer, GO_CALLER, JS_CALLER, envNames, type PodObject, waitForPodCompletion, WORKLOAD_IMAGE } from '../support/node/workloads.js';
import { ROLE_PREFIX } from '../support/pods.js';
import { freePort, runCommand } from '../support/processes.js';

const CHART = `${ROOT}/charts/pod-identity-webhook`;
const WEBHOOK_NAMESPACE = 'pod-identity-webhook';
const APPS = 'apps';
const ACCOUNT = '111122223333';
const APP_ROLE = `${ROLE_PREFIX}node-app`;
/** Trusted by nobody this suite runs as: its pods get AccessDenied. */
const REFUSED_ROLE = `${ROLE_PREFIX}node-refused`;
const PI_CLUSTER = 'node-lab';
const PI_REGION = 'us-east-1';
const PI_ROLE = `arn:aws:iam::${ACCOUNT}:role/node-pod-identity`;

// The newest release runs the node (the kubelets of both build and run here; one node keeps the suite's time in bounds).
const release = kubernetesReleases().at(-1)!;

/** Prints the claims of the Pod Identity token the kubelet wrote, from the file the webhook named. */
const PRINT_TOKEN_CLAIMS = [
  '/nodejs/bin/node',
  '-e',
  "const token = require('node:fs').readFileSync(process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8'); console.log(Buffer.from(token.split('.')[1], 'base64url').toString())",
];

/** A container that runs a caller once, then stays (for a Deployment, whose containers must keep running). */
function callThenStay(caller: readonly string[]): string[] {
  const script = `const r = require('node:child_process').spawnSync(${JSON.stringify(caller[0])}, ${JSON.stringify(caller.slice(1))}, { stdio: 'inherit' }); console.error('caller exited', r.status); setInterval(() => {}, 1 << 30);`;
  return ['/nodejs/bin/node', '-e', script];
}

function container(name: string, command: readonly string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, image: WORKLOAD_IMAGE, imagePullPolicy: 'Never', command, ...extra };
}

describe(`a node: kubelet ${release.version} on containerd and runc, bridge CNI, kube-proxy, kube-scheduler and kube-controller-manager, in namespaces of its own`, function () {
  this.timeout(600_000);
  let cluster: NodeCluster | undefined;
  let lab: LabServices | undefined;
  let stsEndpoint = '';
  const environment = nodeEnvironment();

  async function kubectl(args: readonly string[], input?: string, timeoutMs = 180_000): Promise<string> {
    const result = await cluster!.kubectl(args, { input, timeoutMs });
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}\n${result.stdout}`);
    return result.stdout;
  }

  async function apply(objects: readonly Record<string, unknown>[]): Promise<void> {
    await kubectl(['apply', '-f', '-'], objects.map((object) => stringify(object)).join('---\n'));
  }

  async function helm(args: readonly string[], timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return runCommand(helmBinary(), [...args, '--kubeconfig', cluster!.controlPlane.adminKubeconfig], { timeoutMs });
  }

  async function logs(namespace: string, pod: string, containerName: string): Promise<string> {
    return kubectl(['logs', '-n', namespace, pod, '-c', containerName]);
  }

  before(async () => {
    const issuerPort = await freePort();
    const prepared = await ControlPlane.prepare(release, issuerPort, nodeServerHosts(environment));
    lab = await LabServices.start(prepared, issuerPort, [{ arn: APP_ROLE, subject: `system:serviceaccount:${APPS}:app` }], undefined, {
      stsBindAddress: environment.nodeIp,
      roles: [
        { arn: REFUSED_ROLE, trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { Federated: '*' }, Action: 'sts:AssumeRoleWithWebIdentity' }] } },
        {
          arn: PI_ROLE,
          trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] },
        },
      ],
      clusters: [{ name: PI_CLUSTER, region: PI_REGION, account: ACCOUNT, issuer: prepared.issuer, jwksUrl: `http://127.0.0.1:${issuerPort}/keys`, nodeRoleArn: `arn:aws:iam::${ACCOUNT}:role/node-lab-nodes` }],
      podIdentityAssociations: [{ cluster: PI_CLUSTER, namespace: APPS, serviceAccount: 'pod-identity', roleArn: PI_ROLE }],
    });
    stsEndpoint = lab.stsUrl;
    cluster = await NodeCluster.start(prepared);
    await kubectl(['create', 'namespace', APPS]);
  });

  after(async () => {
    await cluster?.stop();
    await lab?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !cluster) return;
    console.log(cluster.logs(25));
    for (const args of [['get', 'pods', '-A', '-o', 'wide'], ['get', 'events', '-A', '--sort-by=.lastTimestamp'], ['-n', WEBHOOK_NAMESPACE, 'logs', '-l', 'app.kubernetes.io/name=pod-identity-webhook', '--tail=20', '--prefix']]) {
      const result = await cluster.kubectl(args);
      console.log(`--- kubectl ${args.join(' ')}\n${result.stdout.split('\n').slice(-40).join('\n')}${result.stderr}`);
    }
  });

  it('the webhook image holds what the Dockerfile describes: entrypoint, command, user, working directory, ports, labels, files', async () => {
    const expected = dockerfileFinalStage(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), new Map([['GIT_COMMIT', gitCommit()]]));
    const { config } = cluster!.images.webhook;
    assert.deepEqual(config.Entrypoint, expected.entrypoint);
    assert.deepEqual(config.Cmd, expected.cmd);
    assert.equal(config.User, expected.user);
    assert.equal(config.WorkingDir, expected.workdir);
    assert.deepEqual(Object.keys(config.ExposedPorts ?? {}).sort(), expected.ports.map((port) => `${port}/tcp`).sort());
    assert.deepEqual(config.Labels, expected.labels);
    const files = new Set<string>();
    for (const layerTar of cluster!.images.webhook.layers) {
      const entries = await runCommand('tar', ['-tf', layerTar], { timeoutMs: 120_000 });
      for (const entry of entries.stdout.split('\n')) files.add(entry.replace(/^\.\//, '/').replace(/\/$/, ''));
    }
    for (const destination of expected.copied) assert.ok(files.has(destination), `the image has no ${destination}: the Dockerfile copies it`);
    assert.ok(files.has('/nodejs/bin/node'), 'no /nodejs/bin/node, which the entrypoint runs');
    assert.ok(files.has('/app/dist/src/build-info.json'), 'no build-info.json, which `version` reads the commit from');
    assert.ok(!files.has('/app/node_modules/typescript') && !files.has('/app/node_modules/mocha'), 'development dependencies in the image');
  });

  describe('installed as a user installs it: the README\'s install blocks, word for word', () => {
    /** Runs one README command: kubectl and helm of the suite, `npx pod-identity-webhook` as the CLI; the cluster from KUBECONFIG, as users have it. */
    async function runReadmeCommand(words: readonly string[]): Promise<void> {
      const [program, ...args] = words;
      const env = { ...process.env, KUBECONFIG: cluster!.controlPlane.adminKubeconfig };
      let result;
      if (program === 'kubectl') result = await runCommand(release.kubectl, args, { env, timeoutMs: 360_000 });
      else if (program === 'helm') result = await runCommand(helmBinary(), args, { env, timeoutMs: 360_000 });
      else if (program === 'npx' && args[0] === 'pod-identity-webhook') result = await runCommand(process.execPath, [CLI, ...args.slice(1)], { env, timeoutMs: 120_000 });
      else throw new Error(`the README's install block runs ${program}, which this test does not know`);
      assert.equal(result.code, 0, `${words.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    }

    async function webhookState(): Promise<void> {
      const configuration = JSON.parse(await kubectl(['get', 'mutatingwebhookconfiguration', 'pod-identity-webhook', '-o', 'json'])) as { webhooks: { clientConfig: { caBundle?: string } }[] };
      assert.ok(configuration.webhooks.every((webhook) => (webhook.clientConfig.caBundle ?? '') !== ''), 'a webhook without its caBundle');
      const deployment = JSON.parse(await kubectl(['-n', WEBHOOK_NAMESPACE, 'get', 'deployment', 'pod-identity-webhook', '-o', 'json'])) as { status: { readyReplicas?: number } };
      assert.equal(deployment.status.readyReplicas, 2);
    }

    const blocks = readmeInstallBlocks();

    it('the README has two install blocks: kustomize, then Helm', () => {
      assert.equal(blocks.length, 2);
      assert.deepEqual(blocks[0]![0]!.slice(0, 3), ['kubectl', 'apply', '-k']);
      assert.deepEqual(blocks[1]![0]!.slice(0, 2), ['helm', 'install']);
    });

    it('kustomize: both replicas Ready, the caBundle written by the webhook itself, doctor exits 0 (then kubectl delete -k)', async () => {
      // The README's paths start at the repository root, where test/e2e/node/run.sh runs mocha.
      assert.equal(process.cwd(), ROOT);
      for (const command of blocks[0]!) await runReadmeCommand(command);
      await webhookState();
      await kubectl(['delete', '-k', `${ROOT}/manifests`, '--wait=true', '--timeout=120s']);
    });

    it('Helm with the README\'s values (self-managed certificates, 2 replicas): Ready, caBundle filled, the namespace enforcing Pod Security restricted, helm test passes, doctor exits 0', async () => {
      assert.equal(process.cwd(), ROOT);
      for (const command of blocks[1]!) await runReadmeCommand(command);
      await webhookState();
    });
  });

  /** The one variable a pod is given besides what the webhook injects: where the lab STS is. */
  const stsEnv = (): { name: string; value: string }[] => [{ name: 'AWS_ENDPOINT_URL_STS', value: stsEndpoint }];

  /**
   * `helm upgrade --wait` returns once the new replicas are ready, while the old ones still answer
   * through their shutdown delay (the API server's open connections reach them): a configuration
   * change holds for every admission only once they have exited.
   */
  async function waitForOldReplicasGone(): Promise<void> {
    const deployment = JSON.parse(await kubectl(['-n', WEBHOOK_NAMESPACE, 'get', 'deployment', 'pod-identity-webhook', '-o', 'json'])) as { spec: { replicas: number } };
    await waitFor(
      `only the ${deployment.spec.replicas} new webhook replicas`,
      async () => {
        const pods = JSON.parse(await kubectl(['-n', WEBHOOK_NAMESPACE, 'get', 'pods', '-l', 'app.kubernetes.io/component!=test,app.kubernetes.io/name=pod-identity-webhook', '-o', 'json'])) as { items: PodObject[] };
        return pods.items.length === deployment.spec.replicas;
      },
      120_000,
      1000,
    );
  }

  describe('IRSA end to end: the kubelet mounts the token, the SDKs inside the container get credentials', () => {
    const env = stsEnv;

    before(async () => {
      await apply([
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: APPS, annotations: { 'eks.amazonaws.com/role-arn': APP_ROLE } } },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'refused', namespace: APPS, annotations: { 'eks.amazonaws.com/role-arn': REFUSED_ROLE } } },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'plain', namespace: APPS } },
      ]);
    });

    function assertAppIdentity(answer: CallerAnswer, where: string): void {
      assert.match(answer.arn ?? '', /^arn:aws:sts::111122223333:assumed-role\/node-app\/.+$/, `${where}: ${JSON.stringify(answer)}`);
      assert.equal(answer.account, ACCOUNT);
    }

    it('a Deployment running as root: the JavaScript and Go SDKs answer the role, with only the injected environment and the STS endpoint', async () => {
      await apply([
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'app', namespace: APPS },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'app' } },
            template: {
              metadata: { labels: { app: 'app' } },
              spec: { serviceAccountName: 'app', containers: [container('js', callThenStay(JS_CALLER), { env: env() }), container('go', callThenStay(GO_CALLER), { env: env() })] },
            },
          },
        },
      ]);
      await kubectl(['-n', APPS, 'rollout', 'status', 'deployment/app', '--timeout=180s'], undefined, 200_000);
      const pods = JSON.parse(await kubectl(['-n', APPS, 'get', 'pods', '-l', 'app=app', '-o', 'json'])) as { items: PodObject[] };
      const pod = pods.items[0]!;
      const name = pod.metadata!.name!;
      const injected = envNames(pod);
      for (const variable of ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_REGION']) assert.ok(injected.includes(variable), `${variable} not injected: ${injected.join(', ')}`);
      for (const caller of ['js', 'go']) {
        // The container prints its answer once, soon after it starts.
        const answer = await waitFor(
          `${caller}'s answer in its log`,
          () => logs(APPS, name, caller).then(callerAnswer).catch(() => undefined),
          60_000,
          1000,
        );
        assertAppIdentity(answer, caller);
      }
    });

    it('as a non-root user without fsGroup, in an init container and in a native sidecar', async () => {
      const pod = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: APPS },
        spec: { serviceAccountName: 'app', restartPolicy: 'Never', ...spec },
      });
      await apply([
        pod('non-root', {
          securityContext: { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true },
          containers: [container('js', JS_CALLER, { env: env() }), container('go', GO_CALLER, { env: env() })],
        }),
        pod('init', { initContainers: [container('js', JS_CALLER, { env: env() }), container('go', GO_CALLER, { env: env() })], containers: [container('main', JS_CALLER, { env: env() })] }),
        pod('sidecar', { initContainers: [container('sidecar', callThenStay(JS_CALLER), { env: env(), restartPolicy: 'Always' })], containers: [container('main', GO_CALLER, { env: env() })] }),
      ]);
      for (const [name, containers] of [['non-root', ['js', 'go']], ['init', ['js', 'go', 'main']], ['sidecar', ['sidecar', 'main']]] as const) {
        const done = await waitForPodCompletion(cluster!.controlPlane.admin, APPS, name, 180_000);
        for (const containerName of containers) assertAppIdentity(callerAnswer(await logs(APPS, name, containerName)), `${name}/${containerName}`);
        if (name !== 'sidecar') assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
      }
    });

    it('a ServiceAccount without the annotation gets nothing; a role whose trust policy refuses gets AccessDenied inside the pod', async () => {
      const pod = (name: string, serviceAccountName: string): Record<string, unknown> => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: APPS },
        spec: { serviceAccountName, restartPolicy: 'Never', containers: [container('js', JS_CALLER, { env: [...env(), { name: 'AWS_REGION', value: 'us-east-1' }] }), container('go', GO_CALLER, { env: [...env(), { name: 'AWS_REGION', value: 'us-east-1' }] })] },
      });
      await apply([pod('plain', 'plain'), pod('refused', 'refused')]);
      const plain = await waitForPodCompletion(cluster!.controlPlane.admin, APPS, 'plain', 180_000);
      const plainEnv = envNames(plain);
      assert.ok(!plainEnv.includes('AWS_ROLE_ARN'), plainEnv.join(', '));
      for (const caller of ['js', 'go']) assert.ok(callerAnswer(await logs(APPS, 'plain', caller)).error, `plain/${caller} got an identity`);
      await waitForPodCompletion(cluster!.controlPlane.admin, APPS, 'refused', 180_000);
      for (const caller of ['js', 'go']) {
        const answer = callerAnswer(await logs(APPS, 'refused', caller));
        assert.equal(answer.code, 'AccessDenied', `refused/${caller}: ${JSON.stringify(answer)}`);
      }
    });
  });

  describe('rollout without identity loss', () => {
    /** Creates pods of the annotated ServiceAccount until `during` settles; counts those stored without AWS_ROLE_ARN. */
    async function createPodsDuring(prefix: string, during: Promise<unknown>): Promise<{ created: number; missing: string[] }> {
      let settled = false;
      void during.finally(() => {
        settled = true;
      });
      const missing: string[] = [];
      let created = 0;
      const client = cluster!.controlPlane.admin;
      // Bounded: at most 1,000 pods, about 20 a second, and not after the rollout has finished.
      while (!settled && created < 1000) {
        await sleep(50);
        const name = `${prefix}-${created}`;
        const stored = (await client.create(`/api/v1/namespaces/${APPS}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, labels: { rollout: prefix } },
          spec: { serviceAccountName: 'app', restartPolicy: 'Never', nodeName: 'no-such-node', containers: [{ name: 'c', image: WORKLOAD_IMAGE, imagePullPolicy: 'Never' }] },
        })) as PodObject;
        created++;
        const names = envNames(stored);
        if (!names.includes('AWS_ROLE_ARN')) missing.push(name);
      }
      await during;
      await kubectl(['-n', APPS, 'delete', 'pods', '-l', `rollout=${prefix}`, '--wait=false']);
      return { created, missing };
    }

    it('kubectl rollout restart of the webhook while pods are created: none is stored without its identity', async () => {
      const restart = (async () => {
        await kubectl(['-n', WEBHOOK_NAMESPACE, 'rollout', 'restart', 'deployment/pod-identity-webhook']);
        await kubectl(['-n', WEBHOOK_NAMESPACE, 'rollout', 'status', 'deployment/pod-identity-webhook', '--timeout=240s'], undefined, 260_000);
      })();
      const { created, missing } = await createPodsDuring('restart', restart);
      console.log(`      ${created} pods created during the rollout, ${missing.length} without their identity`);
      assert.ok(created >= 10, `only ${created} pods were created during the rollout`);
      assert.deepEqual(missing, []);
    });

    it('one webhook pod deleted while pods are created: none is stored without its identity', async () => {
      const pods = JSON.parse(await kubectl(['-n', WEBHOOK_NAMESPACE, 'get', 'pods', '-l', 'app.kubernetes.io/name=pod-identity-webhook', '-o', 'json'])) as { items: PodObject[] };
      const victim = pods.items.find((pod) => pod.metadata?.labels?.['app.kubernetes.io/component'] !== 'test')?.metadata?.name;
      assert.ok(victim);
      const deletion = (async () => {
        await kubectl(['-n', WEBHOOK_NAMESPACE, 'delete', 'pod', victim, '--wait=true', '--timeout=120s'], undefined, 130_000);
        await kubectl(['-n', WEBHOOK_NAMESPACE, 'rollout', 'status', 'deployment/pod-identity-webhook', '--timeout=240s'], undefined, 260_000);
      })();
      const { created, missing } = await createPodsDuring('delete', deletion);
      console.log(`      ${created} pods created while a webhook pod was deleted and replaced, ${missing.length} without their identity`);
      assert.ok(created >= 5, `only ${created} pods were created`);
      assert.deepEqual(missing, []);
    });
  });

  describe('EKS Pod Identity end to end: the agent at 169.254.170.23:80, the default AWS_CONTAINER_CREDENTIALS_FULL_URI', () => {
    before(async () => {
      await lab!.startPodIdentityAgent(PI_CLUSTER, '169.254.170.23', 80, NODE_NAME);
      const identities = JSON.stringify({ identities: [{ namespace: APPS, serviceAccount: 'pod-identity' }] });
      await apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pod-identities', namespace: WEBHOOK_NAMESPACE }, data: { config: identities } }]);
      const upgraded = await helm([
        'upgrade', 'piw', CHART, '--namespace', WEBHOOK_NAMESPACE, '--reuse-values',
        '--set', `serve.watch-container-credentials-config-map=${WEBHOOK_NAMESPACE}/pod-identities`, '--wait', '--timeout', '4m',
      ]);
      assert.equal(upgraded.code, 0, upgraded.stderr);
      await waitForOldReplicasGone();
      await apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'pod-identity', namespace: APPS } }]);
    });

    it('the JavaScript and Go SDKs get the association\'s role through the agent; the token the kubelet wrote is bound to the pod and the node, and EKS Auth sees both', async () => {
      await apply([
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'pod-identity', namespace: APPS },
          spec: { serviceAccountName: 'pod-identity', restartPolicy: 'Never', securityContext: { runAsUser: 1000 },
            containers: [container('js', JS_CALLER, { env: stsEnv() }), container('go', GO_CALLER, { env: stsEnv() }), container('claims', PRINT_TOKEN_CLAIMS)],
          },
        },
      ]);
      const done = await waitForPodCompletion(cluster!.controlPlane.admin, APPS, 'pod-identity', 180_000);
      const variables = (done.spec!.containers as { env?: { name: string; value?: string }[] }[])[0]!.env ?? [];
      assert.equal(variables.find((variable) => variable.name === 'AWS_CONTAINER_CREDENTIALS_FULL_URI')?.value, 'http://169.254.170.23/v1/credentials', JSON.stringify(done.spec));
      assert.ok(!variables.some((variable) => variable.name === 'AWS_ROLE_ARN'), 'IRSA variables beside Pod Identity');
      for (const caller of ['js', 'go']) {
        const answer = callerAnswer(await logs(APPS, 'pod-identity', caller));
        assert.match(answer.arn ?? '', /^arn:aws:sts::111122223333:assumed-role\/node-pod-identity\/eks-node-lab-pod-identity-[0-9a-f-]+$/, `${caller}: ${JSON.stringify(answer)}`);
      }
      assert.equal(done.status?.phase, 'Succeeded');

      // The token as the kubelet wrote it, read inside the container from the file the webhook named.
      const podUid = done.metadata!.uid!;
      const claims = JSON.parse((await logs(APPS, 'pod-identity', 'claims')).trim()) as { aud?: string[]; jti?: string; 'kubernetes.io'?: { pod?: { name: string; uid: string }; node?: { name: string; uid: string } } };
      const node = (await cluster!.controlPlane.admin.get(`/api/v1/nodes/${NODE_NAME}`)) as KubeObject;
      assert.deepEqual(claims.aud, ['pods.eks.amazonaws.com']);
      assert.deepEqual(claims['kubernetes.io']?.pod, { name: 'pod-identity', uid: podUid });
      assert.deepEqual(claims['kubernetes.io']?.node, { name: NODE_NAME, uid: node.metadata!.uid });
      assert.match(claims.jti ?? '', /^[0-9a-f-]{36}$/);
      const seen = await lab!.sts.lineWhere('EKS Auth logging the pod identity grant', (line) => line.event === 'eks-auth' && line.pod === 'pod-identity', 10_000);
      assert.equal(seen.node, NODE_NAME);
      assert.equal(seen.nodeUid, node.metadata!.uid);
      // The agent named its node too, and EKS Auth found the kubelet's token bound to it.
      assert.equal(seen.eksNodeName, NODE_NAME);
    });
  });

  describe('the NetworkPolicy', () => {
    it("the chart's NetworkPolicy admitting only the API server's address: the API server still reaches the webhook (the bridge CNI does not enforce policies)", async () => {
      const upgraded = await helm([
        'upgrade', 'piw', CHART, '--namespace', WEBHOOK_NAMESPACE, '--reuse-values',
        '--set', 'networkPolicy.enabled=true', '--set', `networkPolicy.apiServerCIDRs={${environment.nodeIp}/32}`, '--wait', '--timeout', '4m',
      ]);
      assert.equal(upgraded.code, 0, upgraded.stderr);
      const policies = JSON.parse(await kubectl(['-n', WEBHOOK_NAMESPACE, 'get', 'networkpolicy', '-o', 'json'])) as { items: KubeObject[] };
      assert.equal(policies.items.length, 1, 'the chart made no NetworkPolicy');
      const stored = (await cluster!.controlPlane.admin.create(`/api/v1/namespaces/${APPS}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'network-policy-probe' },
        spec: { serviceAccountName: 'app', nodeName: 'no-such-node', containers: [{ name: 'c', image: WORKLOAD_IMAGE }] },
      })) as PodObject;
      const names = envNames(stored);
      assert.ok(names.includes('AWS_ROLE_ARN'), `not mutated: ${names.join(', ')}`);
      const tested = await helm(['test', 'piw', '--namespace', WEBHOOK_NAMESPACE, '--timeout', '3m']);
      assert.equal(tested.code, 0, `${tested.stdout}\n${tested.stderr}`);
    });
  });
});
