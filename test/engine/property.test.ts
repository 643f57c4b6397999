import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ANNOTATION,
  DEFAULT_TOKEN_EXPIRATION_SECONDS,
  MIN_JITTERED_TOKEN_EXPIRATION_SECONDS,
  POD_IDENTITY_LABEL,
} from '../../src/webhook/engine/defaults.js';
import { mutatePod } from '../../src/webhook/engine/mutate.js';
import { holdsToken } from '../../src/webhook/engine/token-volume.js';
import type { PodView } from '../../src/webhook/engine/types.js';
import { optionsArbitrary, podArbitrary, serviceAccountArbitrary } from '../helpers/arbitraries.js';
import { applyPatch } from '../../src/webhook/apply-patch.js';
import { readPod } from '../../src/webhook/read-objects.js';
import { assertOnlyAdditions } from '../helpers/preservation.js';
import { uniquenessViolations } from '../helpers/pod-validation.js';

/** The names of the pod's volumes that hold the token (a projected serviceAccountToken of that audience and path). */
const tokenVolumes = (pod: PodView, audience: string, fileName: string): string[] =>
  (pod.volumes ?? []).filter((volume) => holdsToken(volume, audience, fileName)).map((volume) => volume.name);

const jitterArbitrary = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('mutation engine properties (fast-check)', () => {
  it('the patch always applies, keeps every original field, and a second pass is a no-op (IRSA and Pod Identity)', () => {
    fc.assert(
      fc.property(podArbitrary, serviceAccountArbitrary, optionsArbitrary, jitterArbitrary, jitterArbitrary, (pod, serviceAccount, options, jitter, secondJitter) => {
        const view = readPod(pod);
        assert.ok(view.ok, !view.ok ? view.error : '');
        const first = mutatePod(view.value, serviceAccount, options, jitter);
        const patched = applyPatch(pod, first.patch);
        const marker = `$.metadata.annotations.${options.annotationPrefix}/${ANNOTATION.injectedRoleArn}`;
        assertOnlyAdditions(pod, patched, new Set([marker, `$.metadata.labels.${POD_IDENTITY_LABEL}`]));

        const again = readPod(patched);
        assert.ok(again.ok);
        // Another jitter on the second pass: a re-invocation never changes the lifetime chosen the first time.
        assert.deepEqual(mutatePod(again.value, serviceAccount, options, secondJitter).patch, []);
      }),
      { numRuns: 500 },
    );
  });

  it('never makes a pod the API server would refuse: no repeated volume, mount path or env name, no mount of a missing volume', () => {
    fc.assert(
      fc.property(podArbitrary, serviceAccountArbitrary, optionsArbitrary, jitterArbitrary, (pod, serviceAccount, options, jitter) => {
        const view = readPod(pod);
        assert.ok(view.ok);
        const before = new Set(uniquenessViolations(pod));
        const patched = applyPatch(pod, mutatePod(view.value, serviceAccount, options, jitter).patch);
        const added = uniquenessViolations(patched).filter((violation) => !before.has(violation));
        assert.deepEqual(added, [], 'the patch added violations');
      }),
      { numRuns: 1000 },
    );
  });

  it('every container not skipped ends up with the role, the token file and the mount', () => {
    fc.assert(
      fc.property(podArbitrary, optionsArbitrary, (pod, options) => {
        const serviceAccount = { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' } };
        const view = readPod(pod);
        assert.ok(view.ok);
        const patched = applyPatch(pod, mutatePod(view.value, serviceAccount, options).patch);
        const after = readPod(patched);
        assert.ok(after.ok);
        const skip = new Set(
          (pod.metadata?.annotations?.['eks.amazonaws.com/skip-containers'] ?? '').split(',').map((name) => name.trim()),
        );
        // Whatever they are called, the volumes holding a token for sts.amazonaws.com at `token` are the token: at most one is added.
        const tokens = tokenVolumes(after.value, options.tokenAudience, 'token');
        assert.ok(tokens.length <= Math.max(1, tokenVolumes(view.value, options.tokenAudience, 'token').length), `a second token volume: ${tokens.join(', ')}`);
        const occupied = (c: { volumeMounts?: readonly { name?: string; mountPath?: string }[] }): boolean =>
          c.volumeMounts?.some((m) => !tokens.includes(m.name ?? '') && m.mountPath?.replace(/\/+$/, '') === options.tokenMountPath) ?? false;
        const originals = [...view.value.containers, ...(view.value.initContainers ?? [])];
        for (const [index, c] of [...after.value.containers, ...(after.value.initContainers ?? [])].entries()) {
          const original = originals[index];
          if (skip.has(c.name) || (original && occupied(original))) continue;
          const names = new Set(c.env?.map((variable) => variable.name));
          assert.ok(names.has('AWS_ROLE_ARN') && names.has('AWS_WEB_IDENTITY_TOKEN_FILE'), `container ${c.name} lacks identity env`);
          assert.ok(c.volumeMounts?.some((m) => tokens.includes(m.name ?? '')), `container ${c.name} lacks a mount of the token volume`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('Pod Identity: every container not skipped gets the agent URI, the token file and the mount, never AWS_ROLE_ARN; the token lasts as chosen, jittered only from the default', () => {
    fc.assert(
      fc.property(podArbitrary, optionsArbitrary, jitterArbitrary, (pod, options, jitter) => {
        const serviceAccount = { name: 'app', namespace: 'default', annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/app' }, podIdentity: true };
        const view = readPod(pod);
        assert.ok(view.ok);
        const patched = applyPatch(pod, mutatePod(view.value, serviceAccount, options, jitter).patch) as { spec: { volumes?: Array<{ name: string; projected?: { sources: Array<{ serviceAccountToken: { expirationSeconds: number; audience: string } }> } }> } };
        const after = readPod(patched);
        assert.ok(after.ok);
        const cc = options.containerCredentials;
        const skip = new Set((pod.metadata?.annotations?.['eks.amazonaws.com/skip-containers'] ?? '').split(',').map((name) => name.trim()));
        const clean = (path: string | undefined): string | undefined => path?.replace(/\/+$/, '');
        const tokens = tokenVolumes(after.value, cc.audience, cc.tokenPath);
        assert.ok(tokens.length <= Math.max(1, tokenVolumes(view.value, cc.audience, cc.tokenPath).length), `a second token volume: ${tokens.join(', ')}`);
        const occupied = (c: { volumeMounts?: readonly { name?: string; mountPath?: string }[] }): boolean =>
          (c.volumeMounts?.some((m) => !tokens.includes(m.name ?? '') && clean(m.mountPath) === cc.tokenMountPath) ?? false);
        const originals = [...view.value.containers, ...(view.value.initContainers ?? [])];
        let mutatedAny = false;
        for (const [index, c] of [...after.value.containers, ...(after.value.initContainers ?? [])].entries()) {
          const original = originals[index];
          if (skip.has(c.name) || (original && occupied(original))) continue;
          mutatedAny = true;
          const names = new Set(c.env?.map((variable) => variable.name));
          assert.ok(names.has('AWS_CONTAINER_CREDENTIALS_FULL_URI') && names.has('AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'), `container ${c.name} lacks the container credentials env`);
          const hadRole = original?.env?.some((variable) => variable.name === 'AWS_ROLE_ARN') ?? false;
          assert.equal(names.has('AWS_ROLE_ARN'), hadRole, `container ${c.name}: AWS_ROLE_ARN was injected in Pod Identity mode`);
          assert.ok(c.volumeMounts?.some((m) => tokens.includes(m.name ?? '')), `container ${c.name} lacks a mount of the token volume`);
        }
        if (!mutatedAny) return;
        assert.equal((patched as unknown as { metadata: { labels: Record<string, string> } }).metadata.labels[POD_IDENTITY_LABEL], 'enabled');
        const added = patched.spec.volumes?.find((volume) => tokens.includes(volume.name));
        assert.ok(added, 'the pod lacks the token volume');
        if (tokenVolumes(view.value, cc.audience, cc.tokenPath).length > 0) return;
        const token = added.projected!.sources[0]!.serviceAccountToken;
        assert.equal(token.audience, cc.audience);
        const raw = pod.metadata?.annotations?.['eks.amazonaws.com/token-expiration'];
        const chosen = raw !== undefined && /^\s*\d+\s*$/.test(raw) && Number(raw) <= 2 ** 32 ? Math.max(600, Number(raw)) : options.tokenExpirationSeconds;
        if (chosen === DEFAULT_TOKEN_EXPIRATION_SECONDS) {
          assert.ok(token.expirationSeconds >= MIN_JITTERED_TOKEN_EXPIRATION_SECONDS && token.expirationSeconds <= DEFAULT_TOKEN_EXPIRATION_SECONDS, `jittered ${token.expirationSeconds}`);
        } else {
          assert.equal(token.expirationSeconds, chosen);
        }
      }),
      { numRuns: 500 },
    );
  });
});
