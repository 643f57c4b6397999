import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { join } from 'node:path';
import { CERT_FILES, existingCertificateFiles, writeCertificateFiles } from '../shared/certs/files.js';
import type { CertificateAuthorityPems } from '../shared/certs/generate.js';
import { readTextFile } from '../shared/files/read-file.js';
import { flagValue, parseDnsLabel, parseHosts, parseIntegerFlag } from './flags.js';
import { UsageError } from './usage-error.js';

export function registerCerts(program: Command): void {
  program
    .command('certs')
    .description('create a CA and a serving certificate for the webhook Service; prints the base64 caBundle')
    .addOption(new Option('--service <name>', 'Service name of the webhook').default('pod-identity-webhook').argParser(parseDnsLabel))
    .addOption(new Option('-n, --namespace <namespace>', 'namespace of the Service').default('pod-identity-webhook').argParser(parseDnsLabel))
    .addOption(new Option('--hosts <hosts>', 'extra DNS names or IP addresses, comma-separated').default([]).argParser(parseHosts))
    .addOption(new Option('--out <dir>', 'directory to write ca.crt, ca.key, tls.crt, tls.key').default('certs'))
    .addOption(new Option('--days <days>', 'validity of the serving certificate').default(365).argParser(parseIntegerFlag(1, 3650)))
    .option('--force', 'overwrite existing files (re-signing with the existing CA when there is one)', false)
    .option('--new-ca', 'with --force, also replace an existing CA (the caBundle changes)', false)
    .action(async (values: OptionValues) => {
      const out = flagValue.typed(values, 'out', flagValue.isString);
      const present = await existingCertificateFiles(out);
      if (present.length > 0 && values.force !== true) {
        throw new UsageError(`${present.map((file) => join(out, file)).join(', ')} already exist; pass --force to overwrite`);
      }
      const service = flagValue.typed(values, 'service', flagValue.isString);
      const { createCertificateAuthority, issueServingCertificate } = await import('../shared/certs/generate.js');
      const { readCertificateAuthority } = await import('../shared/certs/authority.js');
      // Rotating only the serving certificate keeps the caBundle valid while the new Secret propagates.
      let ca: CertificateAuthorityPems;
      const reuse = present.includes(CERT_FILES.caCert) && present.includes(CERT_FILES.caKey) && values.newCa !== true;
      if (reuse) {
        const [caCert, caKey] = [await readTextFile(join(out, CERT_FILES.caCert)), await readTextFile(join(out, CERT_FILES.caKey))];
        if (!caCert.ok) throw new UsageError(caCert.error);
        if (!caKey.ok) throw new UsageError(caKey.error);
        const read = readCertificateAuthority(caCert.value, caKey.value);
        if (!read.ok) throw new UsageError(`cannot reuse the CA in ${out}/: ${read.error} (pass --new-ca to replace it)`);
        ca = read.value;
      } else {
        ca = createCertificateAuthority(service);
      }
      const certificates = issueServingCertificate(ca, {
        service,
        namespace: flagValue.typed(values, 'namespace', flagValue.isString),
        hosts: flagValue.typed(values, 'hosts', (v): v is string[] => Array.isArray(v)),
        validityDays: flagValue.typed(values, 'days', flagValue.isNumber),
      });
      await writeCertificateFiles(out, certificates);
      process.stderr.write(
        `${reuse ? 'kept the CA (the caBundle is unchanged) and wrote a new tls.crt, tls.key' : 'wrote ca.crt, ca.key, tls.crt, tls.key'} to ${out}/ (SANs: ${certificates.altNames.join(', ')})\n`,
      );
      process.stdout.write(`${Buffer.from(certificates.caCert).toString('base64')}\n`);
    });
}
