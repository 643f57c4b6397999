import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_PREFIX } from '../../src/authenticator/token.js';
import { runCli } from '../helpers/cli.js';
import { CLI } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { kubernetesReleases } from './support/components.js';
import { ControlPlane } from './support/control-plane.js';
import { CLUSTER_ID, LabServices } from './support/lab-services.js';
import { createNamespace, createPod, createServiceAccount, podManifest, ROLE_PREFIX } from './support/pods.js';
import { freePort, isLoopback, listeningAddresses } from './support/processes.js';
import { serviceAccountToken } from './support/webhook.js';

const NODE_ROLE = `${ROLE_PREFIX}e2e-nodes`;
const MISNAMED_NODE_ROLE = `${ROLE_PREFIX}e2e-nodes-misnamed`;
const NAMESPACE = 'login';
/** The kubelet's identity: the role session name, which the lab's {{EC2PrivateDNSName}} expands to. */
const NODE_NAME = 'ip-10-0-1-7.ec2.internal';

/** aws-auth: the node role as EKS maps it, and the same kind of role with a username the Node authorizer does not know. */
const AWS_AUTH = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'aws-auth', namespace: 'kube-system' },
  data: {
    mapRoles: [
      `- rolearn: ${NODE_ROLE}`,
      '  username: system:node:{{EC2PrivateDNSName}}',
      '  groups: [system:bootstrappers, system:nodes]',
      `- rolearn: ${MISNAMED_NODE_ROLE}`,
      '  username: eks-node:{{SessionName}}',
      '  groups: [system:bootstrappers, system:nodes]',
      '',
    ].join('\n'),
  },
};

interface WhoAmI {
  status: { userInfo: { username: string; groups: string[]; extra?: Record<string, string[]> } };
}

for (const release of kubernetesReleases()) {
  describe(`cluster login on a real kube-apiserver ${release.version}: token-exec → the API server → the authenticator → aws-auth → Node authorizer`, function () {
    this.timeout(180_000);
    let controlPlane: ControlPlane | undefined;
    let lab: LabServices | undefined;
    let cp: ControlPlane;
    let webIdentityTokenFile: string;

    before(async () => {
      const issuerPort = await freePort();
      controlPlane = await ControlPlane.prepare(release, issuerPort);
      cp = controlPlane;
      const subject = `system:serviceaccount:${NAMESPACE}:node-agent`;
      lab = await LabServices.start(cp, issuerPort, [{ arn: NODE_ROLE, subject }, { arn: MISNAMED_NODE_ROLE, subject }], { awsAuth: AWS_AUTH });
      await cp.start({ authenticationWebhook: { url: lab.authenticator!.url, caCert: lab.authenticator!.caCert } });
      await createNamespace(cp.admin, NAMESPACE);
      await createServiceAccount(cp.admin, NAMESPACE, 'node-agent');
      const pod = await createPod(cp.admin, NAMESPACE, podManifest('node-agent', 'node-agent'));
      // The web identity behind the login: a real token of this API server, as a pod's projected volume holds it.
      webIdentityTokenFile = join(cp.dir, 'web-identity-token');
      writeFileSync(
        webIdentityTokenFile,
        await serviceAccountToken(cp, NAMESPACE, 'node-agent', {
          audiences: ['sts.amazonaws.com'],
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'node-agent', uid: pod.metadata?.uid },
        }),
      );
      await cp.admin.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME } });
    });
    after(async () => {
      await lab?.stop();
      await controlPlane?.stop();
    });

    /** The AWS environment token-exec runs in: nothing but the web identity and the lab STS. */
    function awsEnvironment(roleArn: string): Record<string, string> {
      return {
        AWS_ROLE_ARN: roleArn,
        AWS_WEB_IDENTITY_TOKEN_FILE: webIdentityTokenFile,
        AWS_ROLE_SESSION_NAME: NODE_NAME,
        AWS_ENDPOINT_URL_STS: lab!.stsUrl,
        AWS_REGION: 'us-east-1',
        AWS_CONFIG_FILE: join(cp.dir, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(cp.dir, 'no-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
      };
    }

    /** kubectl with a kubeconfig whose user runs `token-exec` (users[].user.exec), as a user would log in. */
    function kubectlAs(roleArn: string, args: readonly string[]): ReturnType<ControlPlane['kubectl']> {
      const kubeconfig = cp.writeKubeconfig(`exec-${roleArn.split('/').pop() ?? ''}`, {
        exec: { command: process.execPath, args: [CLI, 'token-exec', '--cluster-id', CLUSTER_ID], env: awsEnvironment(roleArn) },
      });
      // No AWS_* variables from this process leak into the plugin's environment.
      return cp.kubectl(args, { kubeconfig, env: { PATH: process.env.PATH, HOME: cp.dir } });
    }

    async function whoami(roleArn: string): Promise<WhoAmI['status']['userInfo']> {
      const result = await kubectlAs(roleArn, ['auth', 'whoami', '--output=json']);
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as WhoAmI).status.userInfo;
    }

    it('the lab issuer, STS and authenticator listen on loopback only', () => {
      for (const service of lab!.processes) {
        const addresses = listeningAddresses(service.child.pid!);
        assert.ok(addresses.length > 0);
        assert.deepEqual(addresses.filter((address) => !isLoopback(address)), [], `${service.child.spawnargs.slice(2, 3).join(' ')}: ${addresses.join(', ')}`);
      }
    });

    it('kubectl with a token-exec user logs in as the user aws-auth maps the role to (kubectl auth whoami)', async () => {
      const user = await whoami(NODE_ROLE);
      assert.equal(user.username, `system:node:${NODE_NAME}`);
      assert.deepEqual([...user.groups].sort(), ['system:authenticated', 'system:bootstrappers', 'system:nodes']);
      assert.deepEqual(user.extra?.canonicalArn, [NODE_ROLE]);
      assert.deepEqual(user.extra?.sessionName, [NODE_NAME]);
    });

    it('the Node authorizer lets system:node:NAME in system:nodes get its own Node', async () => {
      const got = await kubectlAs(NODE_ROLE, ['get', 'node', NODE_NAME, '--output=name']);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout.trim(), `node/${NODE_NAME}`);
      const canI = await kubectlAs(NODE_ROLE, ['auth', 'can-i', 'get', `nodes/${NODE_NAME}`]);
      assert.equal(canI.stdout.trim(), 'yes', canI.stderr);
    });

    it('the same kind of role mapped to another username (the classic aws-auth mistake) is refused, and lint-aws-auth says so', async () => {
      const user = await whoami(MISNAMED_NODE_ROLE);
      assert.equal(user.username, `eks-node:${NODE_NAME}`);
      assert.ok(user.groups.includes('system:nodes'));
      const got = await kubectlAs(MISNAMED_NODE_ROLE, ['get', 'node', NODE_NAME, '--output=name']);
      assert.equal(got.code, 1, got.stdout);
      assert.match(got.stderr, new RegExp(`nodes "${NODE_NAME.replace(/\./g, '\\.')}" is forbidden: User "eks-node:${NODE_NAME.replace(/\./g, '\\.')}" cannot get resource "nodes"`));
      const lint = await runCli(['lint-aws-auth', join(cp.dir, 'aws-auth.yaml')]);
      assert.equal(lint.code, 1);
      assert.match(lint.stdout, /error \[node-role-username\] mapRoles\[1\]/);
      assert.doesNotMatch(lint.stdout, /mapRoles\[0\]/);
    });

    it('a tampered token gets 401 from the API server; the same token untampered is accepted', async () => {
      const exec = await runCli(['token-exec', '--cluster-id', CLUSTER_ID], { env: { PATH: process.env.PATH, HOME: cp.dir, ...awsEnvironment(NODE_ROLE) } });
      assert.equal(exec.code, 0, exec.stderr);
      const token = (JSON.parse(exec.stdout) as { status: { token: string } }).status.token;
      const url = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString();
      const tampered = TOKEN_PREFIX + Buffer.from(url.replace(/X-Amz-Signature=([0-9a-f])/, (_match, first: string) => `X-Amz-Signature=${first === 'a' ? 'b' : 'a'}`)).toString('base64url');
      assert.notEqual(tampered, token);
      const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' };
      const refused = await cp.client({ token: tampered }).request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', review);
      assert.equal(refused.status, 401, refused.text);
      const accepted = await cp.client({ token }).request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', review);
      assert.equal(accepted.status, 201, accepted.text);
      const reasons = await waitFor('the authenticator to log its refusal', () => {
        const lines = lab!.authenticator!.process.lines.filter((line) => line.event === 'authenticate' && line.authenticated === false);
        return lines.length > 0 ? lines : undefined;
      });
      assert.match(String(reasons.at(-1)?.reason), /SignatureDoesNotMatch/);
    });
  });
}
