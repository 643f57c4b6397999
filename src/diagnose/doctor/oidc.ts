import { isJsonObject } from '../../shared/json.js';
import type { Finding } from '../report.js';
import { unreadFinding } from './configuration.js';
import type { Fetched } from './facts.js';
import { coded, noted, passed, shown } from './findings.js';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/openid/v1/jwks';

function httpsUrl(value: string): { ok: true; url: URL } | { ok: false; why: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, why: 'is not a URL' };
  }
  if (url.protocol !== 'https:') return { ok: false, why: 'is not https' };
  return { ok: true, url };
}

/** RSA keys usable to verify signatures: kty RSA with n and e, not marked for encryption only. */
function rsaSigningKeys(jwks: Record<string, unknown>): Array<Record<string, unknown>> {
  const keys = Array.isArray(jwks.keys) ? jwks.keys : [];
  return keys.filter(
    (key): key is Record<string, unknown> => isJsonObject(key) && key.kty === 'RSA' && typeof key.n === 'string' && typeof key.e === 'string' && (key.use === undefined || key.use === 'sig'),
  );
}

/**
 * Check 6: the API server's OIDC discovery document and JWKS. What STS fetches is the issuer's
 * public copy (`<issuer>/.well-known/openid-configuration`, then `jwks_uri`); doctor reaches only
 * the API server, so whether the public URLs serve the same is not checked, and the findings say so.
 */
export function checkOidc(discovery: Fetched<unknown>, jwks: Fetched<unknown>): Finding[] {
  const findings: Finding[] = [];
  if (discovery.status === 'missing') {
    findings.push(coded('OIDC_DISCOVERY_MISSING', DISCOVERY_PATH, `the API server answers 404 for ${DISCOVERY_PATH}`));
  } else if (discovery.status !== 'ok') {
    findings.push(unreadFinding(discovery, `the API server's ${DISCOVERY_PATH}`, DISCOVERY_PATH, 'oidc')!);
  } else {
    const document = discovery.value;
    if (!isJsonObject(document) || typeof document.issuer !== 'string' || typeof document.jwks_uri !== 'string') {
      const missing = isJsonObject(document) ? ['issuer', 'jwks_uri'].filter((key) => typeof document[key] !== 'string').join(' and ') : 'everything (not an object)';
      findings.push(coded('OIDC_DISCOVERY_INVALID', DISCOVERY_PATH, `the discovery document lacks ${missing}`));
    } else {
      const { issuer, jwks_uri: jwksUri } = document;
      const bad = [
        ['issuer', issuer],
        ['jwks_uri', jwksUri],
      ].flatMap(([key, value]) => {
        const checked = httpsUrl(value!);
        return checked.ok ? [] : [`${key} ${shown(value)} ${checked.why}`];
      });
      if (bad.length > 0) findings.push(coded('OIDC_ISSUER_NOT_HTTPS', DISCOVERY_PATH, bad.join('; ')));
      else {
        const issuerUrl = new URL(issuer);
        if (issuerUrl.port !== '') findings.push(coded('OIDC_ISSUER_PORT', DISCOVERY_PATH, `issuer ${shown(issuer)} has a port: IAM OIDC provider URLs are https on 443, without a port`));
        findings.push(passed('oidc', DISCOVERY_PATH, `served by the API server: issuer ${shown(issuer)}, jwks_uri ${shown(jwksUri)}`));
        findings.push(
          noted(
            'oidc',
            DISCOVERY_PATH,
            `not checkable from here: whether ${issuer.replace(/\/$/, '')}${DISCOVERY_PATH} and ${jwksUri} are publicly reachable (STS fetches them), and whether the account has an IAM OIDC provider for this issuer`,
          ),
        );
      }
    }
  }
  if (jwks.status === 'missing') {
    findings.push(coded('OIDC_JWKS_INVALID', JWKS_PATH, `the API server answers 404 for ${JWKS_PATH}`));
  } else if (jwks.status !== 'ok') {
    findings.push(unreadFinding(jwks, `the API server's ${JWKS_PATH}`, JWKS_PATH, 'oidc')!);
  } else if (!isJsonObject(jwks.value) || !Array.isArray(jwks.value.keys)) {
    findings.push(coded('OIDC_JWKS_INVALID', JWKS_PATH, 'the JWKS is not a key set ({"keys": [...]})'));
  } else {
    const keys = rsaSigningKeys(jwks.value);
    if (keys.length === 0) findings.push(coded('OIDC_JWKS_INVALID', JWKS_PATH, `the JWKS has ${jwks.value.keys.length} key(s), none an RSA signing key`));
    else findings.push(passed('oidc', JWKS_PATH, `${keys.length} RSA signing key${keys.length === 1 ? '' : 's'} (kid ${keys.slice(0, 3).map((key) => shown(key.kid ?? 'none')).join(', ')})`));
  }
  return findings;
}
