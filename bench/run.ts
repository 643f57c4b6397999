/**
 * npm run bench [-- --quick] [--only=admission,engine,cache,apiserver,sts,login] [--sizes=1,10] [--connections=1,32]
 *                [--no-pin] [--busy-wait=N] [--compare=DIR,...] [--peer-module=DIR|MODULE@VERSION | --peer-binary=PATH] [--peer-review=v1|v1beta1]
 *                [--no-peer] [--kubernetes=1.30] [--api-containers=N] [--runs=N] [--duration=SECONDS]
 *
 * Measures admission over HTTPS against the AWS Go webhook (the peer) and two bare baselines in
 * separate processes (echo: the transport ceiling; work: the least work the design requires), also
 * pinned to one core; the engine alone; the ServiceAccount cache with 50,000 ServiceAccounts listed
 * and watched from another process, beside the peer; dry-run pod creations through a real
 * kube-apiserver with no webhook, ours, the peer and a minimal stand-in; and the lab STS against bare
 * jose verification. Prints tables with PASS/FAIL/SKIPPED per target and writes bench/results.json.
 * Every figure is a ratio to a baseline measured in the same run.
 *
 * This launcher only finds (or builds) the peer first, while the network is there for `go install`:
 * the peer listens on every interface, so when there is one the whole benchmark runs again inside a
 * network namespace of its own, where loopback is the only interface (bench/peer.ts).
 */
import { spawn } from 'node:child_process';
import { interfaces, NETNS_MARK, type PeerResolution, privateNetwork, resolvePeer } from './peer.js';

const argv = process.argv.slice(2);
const only = argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const needsPeer = ['admission', 'cache', 'apiserver'].some((section) => only === undefined || only.includes(section));
const say = (text: string): void => void process.stderr.write(`${text}\n`);

let peer: PeerResolution = needsPeer ? await resolvePeer(argv, say) : { ok: false, reason: 'not used by the sections run' };
if (!peer.ok && needsPeer) say(`peer not available: ${peer.reason}`);

if (peer.ok && process.env[NETNS_MARK] !== '1') {
  const network = privateNetwork();
  if (network.ok) {
    say(`peer ${peer.peer.source}: running the benchmark inside a private network namespace (loopback only)`);
    const [command, ...prefix] = network.prefix;
    const child = spawn(command!, [...prefix, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [NETNS_MARK]: '1', PIW_BENCH_PEER_BINARY: peer.peer.binary, PIW_BENCH_PEER_SOURCE: peer.peer.source },
    });
    // The benchmark inside stops its own servers on SIGTERM: pass interruptions on and wait for it.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill('SIGTERM'));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
  } else {
    peer = { ok: false, reason: `it listens on every interface (it has no bind-address flag), and here there is ${network.reason}` };
    say(`peer not run: ${peer.reason}`);
  }
}

if (!peer.ok || process.env[NETNS_MARK] === '1') {
  if (peer.ok && (interfaces().length !== 1 || interfaces()[0] !== 'lo')) {
    peer = { ok: false, reason: `it listens on every interface, and this network namespace has ${interfaces().join(', ')}` };
  }
  const { main } = await import('./main.js');
  await main(peer);
}
