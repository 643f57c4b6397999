import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { isIP } from 'node:net';
import { type NodeContextField, nodeFieldProblem } from '../shared/aws/eks-node-context.js';
import { createLogger } from '../shared/log.js';
import { flagValue, logLevelFrom, logLevelOption, parseBindAddress, parseHttpUrl, parseIntegerFlag, parsePort } from './flags.js';
import { durationOption } from './duration-flag.js';
import { closeOnSignal } from './signals.js';
import { UsageError } from './usage-error.js';

const { typed, isString, isNumber, isBoolean, isOptionalString } = flagValue;

export const DEFAULT_AGENT_PORT = 8083;
export const DEFAULT_AGENT_METRICS_PORT = 2705;
export const DEFAULT_EKS_AUTH_URL = 'http://127.0.0.1:8082';

function parseClusterName(raw: string): string {
  if (!/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(raw)) throw new InvalidArgumentError(`"${raw}" is not an EKS cluster name`);
  return raw;
}

function parseHost(raw: string): string {
  const host = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) throw new InvalidArgumentError(`"${raw}" is not an IP address or host name`);
  return host;
}

/** A node field as EKS Auth checks it, so a bad flag fails at start rather than on every call. */
function nodeField(field: NodeContextField): (raw: string) => string {
  return (raw) => {
    const problem = nodeFieldProblem(field, raw);
    if (problem !== undefined) throw new InvalidArgumentError(`"${raw.slice(0, 80)}" ${problem}`);
    return raw;
  };
}

const collect = (value: string, previous: readonly string[] | undefined): readonly string[] => [...(previous ?? []), value];
const isStringList = (value: unknown): value is readonly string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** The lab config and the cluster named by --cluster-name, or a one-line error. */
async function loadCluster(values: OptionValues) {
  const { loadLabConfig } = await import('../lab/sts/config.js');
  const config = await loadLabConfig(typed(values, 'config', isString));
  if (!config.ok) throw new UsageError(config.error);
  const name = typed(values, 'clusterName', isString);
  const cluster = config.value.clusters.get(name);
  if (!cluster) {
    const known = [...config.value.clusters.keys()];
    throw new UsageError(`${typed(values, 'config', isString)}: no cluster ${name} in clusters${known.length > 0 ? ` (it has ${known.join(', ')})` : ''}`);
  }
  return { config: config.value, cluster };
}

export function registerPodIdentityAgent(program: Command): void {
  program
    .command('pod-identity-agent')
    .description('serve an EKS Pod Identity Agent on loopback: /v1/credentials, calling the lab EKS Auth with the node role (lab)')
    .addOption(new Option('--config <file>', 'lab config: the cluster, its node role and region').makeOptionMandatory())
    .addOption(new Option('--cluster-name <name>', 'the cluster this agent serves (a cluster of the lab config)').makeOptionMandatory().argParser(parseClusterName))
    .addOption(new Option('--eks-auth-url <url>', 'EKS Auth endpoint: the lab STS').default(DEFAULT_EKS_AUTH_URL).argParser(parseHttpUrl))
    .addOption(new Option('--secret-file <file>', "the STS's server key, which issues the node role's credentials (created on first run)").default('certs/sts-secret.key'))
    .addOption(new Option('--port <port>', 'HTTP port of /v1/credentials').default(DEFAULT_AGENT_PORT).argParser(parsePort))
    .addOption(new Option('--bind-address <address>', 'address to listen on').default('127.0.0.1').argParser(parseBindAddress))
    .addOption(new Option('--metrics-port <port>', 'HTTP port of /healthz, /readyz and /metrics').default(DEFAULT_AGENT_METRICS_PORT).argParser(parsePort))
    .addOption(new Option('--allowed-host <host>', 'a Host header accepted besides 169.254.170.23, fd00:ec2::23 and the bind address; repeat for several').argParser(collect))
    .addOption(new Option('--no-host-check', 'accept any Host header (the real agent always checks)'))
    .addOption(new Option('--node-name <name>', "the node this agent runs on, sent to EKS Auth as eksNodeName (a DaemonSet sets NODE_NAME from spec.nodeName)").env('NODE_NAME').argParser(nodeField('eksNodeName')))
    .addOption(new Option('--instance-id <id>', "the node's EC2 instance id, sent to EKS Auth as instanceId").argParser(nodeField('instanceId')))
    .addOption(new Option('--zone <zone-id>', "the node's Availability Zone id (use1-az1), sent to EKS Auth as zone").argParser(nodeField('zone')))
    .addOption(new Option('--max-cache-size <tokens>', 'tokens whose credentials are cached (0: no cache)').default(2000).argParser(parseIntegerFlag(0, 1_000_000)))
    .addOption(durationOption('--max-credential-retention-before-renewal', 'cached credentials are fetched again after this long at most (0: no cache)', { unit: 's', min: 0, max: 43200, default: 10800 }))
    .addOption(logLevelOption())
    .action(async (values: OptionValues) => {
      const { cluster } = await loadCluster(values);
      const { loadOrCreateServerKey, SessionAuthority } = await import('../lab/sts/sessions.js');
      const secretFile = typed(values, 'secretFile', isString);
      const serverKey = await loadOrCreateServerKey(secretFile);
      if (!serverKey.ok) throw new UsageError(serverKey.error);
      if (serverKey.created) process.stderr.write(`generated the STS server key in ${secretFile}\n`);
      const { EksAuthClient } = await import('../lab/pod-identity/eks-auth-client.js');
      const { nodeRoleCredentials } = await import('../lab/pod-identity/node-credentials.js');
      const { startPodIdentityAgent } = await import('../lab/pod-identity/agent.js');
      const logger = createLogger(undefined, logLevelFrom(values));
      const client = new EksAuthClient({
        endpoint: typed(values, 'eksAuthUrl', isString),
        region: cluster.region,
        credentials: nodeRoleCredentials(new SessionAuthority(serverKey.value), cluster.nodeRoleArn),
        timeoutMs: 1000,
      });
      const retention = typed(values, 'maxCredentialRetentionBeforeRenewal', isNumber);
      const node = {
        eksNodeName: typed(values, 'nodeName', isOptionalString),
        instanceId: typed(values, 'instanceId', isOptionalString),
        zone: typed(values, 'zone', isOptionalString),
      };
      const agent = await startPodIdentityAgent({
        bindAddress: typed(values, 'bindAddress', isString),
        port: typed(values, 'port', isNumber),
        metricsPort: typed(values, 'metricsPort', isNumber),
        clusterName: cluster.name,
        node,
        fetchCredentials: (request) => client.assumeRoleForPodIdentity(request),
        hostCheck: typed(values, 'hostCheck', isBoolean),
        allowedHosts: values.allowedHost === undefined ? [] : typed(values, 'allowedHost', isStringList),
        maxCacheSize: typed(values, 'maxCacheSize', isNumber),
        renewAfterMs: retention * 1000,
        logger,
      }).catch((error: Error) => {
        throw new UsageError(error.message);
      });
      logger.info('pod-identity-agent-listening', {
        address: agent.url,
        credentials: `${agent.url}/v1/credentials`,
        metrics: agent.metricsUrl,
        cluster: cluster.name,
        eksAuth: typed(values, 'eksAuthUrl', isString),
        nodeRole: cluster.nodeRoleArn,
        ...node,
      });
      closeOnSignal(() => agent.close(), logger);
    });
}

export function registerPodIdentityConfig(program: Command): void {
  program
    .command('pod-identity-config')
    .description("print (or write atomically) the webhook's container-credentials identities file for a cluster of the lab config (lab)")
    .addOption(new Option('--config <file>', "lab config whose podIdentityAssociations are the identities").makeOptionMandatory())
    .addOption(new Option('--cluster-name <name>', 'the cluster whose associations are listed').makeOptionMandatory().argParser(parseClusterName))
    .addOption(new Option('--out <file>', 'write the file (replaced atomically, for a watching webhook) instead of printing it'))
    .action(async (values: OptionValues) => {
      const { config, cluster } = await loadCluster(values);
      const { formatPodIdentities } = await import('../webhook/pod-identity/identities.js');
      const text = formatPodIdentities(config.podIdentityAssociations.filter((association) => association.cluster === cluster.name));
      const out = values.out as string | undefined;
      if (out === undefined) {
        process.stdout.write(text);
        return;
      }
      const { writeFileAtomically } = await import('../lab/files.js');
      const written = await writeFileAtomically(out, text);
      if (!written.ok) throw new UsageError(written.error);
    });
}
