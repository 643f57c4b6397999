/**
 * AWS STS hosts a cluster token may point at, and the partition each belongs to. No dependencies:
 * the command line reads the partitions for its flag without loading the token code's SDK signer.
 */
/** `sts.amazonaws.com` and the regional and FIPS forms (`sts.REGION.amazonaws.com[.cn]`). */
export const AWS_STS_HOST = /^sts(?:-fips)?(?:\.([a-z]{2}(?:-[a-z]+)+-\d+))?\.amazonaws\.com(\.cn)?$/;

/** The partitions whose STS hosts have the shapes above (aws-iam-authenticator's `--partition`). */
export const STS_PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;
export type StsPartition = (typeof STS_PARTITIONS)[number];

/** The partition of an AWS STS host, by its region and domain; undefined for a region and domain that do not go together. */
export function stsHostPartition(hostname: string): StsPartition | undefined {
  const match = AWS_STS_HOST.exec(hostname);
  if (!match) return undefined;
  const region = match[1] ?? '';
  if (match[2] !== undefined) return region.startsWith('cn-') ? 'aws-cn' : undefined;
  if (region.startsWith('cn-')) return undefined;
  return region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}
