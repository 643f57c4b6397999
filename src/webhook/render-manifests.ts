import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, isMap, isScalar, isSeq, parseAllDocuments, parseDocument, YAMLSeq } from 'yaml';
import { isJsonObject } from '../shared/json.js';

/**
 * The manual certificate mode's manifests (`pod-identity-webhook manifests --certs DIR`): the
 * kustomize base, with the caBundle filled in, the TLS Secret added, the Deployment reading it
 * (the same patch the cert-manager overlay applies: manifests/cert-manager/tls-files.yaml), and
 * the namespace, image and role-mapping options applied. Comments in the files are kept.
 */
export const ROLE_MAPPING_FILE = join('optional', 'role-mapping.yaml');
export const TLS_SECRET_NAME = 'pod-identity-webhook-tls';
export const DEFAULT_NAMESPACE = 'pod-identity-webhook';
const BASE = 'base';
const TLS_FILES_PATCH = join('cert-manager', 'tls-files.yaml');

export interface ManifestOptions {
  /** PEM of the CA that signed the serving certificate; becomes every webhook's caBundle. */
  readonly caCert?: string;
  /** Serving certificate and key; become the TLS Secret the Deployment mounts. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly image?: string;
  readonly roleMapping?: boolean;
  /** The namespace of every object (and of every reference to it); default pod-identity-webhook. */
  readonly namespace?: string;
}

async function documentsOf(directory: string, file: string): Promise<Document[]> {
  const text = await readFile(join(directory, file), 'utf8');
  return parseAllDocuments(text).filter((document) => document.contents !== null) as Document[];
}

function kindOf(document: Document): unknown {
  return document.get('kind');
}

/** `/a/b/0/-` as the path segments of a YAML document. */
function segments(pointer: string): Array<string | number> {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment.replaceAll('~1', '/').replaceAll('~0', '~')));
}

/** Applies the `add` operations of a JSON patch file to a YAML document (the only operation the patch uses). */
async function applyAddPatch(directory: string, file: string, document: Document): Promise<void> {
  const operations = parseDocument(await readFile(join(directory, file), 'utf8')).toJS() as unknown;
  if (!Array.isArray(operations)) throw new Error(`${file} is not a JSON patch`);
  for (const operation of operations) {
    if (!isJsonObject(operation) || operation.op !== 'add' || typeof operation.path !== 'string') throw new Error(`${file}: only add operations are supported`);
    const path = segments(operation.path);
    if (path.at(-1) === '-') {
      const list = document.getIn(path.slice(0, -1));
      if (!(list instanceof YAMLSeq)) throw new Error(`${file}: ${operation.path} is not a list`);
      list.add(document.createNode(operation.value));
    } else {
      document.setIn(path, document.createNode(operation.value));
    }
  }
}

/** Moves every object, and every reference to the default namespace, into `namespace`. */
function moveToNamespace(document: Document, namespace: string): void {
  const kind = kindOf(document);
  if (kind === 'Namespace') document.setIn(['metadata', 'name'], namespace);
  else if (document.hasIn(['metadata', 'namespace'])) document.setIn(['metadata', 'namespace'], namespace);
  const subjects = document.get('subjects');
  if (isSeq(subjects)) subjects.items.forEach((_subject, index) => document.hasIn(['subjects', index, 'namespace']) && document.setIn(['subjects', index, 'namespace'], namespace));
  const webhooks = document.get('webhooks');
  if (isSeq(webhooks)) {
    webhooks.items.forEach((_webhook, index) => {
      if (document.hasIn(['webhooks', index, 'clientConfig', 'service', 'namespace'])) document.setIn(['webhooks', index, 'clientConfig', 'service', 'namespace'], namespace);
      // The webhook never mutates its own namespace's pods: it could not start if it depended on itself.
      const expressions = document.getIn(['webhooks', index, 'namespaceSelector', 'matchExpressions']);
      if (isSeq(expressions)) {
        for (const expression of expressions.items) {
          const values = isMap(expression) ? expression.get('values') : undefined;
          if (isSeq(values)) values.items = values.items.map((value) => (isScalar(value) && value.value === DEFAULT_NAMESPACE ? document.createNode(namespace) : value)) as typeof values.items;
        }
      }
    });
  }
  const args = document.getIn(['spec', 'template', 'spec', 'containers', 0, 'args']);
  if (isSeq(args)) {
    args.items = args.items.map((item) =>
      isScalar(item) && typeof item.value === 'string' && item.value.startsWith('--watch-config-map=')
        ? document.createNode(item.value.replace(`=${DEFAULT_NAMESPACE}/`, `=${namespace}/`))
        : item,
    ) as typeof args.items;
  }
}

export async function renderManifests(directory: string, options: ManifestOptions): Promise<string> {
  const kustomization = parseDocument(await readFile(join(directory, BASE, 'kustomization.yaml'), 'utf8')).toJS() as unknown;
  const resources = isJsonObject(kustomization) && Array.isArray(kustomization.resources) ? kustomization.resources : [];
  const documents: Document[] = [];
  for (const file of resources.filter((resource): resource is string => typeof resource === 'string')) documents.push(...(await documentsOf(join(directory, BASE), file)));
  if (options.roleMapping) documents.push(...(await documentsOf(directory, ROLE_MAPPING_FILE)));

  for (const document of documents) {
    const kind = kindOf(document);
    if (kind === 'MutatingWebhookConfiguration' && options.caCert !== undefined) {
      const webhooks = document.get('webhooks');
      const count = webhooks instanceof YAMLSeq ? webhooks.items.length : 0;
      for (let index = 0; index < count; index += 1) {
        document.setIn(['webhooks', index, 'clientConfig', 'caBundle'], Buffer.from(options.caCert).toString('base64'));
      }
    }
    if (kind === 'Deployment') {
      if (options.image) document.setIn(['spec', 'template', 'spec', 'containers', 0, 'image'], options.image);
      await applyAddPatch(directory, TLS_FILES_PATCH, document);
      if (options.roleMapping) {
        const args = document.getIn(['spec', 'template', 'spec', 'containers', 0, 'args']);
        if (args instanceof YAMLSeq) args.add(document.createNode(`--watch-config-map=${DEFAULT_NAMESPACE}/pod-identity-webhook-roles`));
      }
    }
  }

  if (options.tls) {
    const secret = parseDocument(
      [
        'apiVersion: v1',
        'kind: Secret',
        'type: kubernetes.io/tls',
        'metadata:',
        `  name: ${TLS_SECRET_NAME}`,
        `  namespace: ${DEFAULT_NAMESPACE}`,
        'data:',
        `  tls.crt: ${Buffer.from(options.tls.cert).toString('base64')}`,
        `  tls.key: ${Buffer.from(options.tls.key).toString('base64')}`,
        '',
      ].join('\n'),
    ) as Document;
    const namespaceIndex = documents.findIndex((document) => kindOf(document) === 'Namespace');
    documents.splice(namespaceIndex + 1, 0, secret);
  }
  if (options.namespace && options.namespace !== DEFAULT_NAMESPACE) for (const document of documents) moveToNamespace(document, options.namespace);
  return documents.map((document) => document.toString({ lineWidth: 0 }).replace(/^---\n/, '')).join('---\n');
}
