import { isJsonObject } from '../../src/shared/json.js';
import { type ClusterAccess, clusterAccess } from '../../src/shared/k8s/request-auth.js';
import { parseYaml } from '../../src/shared/yaml.js';

/** The access a kubeconfig's text (inline data only, as FakeApiServer.kubeconfig() writes it) describes; throws on a bad one. */
export async function accessFromKubeconfig(text: string): Promise<ClusterAccess> {
  const parsed = parseYaml(text, 'the test kubeconfig');
  if (!parsed.ok) throw new Error(parsed.error);
  if (!isJsonObject(parsed.value)) throw new Error('the test kubeconfig is not a mapping');
  const access = await clusterAccess(parsed.value);
  if (!access.ok) throw new Error(access.error);
  return access.value;
}
