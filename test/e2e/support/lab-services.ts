import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeCertificateFiles } from '../../../src/shared/certs/files.js';
import { generateCertificates } from '../../../src/shared/certs/generate.js';
import { providerId } from '../../../src/lab/sts/config.js';
import { trustPolicyFor } from '../../helpers/lab.js';
import { CliProcess } from '../../helpers/process.js';
import type { ControlPlane } from './control-plane.js';
import { stopProcess, track } from './processes.js';

export const CLUSTER_ID = 'e2e-cluster';

/** A lab role that one ServiceAccount (`system:serviceaccount:NS:NAME`) may assume with audience sts.amazonaws.com. */
export interface TrustedRole {
  readonly arn: string;
  readonly subject: string;
}

function started(process: CliProcess): CliProcess {
  track(process.child);
  return process;
}

async function address(process: CliProcess, event: string): Promise<string> {
  try {
    return String((await process.line(event, 20_000)).address);
  } catch (error) {
    throw new Error(`${String(error)}\nstderr: ${process.stderr.slice(-2000)}`);
  }
}

/**
 * The lab beside a real control plane, each as its own CLI process on 127.0.0.1: the issuer serving
 * the API server's own sa.key under its --service-account-issuer, the STS trusting that issuer, and
 * optionally the TokenReview authenticator (which the API server must know about when it starts:
 * start these after `ControlPlane.prepare` and before `start`).
 */
export class LabServices {
  private constructor(
    readonly processes: readonly CliProcess[],
    readonly issuerUrl: string,
    readonly stsUrl: string,
    readonly authenticator: { readonly process: CliProcess; readonly url: string; readonly caCert: string } | undefined,
  ) {}

  /** The issuer process (for its log lines). */
  get issuer(): CliProcess {
    return this.processes[0]!;
  }

  static async start(controlPlane: ControlPlane, issuerPort: number, roles: readonly TrustedRole[], options: { awsAuth?: Record<string, unknown> } = {}): Promise<LabServices> {
    const processes: CliProcess[] = [];
    try {
      // The API server's issuer is https (see ControlPlane.prepare); the lab issuer serves it over http.
      const issuer = started(
        CliProcess.start(['issuer', '--key', controlPlane.files.saKey, '--issuer-url', controlPlane.issuer, '--port', String(issuerPort), '--bind-address', '127.0.0.1']),
      );
      processes.push(issuer);
      const issuerUrl = await address(issuer, 'issuer-listening');
      const provider = providerId(controlPlane.issuer);
      const labConfig = join(controlPlane.dir, 'lab.yaml');
      writeFileSync(
        labConfig,
        stringify({
          apiVersion: 'pod-identity-webhook.io/v1alpha1',
          kind: 'LabConfig',
          providers: [{ issuer: controlPlane.issuer, audiences: ['sts.amazonaws.com'], jwksUrl: `${issuerUrl}/keys` }],
          roles: roles.map((role) => ({ arn: role.arn, trustPolicy: trustPolicyFor(provider, role.subject) })),
        }),
      );
      const sts = started(
        CliProcess.start(['sts', '--config', labConfig, '--port', '0', '--bind-address', '127.0.0.1', '--secret-file', join(controlPlane.dir, 'sts-secret.key')]),
      );
      processes.push(sts);
      const stsUrl = await address(sts, 'sts-listening');
      let authenticator: LabServices['authenticator'];
      if (options.awsAuth) {
        const awsAuth = join(controlPlane.dir, 'aws-auth.yaml');
        writeFileSync(awsAuth, stringify(options.awsAuth));
        const certsDir = join(controlPlane.dir, 'authenticator-certs');
        const certificates = generateCertificates({ service: 'aws-iam-authenticator', namespace: 'kube-system', hosts: ['127.0.0.1'] });
        await writeCertificateFiles(certsDir, certificates);
        const process = started(
          CliProcess.start([
            'authenticator',
            '--cluster-id',
            CLUSTER_ID,
            '--aws-auth',
            awsAuth,
            '--allow-sts-url',
            stsUrl,
            '--port',
            '0',
            '--bind-address',
            '127.0.0.1',
            '--tls-cert',
            join(certsDir, 'tls.crt'),
            '--tls-key',
            join(certsDir, 'tls.key'),
          ]),
        );
        processes.push(process);
        authenticator = { process, url: `${await address(process, 'listening')}/authenticate`, caCert: certificates.caCert };
      }
      return new LabServices(processes, issuerUrl, stsUrl, authenticator);
    } catch (error) {
      for (const process of processes) await stopProcess(process.child);
      throw error;
    }
  }

  async stop(): Promise<void> {
    for (const process of this.processes) await stopProcess(process.child);
  }
}
