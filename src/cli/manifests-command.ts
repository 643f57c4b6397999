import { type Command, Option, type OptionValues } from 'commander';
import { join } from 'node:path';
import { CERT_FILES } from '../shared/certs/files.js';
import { renderManifests } from '../webhook/render-manifests.js';
import { packageRoot } from '../shared/package-info.js';
import { readTextFile } from '../shared/files/read-file.js';
import { flagValue } from './flags.js';
import { UsageError } from './usage-error.js';

async function readPem(path: string): Promise<string> {
  const pem = await readTextFile(path);
  if (!pem.ok) throw new UsageError(`${pem.error} (create it with: npx pod-identity-webhook certs)`);
  return pem.value;
}

export function registerManifests(program: Command): void {
  program
    .command('manifests')
    .description('print the deployment manifests (kubectl apply -f -) with caBundle and TLS Secret filled in')
    .addOption(new Option('--certs <dir>', 'directory holding ca.crt, tls.crt and tls.key (from the certs command)'))
    .addOption(new Option('--image <image>', 'container image of the webhook').default('pod-identity-webhook:dev'))
    .option('--role-mapping', 'add the role-mapping ConfigMap, its RBAC and --watch-config-map', false)
    .action(async (values: OptionValues) => {
      const certs = flagValue.typed(values, 'certs', flagValue.isOptionalString);
      let caCert: string | undefined;
      let tls: { cert: string; key: string } | undefined;
      if (certs !== undefined) {
        caCert = await readPem(join(certs, CERT_FILES.caCert));
        tls = { cert: await readPem(join(certs, CERT_FILES.cert)), key: await readPem(join(certs, CERT_FILES.key)) };
      } else {
        process.stderr.write('warning: no --certs: caBundle stays empty and no TLS Secret is included\n');
      }
      const text = await renderManifests(join(packageRoot(), 'manifests'), {
        caCert,
        tls,
        image: flagValue.typed(values, 'image', flagValue.isString),
        roleMapping: values.roleMapping === true,
      });
      process.stdout.write(text);
    });
}
