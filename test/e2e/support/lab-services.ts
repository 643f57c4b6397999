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

/** How the authenticator maps identities: the files it is given and its --authentication-mode. */
export interface AuthenticatorSetup {
  readonly awsAuth?: Record<string, unknown>;
  /** describe-access-entry / list-associated-access-policies outputs. */
  readonly accessEntries?: readonly unknown[];
  readonly authenticationMode?: 'CONFIG_MAP' | 'API_AND_CONFIG_MAP' | 'API';
}

/** More of the lab config (raw, as lab.yaml holds it), and where the STS listens (a node's address for pods to reach it). */
export interface LabOptions {
  readonly stsBindAddress?: string;
  readonly roles?: readonly unknown[];
  readonly clusters?: readonly unknown[];
  readonly podIdentityAssociations?: readonly unknown[];
}

interface RunningAuthenticator {
  readonly process: CliProcess;
  readonly url: string;
  readonly caCert: string;
}

/**
 * The lab beside a real control plane, each as its own CLI process on 127.0.0.1: the issuer serving
 * the API server's own sa.key under its --service-account-issuer, the STS trusting that issuer, and
 * optionally the TokenReview authenticator (which the API server must know about when it starts:
 * start these after `ControlPlane.prepare` and before `start`; `restartAuthenticator` brings it back
 * on the same port with other files or another mode).
 */
export class LabServices {
  private constructor(
    private readonly controlPlane: ControlPlane,
    private readonly running: CliProcess[],
    readonly issuerUrl: string,
    readonly stsUrl: string,
    private current: RunningAuthenticator | undefined,
    private readonly labConfig: string,
  ) {}

  get processes(): readonly CliProcess[] {
    return [...this.running, ...(this.current ? [this.current.process] : [])];
  }

  get authenticator(): RunningAuthenticator | undefined {
    return this.current;
  }

  /** The STS process, which also serves EKS Auth (for its log lines). */
  get sts(): CliProcess {
    return this.running[1]!;
  }

  /** The issuer process (for its log lines). */
  get issuer(): CliProcess {
    return this.running[0]!;
  }

  static async start(controlPlane: ControlPlane, issuerPort: number, roles: readonly TrustedRole[], authenticator?: AuthenticatorSetup, options: LabOptions = {}): Promise<LabServices> {
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
          roles: [...roles.map((role) => ({ arn: role.arn, trustPolicy: trustPolicyFor(provider, role.subject) })), ...(options.roles ?? [])],
          ...(options.clusters ? { clusters: options.clusters } : {}),
          ...(options.podIdentityAssociations ? { podIdentityAssociations: options.podIdentityAssociations } : {}),
        }),
      );
      const sts = started(
        CliProcess.start(['sts', '--config', labConfig, '--port', '0', '--bind-address', options.stsBindAddress ?? '127.0.0.1', '--secret-file', join(controlPlane.dir, 'sts-secret.key')]),
      );
      processes.push(sts);
      const stsUrl = await address(sts, 'sts-listening');
      const lab = new LabServices(controlPlane, processes, issuerUrl, stsUrl, undefined, labConfig);
      if (authenticator) {
        const certsDir = join(controlPlane.dir, 'authenticator-certs');
        const certificates = generateCertificates({ service: 'aws-iam-authenticator', namespace: 'kube-system', hosts: ['127.0.0.1'] });
        await writeCertificateFiles(certsDir, certificates);
        lab.current = await lab.startAuthenticator(authenticator, 0, certificates.caCert);
      }
      return lab;
    } catch (error) {
      for (const process of processes) await stopProcess(process.child);
      throw error;
    }
  }

  /** The authenticator's files (rewritten on every start) and flags. */
  private async startAuthenticator(setup: AuthenticatorSetup, port: number, caCert: string): Promise<RunningAuthenticator> {
    const dir = this.controlPlane.dir;
    const flags = ['--authentication-mode', setup.authenticationMode ?? 'CONFIG_MAP'];
    if (setup.awsAuth) {
      writeFileSync(join(dir, 'aws-auth.yaml'), stringify(setup.awsAuth));
      flags.push('--aws-auth', join(dir, 'aws-auth.yaml'));
    }
    if (setup.accessEntries) {
      writeFileSync(join(dir, 'access-entries.json'), JSON.stringify(setup.accessEntries, null, 2));
      flags.push('--access-entries', join(dir, 'access-entries.json'));
    }
    const certsDir = join(dir, 'authenticator-certs');
    const process = started(
      CliProcess.start([
        'authenticator',
        '--cluster-id',
        CLUSTER_ID,
        ...flags,
        '--allow-sts-url',
        this.stsUrl,
        '--port',
        String(port),
        '--bind-address',
        '127.0.0.1',
        '--tls-cert',
        join(certsDir, 'tls.crt'),
        '--tls-key',
        join(certsDir, 'tls.key'),
      ]),
    );
    try {
      return { process, url: `${await address(process, 'listening')}/authenticate`, caCert };
    } catch (error) {
      await stopProcess(process.child);
      throw error;
    }
  }

  /** Stops the authenticator and starts it again on the same port (the API server's webhook config names it) with `setup`. */
  async restartAuthenticator(setup: AuthenticatorSetup): Promise<RunningAuthenticator> {
    const previous = this.current;
    if (!previous) throw new Error('the lab was started without an authenticator');
    await stopProcess(previous.process.child);
    this.current = undefined;
    this.current = await this.startAuthenticator(setup, Number(new URL(previous.url).port), previous.caCert);
    return this.current;
  }

  /**
   * The lab's EKS Pod Identity agent for `cluster` (of `options.clusters`), calling this lab's EKS Auth (the STS); resolves with its URL.
   * With `nodeName`, it sends it as eksNodeName, which EKS Auth checks against the token's node.
   */
  async startPodIdentityAgent(cluster: string, bindAddress: string, port: number, nodeName?: string): Promise<string> {
    const agent = started(
      CliProcess.start([
        'pod-identity-agent', '--config', this.labConfig, '--cluster-name', cluster, '--eks-auth-url', this.stsUrl,
        '--secret-file', join(this.controlPlane.dir, 'sts-secret.key'), '--bind-address', bindAddress, '--port', String(port), '--metrics-port', '0',
        ...(nodeName === undefined ? [] : ['--node-name', nodeName]),
      ]),
    );
    this.running.push(agent);
    return address(agent, 'pod-identity-agent-listening');
  }

  async stop(): Promise<void> {
    for (const process of this.processes) await stopProcess(process.child);
  }
}
