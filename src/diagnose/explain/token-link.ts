import { isJsonObject } from '../../shared/json.js';
import { trimTrailing } from '../../shared/text.js';
import type { InjectionPlan } from '../../webhook/engine/mutate.js';
import { quoteValue } from '../../webhook/engine/identity.js';
import type { Link } from '../report.js';
import { brokenLink } from './identity-links.js';
import type { ExplainInput, OidcProviderFacts } from './input.js';

/** What the token link established, for the trust policy link. */
export interface TokenFacts {
  /** Undefined when neither a token nor the issuer was given. */
  readonly issuer: string | undefined;
  readonly subject: string;
  /** The audience STS would put in the `:aud` key: the one the provider accepted, else the first. */
  readonly audience: string;
  readonly provider: OidcProviderFacts | undefined;
}

const NAME = 'token';
/** Seconds of clock difference STS and the lab tolerate. */
const CLOCK_TOLERANCE_SECONDS = 60;

const sameIssuer = (left: string, right: string): boolean => trimTrailing(left, '/') === trimTrailing(right, '/');

function audiencesOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

const time = (seconds: number): string => new Date(seconds * 1000).toISOString();

const printable = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 253 && /^[\x21-\x7e]+$/.test(value);

/**
 * What the token is bound to and its id, as Kubernetes 1.32+ writes them (KEP-4193): the pod's node
 * (`kubernetes.io.node`) and `jti`, which the API server's audit log records as the TokenRequest's
 * `authentication.kubernetes.io/issued-credential-id` and the token's requests carry in the user's
 * `authentication.kubernetes.io/credential-id`, both `JTI=<jti>`. Older clusters and other issuers
 * write neither: their absence is said, not flagged. Values that are not short printable strings are
 * not echoed.
 */
function bindingLines(claims: Readonly<Record<string, unknown>>): string[] {
  const kubernetes = isJsonObject(claims['kubernetes.io']) ? claims['kubernetes.io'] : {};
  const pod = isJsonObject(kubernetes.pod) ? kubernetes.pod : undefined;
  const node = isJsonObject(kubernetes.node) ? kubernetes.node : undefined;
  const lines: string[] = [];
  if (pod !== undefined && printable(pod.name)) lines.push(`bound to pod ${pod.name}${printable(pod.uid) ? ` (uid ${pod.uid})` : ''}`);
  if (node !== undefined && printable(node.name)) lines.push(`on node ${node.name}${printable(node.uid) ? ` (uid ${node.uid})` : ''}`);
  else lines.push('no node claim (kubernetes.io.node): issued before Kubernetes 1.32, by another issuer, or not bound to a pod');
  if (printable(claims.jti)) lines.push(`jti ${claims.jti}: JTI=${claims.jti} in the audit log (issued-credential-id of its TokenRequest, credential-id of its requests)`);
  else lines.push('no jti: issued before Kubernetes 1.32 or by another issuer');
  return lines;
}

/**
 * The token the pod will present (the one given, or the claims the kubelet's would carry): its
 * subject, audience and expiry, and whether an OIDC provider is registered for its issuer.
 */
export function tokenLink(input: ExplainInput, plan: InjectionPlan): { readonly link: Link; readonly facts: TokenFacts } {
  const expectedSubject = `system:serviceaccount:${input.namespace}:${input.podView.serviceAccountName}`;
  const detail: string[] = [];
  const claims = input.token?.claims;
  const issuer = typeof claims?.iss === 'string' ? claims.iss : input.issuer;
  const subject = typeof claims?.sub === 'string' ? claims.sub : expectedSubject;
  const audiences = claims ? audiencesOf(claims.aud) : [plan.audience];
  if (input.token) detail.push(`from ${input.token.source} (claims read; the signature is STS's to check)`);
  else detail.push('no --token: the claims the kubelet puts in the projected token');
  detail.push(`iss ${issuer ?? 'unknown (give --issuer-url or --token)'}, sub ${subject}, aud ${audiences.join(', ')}`);
  if (claims) detail.push(...bindingLines(claims));
  if (input.token && input.issuer !== undefined && issuer !== undefined && !sameIssuer(issuer, input.issuer)) {
    detail.push(`the token's iss differs from the issuer given (${input.issuer}): the token's is used`);
  }

  const providers = plan.mode === 'irsa' ? input.providers : undefined;
  const provider = issuer === undefined ? undefined : providers?.find((candidate) => sameIssuer(candidate.issuer, issuer));
  const audience = audiences.find((value) => provider?.audiences.includes(value)) ?? audiences.find((value) => value === plan.audience) ?? audiences[0] ?? plan.audience;
  const facts: TokenFacts = { issuer, subject, audience, provider };
  const problems: Array<{ readonly code: Parameters<typeof brokenLink>[1]; readonly line: string }> = [];

  if (subject !== expectedSubject) problems.push({ code: 'TOKEN_SUBJECT_MISMATCH', line: `sub ${quoteValue(subject)} is not the pod's ServiceAccount (${expectedSubject})` });
  if (plan.mode === 'irsa' && providers !== undefined && issuer !== undefined && provider === undefined) {
    problems.push({ code: 'ISSUER_NOT_TRUSTED', line: `no OIDC provider is registered for ${issuer} (registered: ${providers.map((candidate) => candidate.issuer).join(', ') || 'none'}); STS: No OpenIDConnect provider found in your account for ${issuer}` });
  }
  if (plan.mode === 'pod-identity' && issuer !== undefined && input.podIdentity?.clusterIssuer !== undefined && !sameIssuer(issuer, input.podIdentity.clusterIssuer)) {
    problems.push({ code: 'ISSUER_NOT_TRUSTED', line: `the token's issuer is not the cluster's (${input.podIdentity.clusterIssuer}): EKS Auth refuses it` });
  }
  if (!audiences.includes(plan.audience)) {
    problems.push({ code: 'TOKEN_AUDIENCE_MISMATCH', line: `aud ${audiences.join(', ')} does not include ${plan.audience}, the audience the webhook injects` });
  } else if (provider !== undefined && !audiences.some((value) => provider.audiences.includes(value))) {
    problems.push({ code: 'TOKEN_AUDIENCE_MISMATCH', line: `the provider for ${provider.issuer} accepts ${provider.audiences.join(', ')}, not ${audiences.join(', ')}: STS answers Incorrect token audience` });
  }
  const now = input.now.getTime() / 1000;
  if (claims) {
    const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
    const iat = typeof claims.iat === 'number' ? claims.iat : undefined;
    if (exp !== undefined && exp + CLOCK_TOLERANCE_SECONDS < now) problems.push({ code: 'TOKEN_EXPIRED', line: `expired at ${time(exp)} (now ${input.now.toISOString()})` });
    else if (exp !== undefined) detail.push(`expires at ${time(exp)}, in ${Math.round(exp - now)} s`);
    if ((nbf ?? iat ?? 0) > now + CLOCK_TOLERANCE_SECONDS) detail.push(`not valid before ${time(nbf ?? iat ?? 0)}: the clock of the node that issued it is ahead (or this one's behind)`);
  }
  if (provider !== undefined) detail.push(`OIDC provider ${provider.issuer} accepts ${provider.audiences.join(', ')}`);
  else if (providers === undefined && plan.mode === 'irsa') detail.push('the OIDC providers are not known here (give --lab-config to check them)');

  if (problems.length > 0) {
    const first = problems[0]!;
    return { link: brokenLink(NAME, first.code, [...problems.map((problem) => problem.line), ...detail]), facts };
  }
  return { link: { name: NAME, status: issuer === undefined ? 'not-checked' : 'ok', detail }, facts };
}
