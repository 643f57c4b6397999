/**
 * The "pod" of the demo: unmodified AWS SDK code. It runs in its own process with only the
 * environment the webhook's patch injected, so the SDK's default credential chain finds the web
 * identity token exactly as it would in a cluster. Prints one JSON line.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

const client = new STSClient({});
try {
  const identity = await client.send(new GetCallerIdentityCommand({}));
  process.stdout.write(`${JSON.stringify({ ok: true, arn: identity.Arn, account: identity.Account, userId: identity.UserId })}\n`);
} catch (error) {
  const { name, message } = error as Error;
  process.stdout.write(`${JSON.stringify({ ok: false, code: name, message })}\n`);
  process.exitCode = 1;
}
