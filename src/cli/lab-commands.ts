import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import type { IssuerKey } from '../lab/keys.js';
import { createLogger } from '../shared/log.js';
import { flagValue, logLevelFrom, logLevelOption, parseBindAddress, parseHttpUrl, parseIntegerFlag, parsePort } from './flags.js';
import { closeOnSignal } from './signals.js';
import { UsageError } from './usage-error.js';

const { typed, isString, isNumber, isOptionalString } = flagValue;
export const DEFAULT_ISSUER_KEY = 'certs/issuer.key';
export const DEFAULT_ISSUER_URL = 'http://127.0.0.1:8081';

/**
 * A repeatable flag's values: the first use replaces the default (recognised by identity: commander
 * hands the default to the first call as `previous`), later uses add to it.
 */
function repeatable(defaults: readonly string[]): (value: string, previous: readonly string[]) => readonly string[] {
  return (value, previous) => (previous === defaults ? [value] : [...previous, value]);
}

const DEFAULT_KEYS: readonly string[] = [DEFAULT_ISSUER_KEY];
const DEFAULT_AUDIENCES: readonly string[] = ['sts.amazonaws.com'];

function parseLabel(raw: string): string {
  if (raw.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(raw)) throw new InvalidArgumentError(`"${raw}" is not a Kubernetes name`);
  return raw;
}

function parseUid(raw: string): string {
  // Kubernetes uids are UUIDs; the lab takes any short printable word so fixtures can name them.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(raw)) throw new InvalidArgumentError(`"${raw.slice(0, 80)}" is not a uid`);
  return raw;
}

const isStringList = (value: unknown): value is readonly string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/** Loads every --key (the first signs); the default key file is generated on first use. */
async function issuerKeys(paths: readonly string[]): Promise<IssuerKey[]> {
  const { loadIssuerKey, loadOrCreateIssuerKey } = await import('../lab/keys.js');
  if (paths.length === 1 && paths[0] === DEFAULT_ISSUER_KEY) {
    const loaded = await loadOrCreateIssuerKey(DEFAULT_ISSUER_KEY);
    if (!loaded.ok) throw new UsageError(loaded.error);
    if (loaded.created) process.stderr.write(`generated an RSA-2048 signing key in ${DEFAULT_ISSUER_KEY}\n`);
    return [loaded.value];
  }
  const keys: IssuerKey[] = [];
  for (const path of paths) {
    const loaded = await loadIssuerKey(path);
    if (!loaded.ok) throw new UsageError(loaded.error);
    keys.push(loaded.value);
  }
  return keys;
}

export function registerIssuer(program: Command): void {
  program
    .command('issuer')
    .description('serve an OIDC issuer: discovery document and JWKS (kid as Kubernetes computes it)')
    .addOption(new Option('--port <port>', 'HTTP port').default(8081).argParser(parsePort))
    .addOption(new Option('--bind-address <address>', 'address to listen on').default('127.0.0.1').argParser(parseBindAddress))
    .addOption(new Option('--key <file>', 'PEM key to publish; repeat to publish several (the first signs)').default(DEFAULT_KEYS, `${DEFAULT_ISSUER_KEY}, generated on first run`).argParser(repeatable(DEFAULT_KEYS)))
    .addOption(new Option('--issuer-url <url>', 'issuer URL to advertise (default: http://<bind-address>:<port>)').argParser(parseHttpUrl))
    .addOption(logLevelOption())
    .action(async (values: OptionValues) => {
      const keys = await issuerKeys(typed(values, 'key', isStringList));
      const logger = createLogger(undefined, logLevelFrom(values));
      const { startIssuer } = await import('../lab/issuer-server.js');
      const issuer = await startIssuer({
        bindAddress: typed(values, 'bindAddress', isString),
        port: typed(values, 'port', isNumber),
        issuerUrl: values.issuerUrl as string | undefined,
        keys: () => keys,
      }).catch((error: Error) => {
        throw new UsageError(error.message);
      });
      logger.info('issuer-listening', {
        address: issuer.url,
        issuer: issuer.issuer,
        discovery: `${issuer.issuer}/.well-known/openid-configuration`,
        jwks: `${issuer.issuer}/keys`,
        kids: keys.map((key) => key.kid),
      });
      closeOnSignal(() => issuer.close(), logger);
    });
}

export function registerToken(program: Command): void {
  program
    .command('token')
    .description('mint a token in the projected service-account token format and print it')
    .addOption(new Option('-n, --namespace <namespace>', 'namespace of the ServiceAccount').makeOptionMandatory().argParser(parseLabel))
    .addOption(new Option('--service-account <name>', 'ServiceAccount the token is for').makeOptionMandatory().argParser(parseLabel))
    .addOption(new Option('--audience <audience>', 'token audience; repeat for several').default(DEFAULT_AUDIENCES, DEFAULT_AUDIENCES.join(', ')).argParser(repeatable(DEFAULT_AUDIENCES)))
    .addOption(new Option('--expiration <seconds>', 'lifetime').default(3600).argParser(parseIntegerFlag(1, 2 ** 32)))
    .addOption(new Option('--pod <name>', 'pod the token is bound to (adds kubernetes.io.pod)').argParser(parseLabel))
    .addOption(new Option('--node-name <name>', 'node the token names (adds kubernetes.io.node): the pod\'s node with --pod, else the node the token is bound to').argParser(parseLabel))
    .addOption(new Option('--node-uid <uid>', 'uid of --node-name\'s Node (a random UUID when left out)').argParser(parseUid))
    .addOption(new Option('--key <file>', 'PEM private key that signs the token').default(DEFAULT_ISSUER_KEY, `${DEFAULT_ISSUER_KEY}, generated on first run`))
    .addOption(new Option('--issuer-url <url>', 'the `iss` claim').default(DEFAULT_ISSUER_URL).argParser(parseHttpUrl))
    .addOption(new Option('--pod-identity', 'an EKS Pod Identity token: audience pods.eks.amazonaws.com, bound to --pod, no trailing newline'))
    .addOption(new Option('--out <file>', 'write the token to this file (mode 0600, replaced atomically, no trailing newline) instead of printing it'))
    .action(async (values: OptionValues) => {
      const podIdentity = values.podIdentity === true;
      const audienceGiven = values.audience !== DEFAULT_AUDIENCES;
      if (podIdentity && audienceGiven) throw new UsageError('--pod-identity sets the audience (pods.eks.amazonaws.com): leave out --audience');
      if (podIdentity && values.pod === undefined) throw new UsageError('--pod-identity needs --pod: EKS Auth only accepts tokens bound to a pod');
      const [key] = await issuerKeys([typed(values, 'key', isString)]);
      if (!key?.privateKey) throw new UsageError(`${key?.source ?? 'the key'} is a public key: a private key is needed to sign`);
      const audiences = podIdentity ? ['pods.eks.amazonaws.com'] : typed(values, 'audience', isStringList);
      if (audiences.some((audience) => audience.trim() === '')) throw new UsageError('--audience must not be empty');
      const pod = values.pod as string | undefined;
      const nodeName = typed(values, 'nodeName', isOptionalString);
      const nodeUid = typed(values, 'nodeUid', isOptionalString);
      if (nodeUid !== undefined && nodeName === undefined) throw new UsageError('--node-uid needs --node-name: the API server puts both of the Node in the token');
      const { mintProjectedToken } = await import('../lab/token.js');
      const token = await mintProjectedToken(key, {
        issuer: typed(values, 'issuerUrl', isString),
        audiences,
        namespace: typed(values, 'namespace', isString),
        serviceAccount: typed(values, 'serviceAccount', isString),
        pod: pod ? { name: pod } : undefined,
        node: nodeName ? { name: nodeName, uid: nodeUid } : undefined,
        expirationSeconds: typed(values, 'expiration', isNumber),
      });
      const out = values.out as string | undefined;
      if (out !== undefined) {
        // The AWS SDKs send a container token file's bytes as they are: botocore and the JS SDK refuse a newline.
        const { writeFileAtomically } = await import('../lab/files.js');
        const written = await writeFileAtomically(out, token, 0o600);
        if (!written.ok) throw new UsageError(written.error);
        return;
      }
      process.stdout.write(podIdentity ? token : `${token}\n`);
    });
}

export function registerSts(program: Command): void {
  program
    .command('sts')
    .description('serve a local STS: AssumeRoleWithWebIdentity (real token and trust-policy checks), AssumeRole, GetCallerIdentity (SigV4); and EKS Auth for the config\'s clusters')
    .addOption(new Option('--config <file>', 'lab config: OIDC providers and roles (see manifests/lab/lab.yaml)').makeOptionMandatory())
    .addOption(new Option('--port <port>', 'HTTP port').default(8082).argParser(parsePort))
    .addOption(new Option('--bind-address <address>', 'address to listen on').default('127.0.0.1').argParser(parseBindAddress))
    .addOption(new Option('--secret-file <file>', 'server key all credential secrets derive from (created on first run)').default('certs/sts-secret.key'))
    .addOption(new Option('--clock-skew <seconds>', 'tolerance for token exp/nbf').default(30).argParser(parseIntegerFlag(0, 3600)))
    .addOption(logLevelOption())
    .action(async (values: OptionValues) => {
      const { loadLabConfig } = await import('../lab/sts/config.js');
      const { loadOrCreateServerKey } = await import('../lab/sts/sessions.js');
      const { startSts } = await import('../lab/sts/start.js');
      const config = await loadLabConfig(typed(values, 'config', isString));
      if (!config.ok) throw new UsageError(config.error);
      const secretFile = typed(values, 'secretFile', isString);
      const serverKey = await loadOrCreateServerKey(secretFile);
      if (!serverKey.ok) throw new UsageError(serverKey.error);
      if (serverKey.created) process.stderr.write(`generated the STS server key in ${secretFile}\n`);
      const logger = createLogger(undefined, logLevelFrom(values));
      const sts = await startSts({
        config: config.value,
        serverKey: serverKey.value,
        bindAddress: typed(values, 'bindAddress', isString),
        port: typed(values, 'port', isNumber),
        clockToleranceSeconds: typed(values, 'clockSkew', isNumber),
        logger,
      }).catch((error: Error) => {
        throw new UsageError(error.message);
      });
      logger.info('sts-listening', {
        address: sts.url,
        providers: config.value.providers.map((provider) => provider.issuer),
        roles: [...config.value.roles.keys()],
        ...(config.value.clusters.size > 0
          ? { eksAuth: `${sts.url}/clusters/NAME/assume-role-for-pod-identity`, clusters: [...config.value.clusters.keys()], podIdentityAssociations: config.value.podIdentityAssociations.length }
          : {}),
      });
      closeOnSignal(() => sts.close(), logger);
    });
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole IRSA loop offline: issuer, STS, webhook patch, real AWS SDK; then a denied ServiceAccount')
    .addOption(new Option('--pod-identity', 'the EKS Pod Identity loop instead: webhook patch, lab agent, lab EKS Auth, real AWS SDK; then two denied pods'))
    .action(async (values: OptionValues) => {
      if (values.podIdentity === true) {
        const { runPodIdentityDemoCommand } = await import('./pod-identity-demo.js');
        await runPodIdentityDemoCommand();
        return;
      }
      const { runDemo } = await import('../lab/demo.js');
      const report = await runDemo();
      const line = (label: string, text: string): void => void process.stdout.write(`${label.padEnd(10)}${text}\n`);
      line('issuer', report.issuer);
      line('sts', report.stsUrl);
      for (const run of [report.allowed, report.denied]) {
        process.stdout.write('\n');
        line('pod', `default/${run.serviceAccount} (ServiceAccount ${run.serviceAccount}, role-arn ${run.env.AWS_ROLE_ARN})`);
        for (const [name, value] of Object.entries(run.env)) line('', `${name}=${value}`);
        if (run.result.ok) line('identity', `GetCallerIdentity with the AWS SDK default chain → ${run.result.arn}`);
        else line('denied', `${run.result.code}: ${run.result.message}`);
      }
      const expected = report.allowed.result.ok && !report.denied.result.ok && report.denied.result.code === 'AccessDenied';
      process.stdout.write(`\n${expected ? 'the trust policy let demo-app in and kept intruder out' : 'UNEXPECTED: see the results above'}\n`);
      if (!expected) process.exitCode = 1;
    });
}
