import { applyPatch } from '../../webhook/apply-patch.js';
import { mutatePod, planInjection } from '../../webhook/engine/mutate.js';
import { readPod } from '../../webhook/read-objects.js';
import { explainReport, type ExplainReport, type Link } from '../report.js';
import { LINKS } from './codes.js';
import { environmentLink } from './environment-link.js';
import { imagePullLink } from './image-pull-link.js';
import { injectionLink, runningPodLink, serviceAccountLink } from './identity-links.js';
import type { ExplainInput } from './input.js';
import { permissionLink } from './permission-link.js';
import { tokenLink } from './token-link.js';
import { trustLink } from './trust-link.js';
import { webhookLink } from './webhook-link.js';

const notChecked = (name: string, why: string): Link => ({ name, status: 'not-checked', detail: [why] });

/**
 * Walks the chain from the webhook configuration to the trust policy, then the image pulls (which
 * do not depend on the application's identity), and reports every link; the
 * verdict names the first broken one. Pure: the same input gives the same report.
 */
export function explain(input: ExplainInput): ExplainReport {
  const links: Link[] = [webhookLink(input)];
  const account = serviceAccountLink(input);
  links.push(account);
  const serviceAccount = input.serviceAccount === undefined ? undefined : { ...input.serviceAccount, podIdentity: input.podIdentityListed };
  const { plan, warnings } = account.status === 'broken' ? { plan: undefined, warnings: [] } : planInjection(input.podView, serviceAccount, input.options);
  // The permission link is there only when a call is asked about.
  const names = input.permission === undefined ? LINKS.filter((name) => name !== 'permission') : LINKS;
  if (plan === undefined) {
    for (const name of names.slice(links.length)) {
      // Image pulls do not depend on the application's identity.
      links.push(name === 'image pull' ? imagePullLink(input, input.podView) : notChecked(name, 'the ServiceAccount names no identity (see service account)'));
    }
    return explainReport(links);
  }
  links.push(injectionLink(input, plan, warnings));
  links.push(runningPodLink(input, plan));
  // A pod that exists runs with what it carries; one to be created gets what the webhook adds.
  const mutated = input.running ? { ok: true as const, value: input.podView } : readPod(applyPatch(input.pod, mutatePod(input.podView, serviceAccount, input.options).patch));
  links.push(mutated.ok ? environmentLink(input, plan, mutated.value) : notChecked('environment', `the mutated pod could not be read: ${mutated.error}`));
  const token = tokenLink(input, plan);
  links.push(token.link);
  links.push(trustLink(input, plan, token.facts));
  if (input.permission !== undefined) links.push(permissionLink(input, plan, input.permission));
  links.push(imagePullLink(input, mutated.ok ? mutated.value : input.podView));
  return explainReport(links);
}
