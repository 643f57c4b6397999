#!/usr/bin/env bash
# Runs the node tests (test/e2e/node/*.e2e.ts, compiled to dist/) inside namespaces of their own: a
# network namespace holding only loopback, the node's bridge and the pod bridge the CNI plugin makes, a
# private mount namespace (every overlay, tmpfs and netns mount the node makes disappears with it) and
# a PID namespace whose first process is this script's inner half, so that when the tests end, however
# they end, the kernel kills every process of the node: containerd, its shims, the kubelet, the pods.
# What outlives the namespaces is removed here: the node's state directory and its cgroups.
#
#   PIW_E2E_NODE=skip   skip the node tests (they need root, unshare, containerd, runc and the CNI plugins)
set -euo pipefail
cd "$(dirname "$0")/../../.."

if [[ ${1:-} == --inside ]]; then
  # The first process of the new PID namespace. Loopback and the node's address: the kubelet refuses a
  # loopback node IP, and 169.254.170.23 is where the EKS Pod Identity agent listens on a node.
  ip link set lo up
  ip link add piw-node type bridge
  ip addr add "$PIW_NODE_IP/24" dev piw-node
  ip addr add 169.254.170.23/32 dev piw-node
  ip link set piw-node up
  # A node routes the Service range somewhere, so that connect() to a ClusterIP gets as far as
  # kube-proxy's DNAT instead of failing with "network is unreachable" (the namespace has no default
  # route: nothing leaves it). The range is test/e2e/support/node/node.ts's SERVICE_RANGE.
  ip route add 10.96.0.0/24 dev piw-node
  # Pods reach Services through kube-proxy's rules, which bridged traffic must pass.
  echo 1 >/proc/sys/net/ipv4/ip_forward
  echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
  # containerd mounts each pod's network namespace under /run/netns: a tmpfs of this namespace's own.
  mkdir -p /run/netns
  mount -t tmpfs -o mode=0755 tmpfs /run/netns
  rc=0
  # The Node npm ci installed (the tests spawn their child processes with process.execPath).
  node_modules/.bin/node node_modules/mocha/bin/mocha.js --config .mocharc.node.json "${@:2}" || rc=$?
  exit "$rc"
fi

if [[ ${PIW_E2E_NODE:-} == skip ]]; then
  echo "node tests: skipped (PIW_E2E_NODE=skip)"
  exit 0
fi
missing=()
[[ $(id -u) == 0 ]] || missing+=("root (network, mount and PID namespaces, cgroups)")
for command in unshare ip iptables containerd containerd-shim-runc-v2 runc ctr; do
  command -v "$command" >/dev/null || missing+=("$command")
done
for plugin in bridge host-local loopback portmap; do
  [[ -x /usr/lib/cni/$plugin ]] || missing+=("/usr/lib/cni/$plugin")
done
if ((${#missing[@]})); then
  echo "node tests: missing ${missing[*]}." >&2
  echo "  As root: apt-get install containerd runc containernetworking-plugins iptables (or set PIW_E2E_NODE=skip to skip them)" >&2
  exit 1
fi

# Everything the node writes: containerd's content and snapshots, the kubelet's root, pod logs.
state=$(mktemp -d "${TMPDIR:-/tmp}/piw-node-XXXXXX")
id=$(basename "$state")
# The kubelet's cgroup root, one per run in every v1 hierarchy (and the v2 one if mounted).
cgroup_root=/$id
cleanup() {
  local hierarchy dir attempt
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -d $hierarchy$id ]] || continue
    # Deepest first; a cgroup whose last process is still exiting refuses rmdir for a moment.
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      while IFS= read -r dir; do rmdir "$dir" 2>/dev/null || true; done < <(find "$hierarchy$id" -depth -type d)
      [[ -d $hierarchy$id ]] || break
      sleep 0.5
    done
    [[ -d $hierarchy$id ]] && echo "node tests: could not remove the cgroup $hierarchy$id" >&2
  done
  rm -rf "$state"
}
trap cleanup EXIT
for hierarchy in /sys/fs/cgroup/*/; do
  [[ -f ${hierarchy}cgroup.procs ]] || continue
  mkdir "$hierarchy$id"
  # A new v1 cpuset cgroup holds no CPUs or memory nodes until given its parent's.
  if [[ -f ${hierarchy}cpuset.cpus ]]; then
    cat "${hierarchy}cpuset.cpus" >"$hierarchy$id/cpuset.cpus"
    cat "${hierarchy}cpuset.mems" >"$hierarchy$id/cpuset.mems"
  fi
done

export PIW_NODE_STATE=$state PIW_NODE_CGROUP_ROOT=$cgroup_root PIW_NODE_IP=${PIW_NODE_IP:-10.200.0.2}
started=$SECONDS
rc=0
unshare --net --mount --propagation private --pid --fork --mount-proc -- bash "$0" --inside "$@" || rc=$?
echo "node tests: took $((SECONDS - started)) s"
exit "$rc"
