import assert from 'node:assert/strict';
import { CredentialsCache, type CacheState } from '../../src/lab/pod-identity/agent-cache.js';
import { EksAuthApiError, EksAuthTransportError, type PodCredentials } from '../../src/lab/pod-identity/eks-auth-client.js';

const HOUR = 3600_000;

/** A cache over a scripted EKS Auth, on a clock the test moves. */
function harness(options: { maxSize?: number; renewAfterMs?: number } = {}) {
  let now = 1_000_000_000_000;
  let issued = 0;
  const script: Array<(token: string) => PodCredentials | Error> = [];
  const calls: string[] = [];
  const states: CacheState[] = [];
  const errors: string[] = [];
  const credentials = (lifetimeMs: number): PodCredentials => {
    issued += 1;
    return { accessKeyId: `ASIA${issued}`, secretAccessKey: 's', sessionToken: 't', accountId: '111122223333', expiration: new Date(now + lifetimeMs) };
  };
  const cache = new CredentialsCache(
    { maxSize: options.maxSize ?? 2000, renewAfterMs: options.renewAfterMs ?? 3 * HOUR, retryAfterMs: 60_000, now: () => now, random: () => 0 },
    async (token) => {
      calls.push(token);
      const next = script.shift() ?? (() => credentials(6 * HOUR));
      const result = next(token);
      if (result instanceof Error) throw result;
      return result;
    },
    { state: (state) => states.push(state), error: (type, code) => errors.push(`${type}:${code}`) },
  );
  return {
    cache,
    calls,
    states,
    errors,
    script,
    credentials,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const apiError = (code: string, status = 400): EksAuthApiError => new EksAuthApiError(status, code, 'id', 'message');

describe('the lab agent credentials cache (the real agent rules)', () => {
  it('serves a token from the cache until min(remaining, 3 h), then fetches again', async () => {
    const h = harness();
    const first = await h.cache.get('A');
    assert.equal((await h.cache.get('A')).accessKeyId, first.accessKeyId);
    h.advance(3 * HOUR - 1);
    assert.equal((await h.cache.get('A')).accessKeyId, first.accessKeyId);
    h.advance(1);
    assert.notEqual((await h.cache.get('A')).accessKeyId, first.accessKeyId);
    assert.deepEqual(h.calls, ['A', 'A']);
    assert.deepEqual(h.states, ['miss', 'hit', 'hit', 'miss']);
  });

  it('credentials with 15 s or less left are not served, and fetched ones that short are refused', async () => {
    const h = harness();
    h.script.push(() => h.credentials(60_000));
    await h.cache.get('A');
    h.advance(45_000);
    await h.cache.get('A');
    assert.equal(h.calls.length, 2, '15 s left: fetched again');
    h.script.push(() => h.credentials(15_000));
    await assert.rejects(h.cache.get('B'), /fetched credentials are expired or will expire within the next 15 seconds/);
  });

  it('an irrecoverable EKS Auth error drops the entry; errors are never cached', async () => {
    for (const code of ['ResourceNotFoundException', 'ExpiredTokenException', 'InvalidTokenException', 'AccessDeniedException']) {
      const h = harness({ renewAfterMs: 60_000 });
      await h.cache.get('A');
      h.advance(60_000);
      h.script.push(() => apiError(code));
      await assert.rejects(h.cache.get('A'), (error: Error) => error instanceof EksAuthApiError && error.code === code);
      assert.equal(h.cache.size, 0, code);
      assert.ok(h.states.includes('evicted'));
      await h.cache.get('A');
      assert.equal(h.calls.length, 3, `${code}: the next request asks EKS Auth again`);
    }
  });

  it('a recoverable failure keeps serving the old credentials and retries after a minute', async () => {
    const h = harness({ renewAfterMs: 60_000 });
    const first = await h.cache.get('A');
    h.advance(60_000);
    h.script.push(() => apiError('ThrottlingException', 429));
    assert.equal((await h.cache.get('A')).accessKeyId, first.accessKeyId);
    assert.equal((await h.cache.get('A')).accessKeyId, first.accessKeyId, 'served from the cache during the retry delay');
    assert.equal(h.calls.length, 2);
    h.advance(60_000);
    h.script.push(() => new EksAuthTransportError('EKS Auth did not answer within 1000 ms'));
    assert.equal((await h.cache.get('A')).accessKeyId, first.accessKeyId);
    assert.deepEqual(h.errors, ['Recoverable:ThrottlingException', 'Recoverable:Transport']);
    h.advance(60_000);
    assert.notEqual((await h.cache.get('A')).accessKeyId, first.accessKeyId);
  });

  it('a recoverable failure without usable old credentials is passed on', async () => {
    const h = harness();
    h.script.push(() => apiError('InternalServerException', 500));
    await assert.rejects(h.cache.get('A'), /message/);
    assert.equal(h.cache.size, 0);
  });

  it('keeps at most --max-cache-size tokens, dropping the least recently used', async () => {
    const h = harness({ maxSize: 2 });
    await h.cache.get('A');
    await h.cache.get('B');
    await h.cache.get('A');
    await h.cache.get('C');
    assert.equal(h.cache.size, 2);
    await h.cache.get('A');
    await h.cache.get('B');
    assert.deepEqual(h.calls, ['A', 'B', 'C', 'B'], 'B was the least recently used');
  });

  it('concurrent misses for one token share one call; 0 turns caching off', async () => {
    const h = harness();
    await Promise.all([h.cache.get('A'), h.cache.get('A'), h.cache.get('A')]);
    assert.equal(h.calls.length, 1);
    const off = harness({ maxSize: 0 });
    await off.cache.get('A');
    await off.cache.get('A');
    assert.equal(off.calls.length, 2);
  });

  it('lists the entries due for renewal, for the background renewer', async () => {
    const h = harness({ renewAfterMs: 60_000 });
    await h.cache.get('A');
    assert.deepEqual(h.cache.due(), []);
    h.advance(60_000);
    assert.deepEqual(h.cache.due(), ['A']);
    await h.cache.refresh('A');
    assert.deepEqual(h.cache.due(), []);
  });
});
