import { type Command, Option, type OptionValues } from 'commander';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { CERT_FILES } from '../shared/certs/files.js';
import { DEFAULT_NAMESPACE, renderManifests } from '../webhook/render-manifests.js';
import { packageRoot } from '../shared/package-info.js';
import { readTextFile } from '../shared/files/read-file.js';
import { flagValue, parseDnsLabel } from './flags.js';
import { UsageError } from './usage-error.js';

async function readPem(path: string): Promise<string> {
  const pem = await readTextFile(path);
  if (!pem.ok) throw new UsageError(`${pem.error} (create it with: npx pod-identity-webhook certs)`);
  return pem.value;
}

export function registerManifests(program: Command): void {
  program
    .command('manifests')
    .description('print the manifests of the manual certificate mode (kubectl apply -f -) with the caBundle and TLS Secret filled in')
    .addOption(new Option('--certs <dir>', 'directory holding ca.crt, tls.crt and tls.key (from the certs command)'))
    .addOption(new Option('--namespace <namespace>', 'namespace of every object (the certificate must name the Service in it: certs --namespace)').default(DEFAULT_NAMESPACE).argParser(parseDnsLabel))
    .addOption(new Option('--image <image>', 'container image of the webhook').default('pod-identity-webhook:dev'))
    .option('--role-mapping', 'add the role-mapping ConfigMap, its RBAC and --watch-config-map', false)
    .action(async (values: OptionValues) => {
      const certs = flagValue.typed(values, 'certs', flagValue.isOptionalString);
      const namespace = flagValue.typed(values, 'namespace', flagValue.isString);
      let caCert: string | undefined;
      let tls: { cert: string; key: string } | undefined;
      if (certs !== undefined) {
        caCert = await readPem(join(certs, CERT_FILES.caCert));
        tls = { cert: await readPem(join(certs, CERT_FILES.cert)), key: await readPem(join(certs, CERT_FILES.key)) };
        // The API server calls pod-identity-webhook.NAMESPACE.svc: a certificate for another namespace fails every call.
        const serviceName = `pod-identity-webhook.${namespace}.svc`;
        let names: boolean;
        try {
          names = new X509Certificate(tls.cert).checkHost(serviceName, { subject: 'never', wildcards: false }) !== undefined;
        } catch {
          throw new UsageError(`${join(certs, CERT_FILES.cert)} is not a PEM certificate`);
        }
        if (!names) throw new UsageError(`${join(certs, CERT_FILES.cert)} does not name ${serviceName}: create it with certs --namespace ${namespace}`);
      } else {
        process.stderr.write('warning: no --certs: caBundle stays empty and no TLS Secret is included\n');
      }
      const text = await renderManifests(join(packageRoot(), 'manifests'), {
        caCert,
        tls,
        image: flagValue.typed(values, 'image', flagValue.isString),
        roleMapping: values.roleMapping === true,
        namespace,
      });
      process.stdout.write(text);
    });
}
