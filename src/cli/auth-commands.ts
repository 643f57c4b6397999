import { type Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { AUTHENTICATION_MODES, isAuthenticationMode } from '../authenticator/authentication-modes.js';
import { readAccessEntries } from '../authenticator/access-entries.js';
import { awsAuthLocator } from '../authenticator/aws-auth-locations.js';
import { readAwsAuth } from '../authenticator/aws-auth.js';
import { conversionCommands, formatConversion } from '../authenticator/conversion-output.js';
import { CONVERSION_RULES } from '../authenticator/conversion-rules.js';
import { type ConversionReport, convertAwsAuth, TARGET_MODES, type TargetMode } from '../authenticator/convert-aws-auth.js';
import { countErrors, findingsJson, findingsSarif, formatFindings, OUTPUT_FORMATS, type OutputFormat } from '../authenticator/findings.js';
import { LINT_RULES, lintReadAwsAuth } from '../authenticator/lint-aws-auth.js';
import { DEFAULT_RESERVED_PREFIXES, parseReservedPrefixes, type ReservedPrefixes, type UsernameBackend } from '../authenticator/reserved-prefixes.js';
import { readRolePaths } from '../authenticator/role-paths.js';
import type { Parsed } from '../shared/result.js';
import { packageVersion } from '../shared/package-info.js';
import type { AwsCredentials } from '../authenticator/token.js';
import { STS_PARTITIONS, type StsPartition } from '../authenticator/sts-hosts.js';

import { parseRoleArn } from '../shared/aws/arn.js';
import { createLogger, errorMessage } from '../shared/log.js';
import { readTextFile } from '../shared/files/read-file.js';
import { createAuthenticatorMetrics } from '../authenticator/metrics.js';
import { createRegistry } from '../shared/metrics.js';
import { ServiceStartError } from '../webhook/server/webhook.js';
import { flagValue, logLevelFrom, logLevelOption, parseBindAddress, parseHttpUrl, parseIntegerFlag, parsePort } from './flags.js';
import { durationOption } from './duration-flag.js';
import { formatStructured } from './output-flag.js';
import { closeOnSignal } from './signals.js';
import { UsageError } from './usage-error.js';

const isOptionalPartition = (value: unknown): value is StsPartition | undefined => value === undefined || (STS_PARTITIONS as readonly unknown[]).includes(value);

const { typed, isString, isNumber, isOptionalString } = flagValue;

function parseClusterId(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(raw)) throw new InvalidArgumentError(`"${raw}" is not a cluster id (letters, digits, ".", "_", "-")`);
  return raw;
}

function parseRoleArnFlag(raw: string): string {
  if (!parseRoleArn(raw)) throw new InvalidArgumentError(`"${raw}" is not an IAM role ARN`);
  return raw;
}

/** Repeated --reserved-username-prefixes: one per backend, each replacing that backend's default list. */
function collectReservedPrefixes(raw: string, previous: Partial<Record<UsernameBackend, string[]>> | undefined): Partial<Record<UsernameBackend, string[]>> {
  const parsed = parseReservedPrefixes(raw);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  const { backend, prefixes } = parsed.value;
  if (previous?.[backend] !== undefined) throw new InvalidArgumentError(`${backend} is given twice`);
  return { ...previous, [backend]: prefixes };
}

function collectOrigin(raw: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), new URL(parseHttpUrl(raw)).origin];
}

/** The STS endpoint a token is presigned for: the SDK's endpoint setting, else the regional AWS one. */
function stsEndpoint(region: string): string {
  const configured = process.env.AWS_ENDPOINT_URL_STS ?? process.env.AWS_ENDPOINT_URL;
  if (configured) return configured;
  return `https://sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

export function registerTokenExec(program: Command): void {
  program
    .command('token-exec')
    .description('print an ExecCredential with an aws-iam-authenticator token (kubeconfig users[].user.exec)')
    .addOption(new Option('--cluster-id <id>', 'the cluster the token is for (signed into it as the x-k8s-aws-id header)').makeOptionMandatory().argParser(parseClusterId))
    .addOption(new Option('--role-arn <arn>', 'assume this role first (sts:AssumeRole) with the default credentials').argParser(parseRoleArnFlag))
    .addOption(new Option('--region <region>', 'STS region (default: AWS_REGION, AWS_DEFAULT_REGION, or us-east-1)'))
    .addOption(new Option('--session-name <name>', 'session name when assuming --role-arn (default: token-exec-<time>)'))
    .action(async (values: OptionValues) => {
      const region = typed(values, 'region', isOptionalString) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
      const { AssumeRoleCommand, STSClient } = await import('@aws-sdk/client-sts');
      const { createClusterToken, execCredential } = await import('../authenticator/token.js');
      const client = new STSClient({ region });
      let credentials: AwsCredentials;
      try {
        const base = await client.config.credentials();
        credentials = { accessKeyId: base.accessKeyId, secretAccessKey: base.secretAccessKey, sessionToken: base.sessionToken };
        const roleArn = typed(values, 'roleArn', isOptionalString);
        if (roleArn) {
          const assumed = await client.send(
            new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: typed(values, 'sessionName', isOptionalString) ?? `token-exec-${Date.now()}` }),
          );
          const issued = assumed.Credentials;
          if (!issued?.AccessKeyId || !issued.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
          credentials = { accessKeyId: issued.AccessKeyId, secretAccessKey: issued.SecretAccessKey, sessionToken: issued.SessionToken };
        }
      } catch (error) {
        throw new UsageError(`could not get AWS credentials: ${(error as Error).name}: ${errorMessage(error)}`);
      }
      const token = await createClusterToken({ clusterId: typed(values, 'clusterId', isString), credentials, region, stsEndpoint: stsEndpoint(region) });
      process.stdout.write(`${JSON.stringify(execCredential(token))}\n`);
    });
}

export function registerAuthenticator(program: Command): void {
  program
    .command('authenticator')
    .description('serve the TokenReview authentication webhook (POST /authenticate) mapping IAM identities through aws-auth and EKS access entries')
    .addOption(new Option('--cluster-id <id>', 'the cluster id tokens must be made for (their signed x-k8s-aws-id header)').makeOptionMandatory().argParser(parseClusterId))
    .addOption(new Option('--aws-auth <file>', 'aws-auth ConfigMap (YAML), read in modes CONFIG_MAP and API_AND_CONFIG_MAP; reloaded when it changes'))
    .addOption(
      new Option('--access-entries <file>', 'access entries and their policies as describe-access-entry and list-associated-access-policies print them, read in modes API_AND_CONFIG_MAP and API; reloaded when it changes'),
    )
    .addOption(new Option('--authentication-mode <mode>', 'EKS authentication mode: which of aws-auth and access entries are read, an entry overriding aws-auth').choices(AUTHENTICATION_MODES).default('CONFIG_MAP'))
    .addOption(
      new Option(
        '--reserved-username-prefixes <backend=prefixes>',
        `username prefixes a backend (aws-auth, access-entries) may not yield, comma-separated, checked after templates are rendered; repeat per backend (default: ${DEFAULT_RESERVED_PREFIXES['aws-auth'].join(',')} for each)`,
      ).argParser(collectReservedPrefixes),
    )
    .addOption(new Option('--partition <partition>', "accept only this partition's STS hosts, as aws-iam-authenticator's --partition (default: every partition's; the mappings' ARNs name theirs)").choices(STS_PARTITIONS))
    .addOption(new Option('--allow-sts-url <url>', 'a lab STS accepted besides AWS STS hosts; repeat for several').argParser(collectOrigin))
    .addOption(new Option('--port <port>', 'port to listen on').default(21362).argParser(parsePort))
    .addOption(new Option('--bind-address <address>', 'address to listen on').default('127.0.0.1').argParser(parseBindAddress))
    .addOption(new Option('--tls-cert <file>', 'serving certificate (PEM); reloaded when the file changes').default('certs/tls.crt'))
    .addOption(new Option('--tls-key <file>', 'serving key (PEM); reloaded when the file changes').default('certs/tls.key'))
    .addOption(new Option('--metrics-port <port>', 'HTTP port serving /metrics').argParser(parsePort))
    .addOption(durationOption('--sts-timeout', 'budget for the STS call verifying a token', { unit: 'ms', min: 1, max: 60_000, default: 5000 }))
    .addOption(logLevelOption())
    .action(async (values: OptionValues) => {
      const logger = createLogger(undefined, logLevelFrom(values));
      let running;
      try {
        const { startAuthenticator } = await import('../authenticator/authenticator.js');
        running = await startAuthenticator({
          clusterId: typed(values, 'clusterId', isString),
          authenticationMode: typed(values, 'authenticationMode', isAuthenticationMode),
          awsAuthPath: typed(values, 'awsAuth', isOptionalString),
          accessEntriesPath: typed(values, 'accessEntries', isOptionalString),
          labStsOrigins: (values.allowStsUrl as string[] | undefined) ?? [],
          partition: typed(values, 'partition', isOptionalPartition),
          reservedUsernamePrefixes: { ...DEFAULT_RESERVED_PREFIXES, ...(values.reservedUsernamePrefixes as Partial<ReservedPrefixes> | undefined) },
          stsTimeoutMs: typed(values, 'stsTimeout', isNumber),
          bindAddress: typed(values, 'bindAddress', isString),
          port: typed(values, 'port', isNumber),
          metricsPort: values.metricsPort as number | undefined,
          tlsCertPath: typed(values, 'tlsCert', isString),
          tlsKeyPath: typed(values, 'tlsKey', isString),
          logger,
          metrics: createAuthenticatorMetrics(createRegistry()),
        });
      } catch (error) {
        if (error instanceof ServiceStartError) throw new UsageError(error.message);
        throw error;
      }
      closeOnSignal(() => running.close(), logger);
    });
}

async function readInput<T>(path: string, maxBytes: number, parse: (text: string) => Parsed<T>): Promise<T> {
  const text = await readTextFile(path, { maxBytes });
  if (!text.ok) throw new UsageError(text.error);
  const parsed = parse(text.value);
  if (!parsed.ok) throw new UsageError(parsed.error);
  return parsed.value;
}

export function registerLintAwsAuth(program: Command): void {
  const command = program
    .command('lint-aws-auth')
    .description('report aws-auth ConfigMap mistakes that break clusters, and (--to-access-entries) the EKS access entries it becomes; exits 1 when errors are found')
    .argument('<file>', 'aws-auth ConfigMap (YAML), e.g. from kubectl -n kube-system get cm aws-auth -o yaml')
    .addOption(new Option('-o, --output <format>', 'text, json, yaml, or sarif (SARIF 2.1.0, for code scanning)').choices(OUTPUT_FORMATS).default('text'))
    .addOption(new Option('--to-access-entries', 'also print the access entry each aws-auth entry becomes (or why none can), the aws eks commands, and who the target mode locks out'))
    .addOption(new Option('--current-mode <mode>', 'with --to-access-entries: the authentication mode the cluster is in (default CONFIG_MAP, API_AND_CONFIG_MAP with --access-entries); modes move one step at a time').choices(AUTHENTICATION_MODES))
    .addOption(new Option('--target-mode <mode>', 'with --to-access-entries: the authentication mode to move to').choices(TARGET_MODES).default('API'))
    .addOption(new Option('--role-paths <file>', 'with --to-access-entries: role ARNs with their paths (aws iam list-roles output, or a list of ARNs)'))
    .addOption(new Option('--access-entries <file>', 'with --to-access-entries: the access entries the cluster already has (describe-access-entry outputs)'));
  command.action(async (file: string, values: OptionValues) => {
    const format = typed(values, 'output', (value): value is OutputFormat => (OUTPUT_FORMATS as readonly unknown[]).includes(value));
    const convert = values.toAccessEntries === true;
    for (const flag of ['currentMode', 'targetMode', 'rolePaths', 'accessEntries'] as const) {
      if (!convert && command.getOptionValueSource(flag) === 'cli') throw new UsageError(`--${flag.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)} needs --to-access-entries`);
    }
    const text = await readTextFile(file, { maxBytes: 1024 * 1024 });
    if (!text.ok) throw new UsageError(text.error);
    const read = readAwsAuth(text.value);
    // A file that is not YAML at all is unusable input (exit 2), not a finding about a mapping.
    const unreadable = read.problems.find((item) => item.rule === 'invalid-yaml' && item.where === 'file');
    if (unreadable) throw new UsageError(`${file}: ${unreadable.message}`);
    let findings = lintReadAwsAuth(read);
    let report: ConversionReport | undefined;
    if (convert) {
      const rolePathsFile = typed(values, 'rolePaths', isOptionalString);
      const entriesFile = typed(values, 'accessEntries', isOptionalString);
      const converted = convertAwsAuth(read.config, {
        currentMode: values.currentMode === undefined ? undefined : typed(values, 'currentMode', isAuthenticationMode),
        targetMode: typed(values, 'targetMode', (value): value is TargetMode => (TARGET_MODES as readonly unknown[]).includes(value)),
        rolePaths: rolePathsFile === undefined ? undefined : await readInput(rolePathsFile, 16 * 1024 * 1024, (input) => readRolePaths(input, rolePathsFile)),
        existing: entriesFile === undefined ? undefined : await readInput(entriesFile, 16 * 1024 * 1024, (input) => readAccessEntries(input, { source: entriesFile })),
      });
      if (!converted.ok) throw new UsageError(converted.error);
      report = converted.value;
      findings = [...findings, ...report.findings];
    }
    const lineOf = awsAuthLocator(text.value);
    if (format === 'sarif') {
      const sarif = findingsSarif(findings, { source: file, version: packageVersion(), rules: { ...LINT_RULES, ...CONVERSION_RULES }, lineOf });
      process.stdout.write(`${JSON.stringify(sarif, null, 2)}\n`);
    } else if (format === 'json' || format === 'yaml') {
      const output = { file, findings: findingsJson(findings, lineOf), ...(report ? { accessEntries: { ...report, commands: conversionCommands(report) } } : {}) };
      process.stdout.write(formatStructured(output, format));
    } else {
      process.stdout.write(`${report ? `${formatConversion(file, report)}\n` : ''}${formatFindings(file, findings)}`);
    }
    if (countErrors(findings) > 0) process.exitCode = 1;
  });
}
