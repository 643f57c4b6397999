// `helm test`: does the webhook answer the way the API server calls it? Run by the chart's test pod
// with the webhook's image and ServiceAccount (which may read its own MutatingWebhookConfiguration).
// Node built-ins only. It reads the configuration, as the API server does, then through the
// configuration's Service, trusting only the configuration's caBundle: GET /readyz must answer 200
// and POST of the configuration's path must answer an AdmissionReview for a pod with the same uid.
// Exit status 0 when both hold, 1 otherwise, with one line per step.
//
// Environment: PIW_WEBHOOK_CONFIGURATION (the configuration's name); outside a pod (the chart's
// tests) PIW_API_SERVER, PIW_SERVICEACCOUNT_DIR (token, ca.crt) and PIW_CONNECT (HOST:PORT dialled
// instead of the Service, the TLS name staying the Service's).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { randomUUID } from 'node:crypto';

const TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function call(url, { method = 'GET', ca, headers = {}, body, servername, connect }) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const [host, port] = connect ? [connect.slice(0, connect.lastIndexOf(':')).replace(/^\[|\]$/g, ''), connect.slice(connect.lastIndexOf(':') + 1)] : [target.hostname.replace(/^\[|\]$/g, ''), target.port || '443'];
    const req = request(
      { host, port, path: `${target.pathname}${target.search}`, method, ca, headers, servername: servername ?? target.hostname, timeout: TIMEOUT_MS },
      (res) => {
        const chunks = [];
        let size = 0;
        res.on('data', (chunk) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error(`${url}: answer larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const name = process.env.PIW_WEBHOOK_CONFIGURATION;
  if (!name) throw new Error('PIW_WEBHOOK_CONFIGURATION is not set');
  const accountDir = process.env.PIW_SERVICEACCOUNT_DIR ?? '/var/run/secrets/kubernetes.io/serviceaccount';
  const apiHost = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const apiServer = process.env.PIW_API_SERVER ?? `https://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${process.env.KUBERNETES_SERVICE_PORT ?? '443'}`;
  const token = readFileSync(`${accountDir}/token`, 'utf8').trim();

  const read = await call(`${apiServer}/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`, {
    ca: readFileSync(`${accountDir}/ca.crt`),
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
  if (read.status !== 200) throw new Error(`reading the MutatingWebhookConfiguration ${name}: HTTP ${read.status} ${read.body.slice(0, 200)}`);
  const webhook = JSON.parse(read.body).webhooks?.[0];
  const service = webhook?.clientConfig?.service;
  const caBundle = Buffer.from(webhook?.clientConfig?.caBundle ?? '', 'base64').toString('utf8');
  if (!service) throw new Error(`the MutatingWebhookConfiguration ${name} names no Service`);
  if (!caBundle.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`the MutatingWebhookConfiguration ${name} has no caBundle: the API server cannot call the webhook`);
  console.log(`ok: the MutatingWebhookConfiguration ${name} has a caBundle and calls ${service.namespace}/${service.name}`);

  const base = `https://${service.name}.${service.namespace}.svc:${service.port ?? 443}`;
  const options = { ca: caBundle, connect: process.env.PIW_CONNECT };
  const ready = await call(`${base}/readyz`, options);
  if (ready.status !== 200) throw new Error(`GET ${base}/readyz: HTTP ${ready.status} ${ready.body.slice(0, 300)}`);
  console.log(`ok: GET ${base}/readyz answered 200 over TLS verified with the caBundle`);

  // A pod of the webhook's own ServiceAccount (no role): allowed, and nothing to inject.
  const uid = randomUUID();
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: service.namespace,
      operation: 'CREATE',
      dryRun: true,
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'helm-test', namespace: service.namespace }, spec: { serviceAccountName: service.name, containers: [{ name: 'c', image: 'i' }] } },
    },
  };
  const path = service.path ?? '/';
  const answer = await call(`${base}${path}`, { ...options, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) });
  const response = answer.status === 200 ? JSON.parse(answer.body).response : undefined;
  if (response?.uid !== uid) throw new Error(`POST ${base}${path}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  console.log(`ok: POST ${base}${path} answered the AdmissionReview (allowed: ${response.allowed})`);
}

main().catch((error) => {
  console.log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
