import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, parseAllDocuments, parseDocument, YAMLSeq } from 'yaml';
import { isJsonObject } from '../shared/json.js';

export const ROLE_MAPPING_FILE = join('optional', 'role-mapping.yaml');
export const ROLE_MAPPING_FLAG = '--watch-config-map=pod-identity-webhook/pod-identity-webhook-roles';
export const TLS_SECRET_NAME = 'pod-identity-webhook-tls';

export interface ManifestOptions {
  /** PEM of the CA that signed the serving certificate; becomes every webhook's caBundle. */
  readonly caCert?: string;
  /** Serving certificate and key; become the TLS Secret the Deployment mounts. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly image?: string;
  readonly roleMapping?: boolean;
}

async function documentsOf(directory: string, file: string): Promise<Document[]> {
  const text = await readFile(join(directory, file), 'utf8');
  return parseAllDocuments(text).filter((document) => document.contents !== null) as Document[];
}

function kindOf(document: Document): unknown {
  return document.get('kind');
}

/**
 * The kustomization's resources, in order, with the caBundle filled in, the TLS Secret added, and
 * the image or role-mapping options applied. Comments in the files are kept.
 */
export async function renderManifests(directory: string, options: ManifestOptions): Promise<string> {
  const kustomization = parseDocument(await readFile(join(directory, 'kustomization.yaml'), 'utf8')).toJS() as unknown;
  const resources = isJsonObject(kustomization) && Array.isArray(kustomization.resources) ? kustomization.resources : [];
  const files = resources.filter((resource): resource is string => typeof resource === 'string');
  if (options.roleMapping) files.push(ROLE_MAPPING_FILE);

  const documents: Document[] = [];
  for (const file of files) documents.push(...(await documentsOf(directory, file)));

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
      if (options.roleMapping) {
        const args = document.getIn(['spec', 'template', 'spec', 'containers', 0, 'args']);
        if (args instanceof YAMLSeq) args.add(document.createNode(ROLE_MAPPING_FLAG));
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
        '  namespace: pod-identity-webhook',
        'data:',
        `  tls.crt: ${Buffer.from(options.tls.cert).toString('base64')}`,
        `  tls.key: ${Buffer.from(options.tls.key).toString('base64')}`,
        '',
      ].join('\n'),
    ) as Document;
    const namespaceIndex = documents.findIndex((document) => kindOf(document) === 'Namespace');
    documents.splice(namespaceIndex + 1, 0, secret);
  }
  return documents.map((document) => document.toString({ lineWidth: 0 }).replace(/^---\n/, '')).join('---\n');
}
