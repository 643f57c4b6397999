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
/** A node role known only to access entries, with a path (which entries carry and sessions do not). */
const ENTRY_NODE_ROLE = `${ROLE_PREFIX}nodes/e2e-entry-nodes`;
/** A STANDARD entry with AmazonEKSViewPolicy on the login namespace, and EKS's default username. */
const VIEWER_ROLE = `${ROLE_PREFIX}e2e-viewer`;
/** Mapped both in aws-auth and by an access entry, differently. */
const BOTH_ROLE = `${ROLE_PREFIX}e2e-both`;
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
      `- rolearn: ${BOTH_ROLE}`,
      '  username: aws-auth-both:{{SessionName}}',
      '  groups: [aws-auth-group]',
      '',
    ].join('\n'),
  },
};

/** What `aws eks describe-access-entry` and `list-associated-access-policies` print for this cluster. */
function described(principalArn: string, type: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const [, account, name] = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principalArn)!;
  return {
    accessEntry: {
      clusterName: CLUSTER_ID,
      principalArn,
      kubernetesGroups: [],
      accessEntryArn: `arn:aws:eks:us-east-1:${account}:access-entry/${CLUSTER_ID}/role/${account}/${name}/4c1f9d7e-2b3a-4e5f-9a8b-7c6d5e4f3a2b`,
      createdAt: '2026-11-20T10:00:00.000000+00:00',
      modifiedAt: '2026-11-20T10:00:00.000000+00:00',
      tags: {},
      type,
      ...fields,
    },
  };
}

const ACCESS_ENTRIES = [
  described(ENTRY_NODE_ROLE, 'EC2_LINUX', { kubernetesGroups: ['system:nodes'], username: 'system:node:{{EC2PrivateDNSName}}' }),
  described(VIEWER_ROLE, 'STANDARD'),
  {
    clusterName: CLUSTER_ID,
    principalArn: VIEWER_ROLE,
    associatedAccessPolicies: [
      { policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', accessScope: { type: 'namespace', namespaces: [NAMESPACE] }, associatedAt: '2026-11-20T10:00:00.000000+00:00', modifiedAt: '2026-11-20T10:00:00.000000+00:00' },
    ],
  },
  described(BOTH_ROLE, 'STANDARD', { username: 'entry-both:{{SessionName}}', kubernetesGroups: ['entry-group'] }),
];

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
      lab = await LabServices.start(cp, issuerPort, [NODE_ROLE, MISNAMED_NODE_ROLE, ENTRY_NODE_ROLE, VIEWER_ROLE, BOTH_ROLE].map((arn) => ({ arn, subject })), { awsAuth: AWS_AUTH });
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

    /** The API server answers 401: the authenticator did not authenticate the role; its log says why. */
    async function refused(roleArn: string, reason: RegExp): Promise<void> {
      const before = lab!.authenticator!.process.lines.length;
      const result = await kubectlAs(roleArn, ['auth', 'whoami', '--output=json']);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /You must be logged in to the server \(Unauthorized\)/);
      const line = await waitFor('the refusal in the log', () => lab!.authenticator!.process.lines.slice(before).find((entry) => entry.event === 'authenticate' && entry.authenticated === false));
      assert.match(String(line.reason), reason);
    }

    /** The mapping that answered the latest login of `username`, from the authenticator's log (written in batches). */
    async function mappedBy(username: string, expected: string): Promise<void> {
      const latest = () => lab!.authenticator!.process.lines.findLast((entry) => entry.event === 'authenticate' && entry.username === username)?.mappedBy;
      await waitFor(`${username} mapped by ${expected}`, () => latest() === expected).catch(() => assert.equal(latest(), expected));
    }

    /**
     * What kube-controller-manager's clusterrole-aggregation controller does (these control planes
     * run none): fill an aggregated ClusterRole (admin, edit, view) with the rules of the
     * ClusterRoles its selectors match, so the built-in roles grant what they grant on a cluster.
     */
    async function aggregateClusterRole(name: string): Promise<void> {
      const role = (await cp.admin.get(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`)) as { aggregationRule?: { clusterRoleSelectors?: Array<{ matchLabels?: Record<string, string> }> } };
      const rules: unknown[] = [];
      for (const selector of role.aggregationRule?.clusterRoleSelectors ?? []) {
        const labels = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`).join(',');
        const list = (await cp.admin.get(`/apis/rbac.authorization.k8s.io/v1/clusterroles?labelSelector=${encodeURIComponent(labels)}`)) as { items?: Array<{ rules?: unknown[] }> };
        for (const item of list.items ?? []) rules.push(...(item.rules ?? []));
      }
      assert.ok(rules.length > 0, `no rules aggregate into ${name}`);
      await cp.admin.expect(200, 'PATCH', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`, { rules }, 'application/merge-patch+json');
    }

    const nodeUser = `system:node:${NODE_NAME}`;
    const sorted = (groups: readonly string[]): string[] => [...groups].sort();

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

    it('CONFIG_MAP (the default): a role known only to access entries is not let in, and a role in both gets its aws-auth mapping', async () => {
      await refused(ENTRY_NODE_ROLE, /arn:aws:iam::111122223333:role\/e2e-entry-nodes is not mapped in aws-auth/);
      const both = await whoami(BOTH_ROLE);
      assert.equal(both.username, `aws-auth-both:${NODE_NAME}`);
      assert.deepEqual(sorted(both.groups), ['aws-auth-group', 'system:authenticated']);
    });

    describe('API_AND_CONFIG_MAP: access entries, then aws-auth', () => {
      before(async () => {
        await lab!.restartAuthenticator({ awsAuth: AWS_AUTH, accessEntries: ACCESS_ENTRIES, authenticationMode: 'API_AND_CONFIG_MAP' });
        await aggregateClusterRole('view');
        // The RBAC standing in for the viewer's AmazonEKSViewPolicy, as `access-entries rbac` prints it.
        const rbac = await runCli(['access-entries', 'rbac', join(cp.dir, 'access-entries.json')]);
        assert.equal(rbac.code, 0, rbac.stderr);
        assert.equal(rbac.stderr, '');
        const applied = await cp.kubectl(['apply', '-f', '-'], { input: rbac.stdout });
        assert.equal(applied.code, 0, applied.stderr);
        assert.match(applied.stdout, /rolebinding\.rbac\.authorization\.k8s\.io\/eks-access-policy:111122223333:role:e2e-viewer:view created/);
      });

      it('an EC2_LINUX entry logs the node role in as system:node:NAME in system:nodes, and the Node authorizer lets it get its Node', async () => {
        const user = await whoami(ENTRY_NODE_ROLE);
        assert.equal(user.username, nodeUser);
        assert.deepEqual(sorted(user.groups), ['system:authenticated', 'system:nodes']);
        assert.deepEqual(user.extra?.canonicalArn, [`${ROLE_PREFIX}e2e-entry-nodes`], 'the session carries no path; the entry has it');
        await mappedBy(nodeUser, `access entry ${ENTRY_NODE_ROLE}`);
        const got = await kubectlAs(ENTRY_NODE_ROLE, ['get', 'node', NODE_NAME, '--output=name']);
        assert.equal(got.code, 0, got.stderr);
        assert.equal(got.stdout.trim(), `node/${NODE_NAME}`);
        const canI = await kubectlAs(ENTRY_NODE_ROLE, ['auth', 'can-i', 'get', `nodes/${NODE_NAME}`]);
        assert.equal(canI.stdout.trim(), 'yes', canI.stderr);
        const other = await kubectlAs(ENTRY_NODE_ROLE, ['auth', 'can-i', 'delete', 'namespaces']);
        assert.match(other.stdout.trim(), /^no/, 'a node is not an administrator');
      });

      it('an entry overrides the aws-auth mapping of the same principal; aws-auth still serves the others', async () => {
        const both = await whoami(BOTH_ROLE);
        assert.equal(both.username, `entry-both:${NODE_NAME}`);
        assert.deepEqual(sorted(both.groups), ['entry-group', 'system:authenticated']);
        await mappedBy(`entry-both:${NODE_NAME}`, `access entry ${BOTH_ROLE}`);
        const legacy = await whoami(NODE_ROLE);
        assert.equal(legacy.username, nodeUser);
        await mappedBy(nodeUser, 'mapRoles[0]');
      });

      it("a STANDARD entry with AmazonEKSViewPolicy on the namespace (as access-entries rbac's RoleBinding) can list pods there, not delete them, and nothing elsewhere", async () => {
        const user = await whoami(VIEWER_ROLE);
        assert.equal(user.username, `arn:aws:sts::111122223333:assumed-role/e2e-viewer/${NODE_NAME}`, "EKS's default username for a role");
        assert.deepEqual(sorted(user.groups), [`eks-access-entry:${VIEWER_ROLE}`, 'system:authenticated']);
        const pods = await kubectlAs(VIEWER_ROLE, ['get', 'pods', '--namespace', NAMESPACE, '--output=name']);
        assert.equal(pods.code, 0, pods.stderr);
        assert.equal(pods.stdout.trim(), 'pod/node-agent');
        const deleted = await kubectlAs(VIEWER_ROLE, ['delete', 'pod', 'node-agent', '--namespace', NAMESPACE, '--wait=false']);
        assert.equal(deleted.code, 1, deleted.stdout);
        assert.match(deleted.stderr, /pods "node-agent" is forbidden: User "arn:aws:sts::111122223333:assumed-role\/e2e-viewer\/[^"]+" cannot delete resource "pods" in API group "" in the namespace "login"/);
        const elsewhere = await kubectlAs(VIEWER_ROLE, ['get', 'pods', '--namespace', 'default']);
        assert.equal(elsewhere.code, 1, 'the scope is the login namespace only');
        await cp.admin.get(`/api/v1/namespaces/${NAMESPACE}/pods/node-agent`); // still there
      });
    });

    describe('API: access entries only', () => {
      before(async () => {
        await lab!.restartAuthenticator({ awsAuth: AWS_AUTH, accessEntries: ACCESS_ENTRIES, authenticationMode: 'API' });
        await lab!.authenticator!.process.line('aws-auth-ignored');
      });

      it('a role mapped only in aws-auth is locked out; the entries keep working, and win over aws-auth', async () => {
        await refused(NODE_ROLE, /arn:aws:iam::111122223333:role\/e2e-nodes has no access entry \(authentication mode API: aws-auth is not read\)/);
        assert.equal((await whoami(ENTRY_NODE_ROLE)).username, nodeUser);
        const got = await kubectlAs(ENTRY_NODE_ROLE, ['get', 'node', NODE_NAME, '--output=name']);
        assert.equal(got.code, 0, got.stderr);
        assert.equal((await whoami(BOTH_ROLE)).username, `entry-both:${NODE_NAME}`);
        const pods = await kubectlAs(VIEWER_ROLE, ['auth', 'can-i', 'list', 'pods', '--namespace', NAMESPACE]);
        assert.equal(pods.stdout.trim(), 'yes', pods.stderr);
        const remove = await kubectlAs(VIEWER_ROLE, ['auth', 'can-i', 'delete', 'pods', '--namespace', NAMESPACE]);
        assert.match(remove.stdout.trim(), /^no/);
      });

      it('lint-aws-auth --to-access-entries says the aws-auth-only roles are the ones API locks out', async () => {
        const lint = await runCli(['lint-aws-auth', join(cp.dir, 'aws-auth.yaml'), '--to-access-entries', '--access-entries', join(cp.dir, 'access-entries.json'), '--output', 'json']);
        const report = (JSON.parse(lint.stdout) as { accessEntries: { conversions: Array<{ where: string; outcomes: Array<{ kind: string }> }> } }).accessEntries;
        assert.deepEqual(
          report.conversions.map((conversion) => [conversion.where, conversion.outcomes.map((outcome) => outcome.kind).join()]),
          [
            ['mapRoles[0]', 'entry'],
            ['mapRoles[1]', 'none'],
            ['mapRoles[2]', 'existing'],
          ],
          'the node role would get an EC2_LINUX entry, the misnamed one none, the role in both already has one',
        );
      });
    });
  });
}
