import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readAwsAuth } from '../../src/authenticator/aws-auth.js';
import { parseClusterToken } from '../../src/authenticator/token.js';
import { parseCompactJwt } from '../../src/shared/jwt.js';
import { parseLabConfig } from '../../src/lab/sts/config.js';
import { formPairs, SigV4Error } from '../../src/shared/aws/sigv4.js';
import { evaluateTrustPolicy, parseTrustPolicy } from '../../src/shared/aws/iam-policy.js';
import { evaluatePermissions, parsePermissionPolicy } from '../../src/shared/aws/iam-permissions.js';
import { parseRoleMapping } from '../../src/webhook/serviceaccounts/role-mapping.js';
import { assertBounded } from '../helpers/bounded.js';

/**
 * Every parser of untrusted text, fuzzed: it answers (a value or a refusal it was written to give)
 * and never throws anything else, within time and heap bounds, whatever the input.
 */
const BOUNDS = { milliseconds: 200, heapBytes: 64 * 1024 * 1024 };

const policyFragments = fc.constantFrom(
  '{', '}', '[', ']', ',', ':', '"Version"', '"2012-10-17"', '"Statement"', '"Effect"', '"Allow"', '"Deny"', '"Principal"', '"*"',
  '{"AWS":"*"}', '"Action"', '"sts:*"', '"NotAction"', '"Condition"', '"StringLike"', '"Null"', '"ArnLike"', '"ForAnyValue:StringEquals"',
  '"p:sub"', '"aws:FederatedProvider"', '"${*}"', '"${aws:PrincipalArn, \'x\'}"', '"${"', 'true', '1', 'null', '"Sid"', '"A"',
  '"Resource"', '"NotResource"', '"arn:aws:s3:::b/*"', '"NumericLessThan"', '"DateGreaterThan"', '"2026-01-01"', '"IpAddress"', '"10.0.0.0/8"',
  '"Bool"', '"BinaryEquals"', '"QUJD"', '"ForAllValues:NotIpAddress"', '"aws:SourceIp"', '"StringEqualsIfExists"',
);
const policyText = fc.oneof(fc.array(policyFragments, { maxLength: 80 }).map((parts) => parts.join('')), fc.json({ maxDepth: 6 }), fc.string({ maxLength: 300 }));

describe('parsers of untrusted text never throw and stay bounded (fuzzed)', () => {
  it('trust policies as JSON text, parsed and evaluated', () => {
    fc.assert(
      fc.property(policyText, fc.string({ maxLength: 50 }), (text, sub) => {
        assertBounded(() => {
          const parsed = parseTrustPolicy(text);
          if (parsed.ok) {
            evaluateTrustPolicy(parsed.value, { action: 'sts:AssumeRoleWithWebIdentity', principal: { type: 'Federated', ids: ['x'] }, context: new Map([['p:sub', [sub]]]) });
          } else {
            assert.equal(typeof parsed.error, 'string');
          }
        }, BOUNDS);
      }),
      { numRuns: 500 },
    );
  });

  it('permission policies as JSON text, parsed and evaluated', () => {
    fc.assert(
      fc.property(policyText, fc.string({ maxLength: 50 }), (text, value) => {
        assertBounded(() => {
          const parsed = parsePermissionPolicy(text);
          if (parsed.ok) {
            const context = new Map([['aws:sourceip', [value]], ['p:sub', [value]]]);
            evaluatePermissions({ identityPolicies: [{ id: 'p', policy: parsed.value }], boundary: { id: 'b', policy: parsed.value } }, { action: 's3:GetObject', resource: `arn:aws:s3:::b/${value}`, context });
          } else {
            assert.equal(typeof parsed.error, 'string');
          }
        }, BOUNDS);
      }),
      { numRuns: 500 },
    );
  });

  it('lab configs and role mappings as values', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.string({ maxLength: 200 }), (value, text) => {
        assertBounded(() => {
          parseLabConfig(value);
          parseLabConfig({ providers: [{ issuer: 'http://x', audiences: ['a'], jwksUrl: 'http://x/keys' }], roles: [{ arn: 'arn:aws:iam::111122223333:role/r', trustPolicy: value }] });
          parseRoleMapping({ config: text });
          readAwsAuth(text);
        }, BOUNDS);
      }),
      { numRuns: 300 },
    );
  });

  it('JWTs in compact form', () => {
    const segment = fc.oneof(fc.base64String({ maxLength: 80 }), fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')));
    const token = fc.oneof(fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')), fc.string({ maxLength: 300 }));
    fc.assert(
      fc.property(token, (text) => {
        const parsed = assertBounded(() => parseCompactJwt(text), BOUNDS);
        if (parsed.ok) assert.equal(text.split('.').length, 3);
      }),
      { numRuns: 1000 },
    );
  });

  it('query strings and form bodies: a strict decode or MalformedQueryString', () => {
    const piece = fc.constantFrom('%', '%2', '%25', '%FF', '%C3%A9', '%E2%82', '+', '=', '&', 'a', 'Action', 'GetCallerIdentity', '%00', '%zz');
    const query = fc.oneof(fc.array(piece, { maxLength: 60 }).map((parts) => parts.join('')), fc.string({ maxLength: 200 }));
    fc.assert(
      fc.property(query, (text) => {
        assertBounded(() => {
          try {
            formPairs(text);
          } catch (error) {
            assert.ok(error instanceof SigV4Error && error.code === 'MalformedQueryString', String(error));
          }
        }, BOUNDS);
      }),
      { numRuns: 1000 },
    );
  });

  it('cluster tokens (the authenticator)', () => {
    const url = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ maxLength: 200 }));
    fc.assert(
      fc.property(url, fc.boolean(), (text, encode) => {
        const token = `k8s-aws-v1.${encode ? Buffer.from(text).toString('base64url') : text}`;
        const parsed = assertBounded(() => parseClusterToken(token, { labStsOrigins: ['http://127.0.0.1:8082'], nowSeconds: 0 }), BOUNDS);
        if (parsed.ok) assert.equal(parsed.value.url.pathname, '/');
      }),
      { numRuns: 1000 },
    );
  });
});
