/** `demo --pod-identity`: runs the Pod Identity demo and prints what happened, as `demo` does for IRSA. */
export async function runPodIdentityDemoCommand(): Promise<void> {
  const { runPodIdentityDemo } = await import('../lab/pod-identity-demo.js');
  const report = await runPodIdentityDemo();
  const line = (label: string, text: string): void => void process.stdout.write(`${label.padEnd(10)}${text}\n`);
  line('issuer', report.issuer);
  line('sts', `${report.stsUrl} (and EKS Auth)`);
  line('agent', `${report.agentUrl}/v1/credentials`);
  line('identities', report.identities.replace(/\s+/g, ' ').trim());
  const runs = [
    { run: report.allowed, what: 'associated with a role that trusts pods.eks.amazonaws.com' },
    { run: report.notAssociated, what: 'listed for the webhook, but no association' },
    { run: report.noTagSession, what: "associated with a role whose trust policy lacks sts:TagSession" },
  ];
  for (const { run, what } of runs) {
    process.stdout.write('\n');
    line('pod', `default/${run.serviceAccount} (ServiceAccount ${run.serviceAccount}: ${what})`);
    for (const [name, value] of Object.entries(run.env)) line('', `${name}=${value}`);
    if (run.result.ok) line('identity', `GetCallerIdentity with the AWS SDK default chain → ${run.result.arn}`);
    else {
      line('denied', `${run.result.code}: ${run.result.message}`);
      for (const answer of run.agentAnswers) line('agent', `${answer.times > 1 ? `${answer.times} × ` : ''}${answer.status} ${answer.body}`);
    }
  }
  const denied = (run: typeof report.allowed, code: string): boolean => !run.result.ok && (run.agentAnswers[0]?.body.includes(`(${code})`) ?? false);
  const expected = report.allowed.result.ok && denied(report.notAssociated, 'ResourceNotFoundException') && denied(report.noTagSession, 'AccessDeniedException');
  process.stdout.write(`\n${expected ? 'EKS Auth gave demo-app its role, and refused the pod without an association and the role without sts:TagSession' : 'UNEXPECTED: see the results above'}\n`);
  if (!expected) process.exitCode = 1;
}
