import assert from 'node:assert/strict';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { signRequest } from '../../src/shared/aws/presign.js';
import { CLUSTER, type PodIdentityLab, type PodIdentityLabOptions, REGION, startPodIdentityLab } from '../helpers/pod-identity-lab.js';

/** One raw HTTP/1.1 exchange (a socket, so repeated headers reach the server as they were written). */
function rawExchange(port: number, head: string, timeoutMs = 5000): Promise<{ response: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closed: false });
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, closed: true });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(head);
  });
}

/** GET /v1/credentials through node:http with the token, from 127.0.0.1. */
function agentAnswer(port: number, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/credentials', headers: { authorization: token }, timeout: 20_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('the agent did not answer within 20 s')));
    req.on('error', reject);
    req.end();
  });
}

/** `[ID]: (CODE): MESSAGE, fault: F` as the agent passes EKS Auth's errors on. */
function upstreamCode(body: string): string | undefined {
  return /^\[[0-9a-f-]*\]: \((\w+)\): /.exec(body)?.[1];
}

describe('the lab agent and EKS Auth against hostile input', function () {
  this.timeout(60_000);
  let lab: PodIdentityLab | undefined;
  const start = async (options: PodIdentityLabOptions = {}): Promise<PodIdentityLab> => {
    lab = await startPodIdentityLab(options);
    return lab;
  };
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  describe('an EKS Auth answer without end', () => {
    const LIMIT = 256 * 1024 * 1024;
    let flood: Server;
    let sent = 0;
    let declareLength = false;
    let origin = '';
    before(async () => {
      flood = createHttpServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(LIMIT) } : {}) });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const started = Date.now();
        const pump = (): void => {
          // 256 MiB or 20 s at most, however long the agent keeps reading.
          while (sent < LIMIT && Date.now() - started < 20_000) {
            sent += chunk.length;
            if (!res.write(chunk)) return;
          }
          res.end();
        };
        res.on('drain', pump);
        pump();
      });
      await new Promise<void>((resolve) => flood.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(flood.address() as AddressInfo).port}`;
    });
    after(() => {
      flood.closeAllConnections();
      flood.close();
    });

    for (const declared of [false, true]) {
      it(`is cut off at 64 KiB: the agent answers 500 at once, the stand-in sends a few MiB at most (content-length ${declared ? 'declared' : 'absent'})`, async () => {
        sent = 0;
        declareLength = declared;
        const running = await start({ eksAuthUrl: origin, eksAuthTimeoutMs: 15_000 });
        const started = performance.now();
        const answer = await agentAnswer(running.agent.port, await running.mint());
        const elapsed = performance.now() - started;
        assert.deepEqual(answer, { status: 500, body: 'EKS Auth answered with more than 65536 bytes\n' });
        assert.ok(elapsed < 5000, `the agent answered after ${elapsed.toFixed(0)} ms`);
        assert.ok(sent < 16 * 1024 * 1024, `the stand-in sent ${sent} bytes before the agent hung up`);
      });
    }
  });

  describe('the Host header', () => {
    it('two Host headers are refused with 400 as Go’s net/http does, even when the first is the agent’s address', async () => {
      const running = await start();
      const token = await running.mint();
      const head = (hosts: readonly string[]): string =>
        `GET /v1/credentials HTTP/1.1\r\n${hosts.map((host) => `Host: ${host}\r\n`).join('')}Authorization: ${token}\r\n\r\n`;
      const single = await rawExchange(running.agent.port, `${head(['169.254.170.23']).slice(0, -2)}Connection: close\r\n\r\n`);
      assert.match(single.response, /^HTTP\/1\.1 200 /, 'one good Host header is served');
      const calls = running.eksAuthCalls();
      for (const hosts of [['169.254.170.23', 'attacker.example'], ['169.254.170.23', '169.254.170.23'], ['attacker.example', '169.254.170.23']]) {
        const { response, closed } = await rawExchange(running.agent.port, head(hosts));
        assert.match(response, /^HTTP\/1\.1 400 Bad Request\r\n/, `${hosts.join(', ')}: ${response.slice(0, 200)}`);
        assert.match(response, /\r\ncontent-type: text\/plain; charset=utf-8\r\n/i);
        assert.match(response, /\r\nconnection: close\r\n/i);
        assert.ok(response.endsWith('\r\n\r\n400 Bad Request'), response);
        assert.ok(closed, 'the agent closes the connection, as Go does');
      }
      assert.equal(running.eksAuthCalls(), calls, 'no request with two Host headers reached EKS Auth');
    });
  });

  describe("the request's node fields (eksNodeName, instanceId, zone)", () => {
    /** One AssumeRoleForPodIdentity call with this exact body, signed with the node role as the agent signs. */
    const eksAuthCall = async (running: PodIdentityLab, body: string): Promise<{ status: number; type: string | null; message: string }> => {
      const url = new URL(`${running.sts.url}/clusters/${CLUSTER}/assume-role-for-pod-identity`);
      const headers = await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, credentials: await running.nodeCredentials(), region: REGION, service: 'eks-auth' });
      delete headers.host;
      const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(20_000) });
      const text = await response.text();
      return { status: response.status, type: response.headers.get('x-amzn-errortype'), message: (JSON.parse(text) as { message?: string }).message ?? '' };
    };

    it('a valid node name, instance id (8 or 17 hex digits) and zone id pass; null is absent', async () => {
      const running = await start();
      for (const fields of [
        { eksNodeName: 'ip-10-0-1-7.ec2.internal', instanceId: 'i-0123456789abcdef0', zone: 'use1-az1' },
        { eksNodeName: 'a'.repeat(63), instanceId: 'i-0123abcd', zone: 'use1-lax1-az1' },
        { eksNodeName: null, instanceId: null, zone: 'usw2-wl1-las-wlz1' },
      ]) {
        const answer = await eksAuthCall(running, JSON.stringify({ token: await running.mint(), ...fields }));
        assert.equal(answer.status, 200, `${JSON.stringify(fields)}: ${answer.type} ${answer.message}`);
      }
      assert.equal(running.grants.length, 3);
      assert.deepEqual(running.grants[2]!.node, { zone: 'usw2-wl1-las-wlz1' });
    });

    it('a field that is not a string is an InvalidRequestException; one of the wrong shape or length an InvalidParameterException that does not echo it; no credentials for either', async () => {
      const running = await start();
      const token = await running.mint();
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ eksNodeName: 7 }, 'InvalidRequestException'],
        [{ instanceId: ['i-0123abcd'] }, 'InvalidRequestException'],
        [{ zone: { id: 'use1-az1' } }, 'InvalidRequestException'],
        [{ eksNodeName: true }, 'InvalidRequestException'],
        [{ eksNodeName: '' }, 'InvalidParameterException'],
        [{ eksNodeName: 'Node_A' }, 'InvalidParameterException'],
        [{ eksNodeName: `${'a'.repeat(250)}.bcd` }, 'InvalidParameterException'],
        [{ eksNodeName: 'node-a\n{"event":"forged"}' }, 'InvalidParameterException'],
        [{ instanceId: 'i-123' }, 'InvalidParameterException'],
        [{ instanceId: 'i-0123456789ABCDEF0' }, 'InvalidParameterException'],
        [{ instanceId: 'i-0123456789abcdef0 ' }, 'InvalidParameterException'],
        [{ instanceId: `i-${'0'.repeat(40_000)}` }, 'InvalidParameterException'],
        [{ zone: 'us-east-1a' }, 'InvalidParameterException'],
        [{ zone: 'euw3-az' }, 'InvalidParameterException'],
        [{ zone: `use1-${'x1-'.repeat(30)}az1` }, 'InvalidParameterException'],
      ];
      for (const [fields, code] of cases) {
        const answer = await eksAuthCall(running, JSON.stringify({ token, ...fields }));
        const what = JSON.stringify(fields).slice(0, 60);
        assert.equal(answer.status, 400, `${what}: ${answer.message}`);
        assert.equal(answer.type, code, `${what}: ${answer.message}`);
        for (const value of Object.values(fields)) {
          if (typeof value === 'string' && value.length > 0) assert.ok(!answer.message.includes(value), `${what}: the message echoes the value: ${answer.message}`);
        }
      }
      // A body over the 64 KiB limit is refused before it is read as JSON.
      const huge = await eksAuthCall(running, JSON.stringify({ token, eksNodeName: 'a'.repeat(70_000) }));
      assert.equal(huge.type, 'InvalidRequestException');
      assert.equal(running.grants.length, 0);
    });
  });

  describe("EKS Auth applies the STS's rules to what the token says", () => {
    /** A pod token with any claims, signed by the cluster issuer's key. */
    const signed = (running: PodIdentityLab, claims: Record<string, unknown>): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: running.key.kid }).sign(running.key.privateKey!);
    const podClaims = (running: PodIdentityLab, overrides: Record<string, unknown> = {}, pod: { name?: string; uid?: string } = {}): Record<string, unknown> => {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: running.issuer.issuer,
        sub: 'system:serviceaccount:default:app',
        aud: ['pods.eks.amazonaws.com'],
        iat: now,
        nbf: now,
        exp: now + 3600,
        'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'app', uid: 'sa-uid' }, pod: { name: pod.name ?? 'app-1', uid: pod.uid ?? 'pod-uid' } },
        ...overrides,
      };
    };

    it('a token issued a year ahead (iat) is refused as the STS refuses it; 29 s ahead passes (the same 30 s tolerance)', async () => {
      const running = await start();
      const now = Math.floor(Date.now() / 1000);
      const ahead = await agentAnswer(running.agent.port, await signed(running, podClaims(running, { iat: now + 365 * 86400, nbf: now })));
      assert.equal(ahead.status, 400, ahead.body);
      assert.equal(upstreamCode(ahead.body), 'InvalidTokenException', ahead.body);
      const late = await agentAnswer(running.agent.port, await signed(running, podClaims(running, { iat: now + 60 })));
      assert.equal(upstreamCode(late.body), 'InvalidTokenException', late.body);
      const skewed = await agentAnswer(running.agent.port, await signed(running, podClaims(running, { iat: now + 29 })));
      assert.equal(skewed.status, 200, skewed.body);
    });

    it('the node a 1.32+ API server names in the token (kubernetes.io.node) reaches the grant; a node claim without a string name and uid is refused', async () => {
      const running = await start();
      const bound = (node: unknown): Record<string, unknown> => {
        const claims = podClaims(running);
        return { ...claims, 'kubernetes.io': { ...(claims['kubernetes.io'] as Record<string, unknown>), node } };
      };
      const answer = await agentAnswer(running.agent.port, await signed(running, bound({ name: 'node-a', uid: 'node-uid' })));
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(running.grants.at(-1)?.subject.node, { name: 'node-a', uid: 'node-uid' });
      const grants = running.grants.length;
      for (const node of [{ name: 'node-a' }, { name: 7, uid: 'u' }, 'node-a', null]) {
        const refused = await agentAnswer(running.agent.port, await signed(running, bound(node)));
        assert.equal(upstreamCode(refused.body), 'InvalidTokenException', `${JSON.stringify(node)}: ${refused.body}`);
      }
      assert.equal(running.grants.length, grants, 'no credentials were issued for them');
    });

    it('a pod name that would make a session tag value longer than 256 characters is refused; 256 passes', async () => {
      const running = await start();
      const longest = await agentAnswer(running.agent.port, await signed(running, podClaims(running, {}, { name: 'a'.repeat(256) })));
      assert.equal(longest.status, 200, longest.body);
      assert.equal(running.grants.at(-1)?.tags.find((tag) => tag.key === 'kubernetes-pod-name')?.value.length, 256);
      const grants = running.grants.length;
      for (const pod of [{ name: 'a'.repeat(257) }, { uid: 'u'.repeat(300) }, { name: `${'a'.repeat(70)}<1>` }, { name: 'x'.repeat(5_000) }]) {
        const answer = await agentAnswer(running.agent.port, await signed(running, podClaims(running, {}, pod)));
        assert.equal(answer.status, 400, `${JSON.stringify(pod).slice(0, 60)}: ${answer.body}`);
        assert.equal(upstreamCode(answer.body), 'InvalidTokenException', answer.body);
      }
      assert.equal(running.grants.length, grants, 'no credentials were issued for them');
    });
  });
});
