#!/usr/bin/env bash
# Builds the binaries of the real-cluster tests (test/e2e) once, into a cache outside the git tree:
# etcd (test/e2e/tools/etcd-*), the control plane (kube-apiserver, kubectl) of each
# test/e2e/tools/k8s-* module and a node's components (kubelet, kube-scheduler,
# kube-controller-manager, kube-proxy) of the newest, helm, promtool, the pause program of a pod
# sandbox, the Go SDK's caller (test/e2e/tools/sts-caller), CoreDNS and aws-iam-authenticator
# (test/e2e/tools/aws-iam-authenticator-*, the reference of test/e2e/authenticator-reference.e2e.ts). A component already built
# from the same module (go.mod + go.sum) with the same recipe (Go version, tags, flags) is skipped. Prints every component's version. `npm run test:e2e` and CI run it.
#
#   PIW_E2E_CACHE  the cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/pod-identity-webhook/e2e);
#                  test/e2e/support/components.ts finds the binaries by the same rules.
#
# Every build shares Go's own GOCACHE and GOMODCACHE (set them to move them). Builds run one at a
# time: a lock in the cache makes a second run wait for the first.
set -euo pipefail

tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/tools" && pwd)
cache=${PIW_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pod-identity-webhook/e2e}
helm_version=v3.22.0
cert_manager_version=v1.21.2
prometheus_operator_version=v0.85.0
# Prometheus v3.16.0: its Go module is tagged v0.<major*100+minor>.<patch>.
prometheus_version=v0.316.0
coredns_version=v1.14.7

# Never fetch another toolchain; static binaries.
export GOTOOLCHAIN=local CGO_ENABLED=0
go_version=$(go env GOVERSION)

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -w 3600 9; then
  echo "build-components: $cache/.lock still held by another build after an hour" >&2
  exit 1
fi

# The version a tools module requires its main dependency at (its one single-line require).
required_version() {
  sed -n 's/^require [^ ]* \(v[^ ]*\)$/\1/p' "$1/go.mod" | head -n 1
}

# <kind>-<version>-<first 16 hex of sha256(go.mod go.sum)>: a changed module gets a new directory.
module_key() {
  local dir=$1 kind
  kind=$(basename "$dir")
  kind=${kind%-*}
  echo "$kind-$(required_version "$dir")-$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)"
}

# True when $1 holds every listed binary and was built with recipe $2.
up_to_date() {
  local out=$1 recipe=$2 binary
  shift 2
  [[ -f $out/recipe && $(cat "$out/recipe") == "$recipe" ]] || return 1
  for binary in "$@"; do [[ -x $out/$binary ]] || return 1; done
}

# build_binary <module dir> <out dir> <binary> <package> <tags> <ldflags>
build_binary() {
  local module=$1 out=$2 binary=$3 package=$4 tags=$5 ldflags=$6 start=$SECONDS
  echo "build-components: building $binary ($package) ..."
  (cd "$module" && go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out/$binary" "$package")
  echo "build-components: built $binary in $((SECONDS - start)) s"
}

# Builds into a scratch directory renamed into place at the end, so an interrupted build leaves
# nothing that looks complete.
fresh_dir() {
  local final=$1
  rm -rf "$final" "$final.partial"
  mkdir -p "$final.partial"
  echo "$final.partial"
}

finish_dir() {
  local final=$1 recipe=$2
  echo "$recipe" >"$final.partial/recipe"
  mv "$final.partial" "$final"
}

build_etcd() {
  local module=$1 out tags="" ldflags="-s -w" recipe tmp
  out=$cache/$(module_key "$module")
  recipe="$go_version tags=$tags ldflags=$ldflags"
  if ! up_to_date "$out" "$recipe" etcd; then
    tmp=$(fresh_dir "$out")
    build_binary "$module" "$tmp" etcd go.etcd.io/etcd/server/v3 "$tags" "$ldflags"
    finish_dir "$out" "$recipe"
  fi
  echo "== etcd ($out)"
  "$out/etcd" --version
}

build_kubernetes() {
  local module=$1 version out tags=selinux,notest,grpcnotrace ldflags recipe tmp minor package
  version=$(required_version "$module")
  minor=${version#v1.}
  minor=${minor%%.*}
  # What hack/lib/version.sh stamps into a release, so --version and /version tell the truth.
  ldflags="-s -w"
  for package in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $package.gitVersion=$version -X $package.gitMajor=1 -X $package.gitMinor=$minor -X $package.gitTreeState=archive"
  done
  out=$cache/$(module_key "$module")
  recipe="$go_version tags=$tags ldflags=$ldflags"
  local commands=(kube-apiserver kubectl) command
  # The node (test/e2e/node) runs the newest release only: its components would double the cold build.
  [[ $module == "$newest_kubernetes" ]] && commands+=(kubelet kube-scheduler kube-controller-manager kube-proxy)
  if ! up_to_date "$out" "$recipe" "${commands[@]}"; then
    tmp=$(fresh_dir "$out")
    for command in "${commands[@]}"; do
      build_binary "$module" "$tmp" "$command" "k8s.io/kubernetes/cmd/$command" "$tags" "$ldflags"
    done
    finish_dir "$out" "$recipe"
  fi
  echo "== ${commands[*]} $version ($out)"
  local printed
  printed=$("$out/kube-apiserver" --version)
  echo "$printed"
  if [[ $printed != "Kubernetes $version" ]]; then
    echo "build-components: kube-apiserver says \"$printed\", expected \"Kubernetes $version\"" >&2
    exit 1
  fi
  "$out/kubectl" version --client
}

# go_install <out dir> <binary> <package@version> <ldflags> [<tags>]: `go install` from the module
# proxy into <out dir>, unless it holds <binary> built with the same Go, flags and tags.
go_install() {
  local out=$1 binary=$2 package=$3 ldflags=$4 tags=${5:-} recipe tmp start=$SECONDS
  recipe="$go_version ldflags=$ldflags"
  [[ -z $tags ]] || recipe+=" tags=$tags"
  if ! up_to_date "$out" "$recipe" "$binary"; then
    tmp=$(fresh_dir "$out")
    echo "build-components: building $binary ($package) ..."
    GOBIN=$tmp go install -trimpath -tags "$tags" -ldflags "$ldflags" "$package"
    echo "build-components: built $binary in $((SECONDS - start)) s"
    finish_dir "$out" "$recipe"
  fi
  echo "== $binary ($out)"
}

build_helm() {
  local out=$cache/helm-$helm_version ldflags gomod client_minor
  # Helm's Makefile derives the Kubernetes version `helm template` assumes (.Capabilities.KubeVersion)
  # from the client-go it is built with: v0.37.x gives 1.37.
  gomod=$(go mod download -json "helm.sh/helm/v3@$helm_version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  client_minor=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod")
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$client_minor"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$client_minor"
  go_install "$out" helm "helm.sh/helm/v3/cmd/helm@$helm_version" "$ldflags"
  "$out/helm" version
}

# The CustomResourceDefinitions of cert-manager and the Prometheus operator, from their Go modules
# (the module zips carry them), for server-side dry runs of the chart's and overlays' custom objects.
fetch_crds() {
  local out=$cache/crds dir
  if [[ -f $out/recipe && $(cat "$out/recipe") == "cert-manager $cert_manager_version prometheus-operator $prometheus_operator_version" ]]; then
    echo "== CRDs ($out): $(ls "$out" | grep -c yaml) files"
    return
  fi
  rm -rf "$out" "$out.partial"
  mkdir -p "$out.partial"
  dir=$(go mod download -json "github.com/cert-manager/cert-manager@$cert_manager_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp "$dir"/deploy/crds/cert-manager.io_*.yaml "$out.partial/"
  dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$prometheus_operator_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp "$dir"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$out.partial/"
  chmod u+w "$out.partial"/*.yaml
  echo "cert-manager $cert_manager_version prometheus-operator $prometheus_operator_version" >"$out.partial/recipe"
  mv "$out.partial" "$out"
  echo "== CRDs ($out): $(ls "$out" | grep -c yaml) files"
}

# promtool (`check rules`, `test rules`) for the alerting rules of the chart and the manifests.
build_promtool() {
  local out=$cache/promtool-$prometheus_version ldflags release
  # v0.316.0 is Prometheus 3.16.0: what `promtool --version` says.
  release=${prometheus_version#v0.}
  release="$((${release%%.*} / 100)).$((${release%%.*} % 100)).${release#*.}"
  ldflags="-s -w -X github.com/prometheus/common/version.Version=$release"
  # remove_all_sd leaves out every service discovery but file and http (Prometheus's plugins/ build
  # tags): rule checks and rule unit tests need none, and the cloud SDKs were most of a cold build.
  go_install "$out" promtool "github.com/prometheus/prometheus/cmd/promtool@$prometheus_version" "$ldflags" remove_all_sd
  "$out/promtool" --version
}

# The program a pod sandbox runs (its source ships in the k8s.io/kubernetes module), static, for the
# pause image the node tests assemble; built from the newest k8s-* module's copy.
build_pause() {
  local module=$1 version dir out recipe tmp
  version=$(required_version "$module")
  out=$cache/pause-$version
  recipe="$(gcc -dumpfullversion) -static -O2"
  if ! up_to_date "$out" "$recipe" pause; then
    tmp=$(fresh_dir "$out")
    dir=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    gcc -static -O2 -Wall -Werror -DVERSION="$version" -o "$tmp/pause" "$dir/build/pause/linux/pause.c"
    finish_dir "$out" "$recipe"
  fi
  echo "== pause ($out)"
}

# The AWS SDK for Go v2 program the node tests run in a pod (test/e2e/tools/sts-caller), static.
build_sts_caller() {
  local module=$tools/sts-caller out recipe tmp
  out=$cache/sts-caller-$(cat "$module/go.mod" "$module/go.sum" "$module/main.go" | sha256sum | cut -c1-16)
  recipe="$go_version ldflags=-s -w"
  if ! up_to_date "$out" "$recipe" sts-caller; then
    tmp=$(fresh_dir "$out")
    build_binary "$module" "$tmp" sts-caller . "" "-s -w"
    finish_dir "$out" "$recipe"
  fi
  echo "== sts-caller ($out)"
}

# The node's cluster DNS (test/e2e/node), as every cluster has one: Services by name from pods.
build_coredns() {
  local out=$cache/coredns-$coredns_version
  go_install "$out" coredns "github.com/coredns/coredns@$coredns_version" "-s -w"
  "$out/coredns" -version | head -n 1
}

# The reference cluster-login server (test/e2e/tools/aws-iam-authenticator-*): its main package built
# through our module, which copies its replace of google.golang.org/protobuf. The version stamped is
# what its Makefile stamps (hack/get-version.sh: v + version.txt).
build_aws_iam_authenticator() {
  local module=$1 version out ldflags recipe tmp
  version=$(required_version "$module")
  out=$cache/$(module_key "$module")
  ldflags="-s -w -X sigs.k8s.io/aws-iam-authenticator/pkg.Version=$version"
  recipe="$go_version ldflags=$ldflags"
  if ! up_to_date "$out" "$recipe" aws-iam-authenticator; then
    tmp=$(fresh_dir "$out")
    build_binary "$module" "$tmp" aws-iam-authenticator sigs.k8s.io/aws-iam-authenticator/cmd/aws-iam-authenticator "" "$ldflags"
    finish_dir "$out" "$recipe"
  fi
  echo "== aws-iam-authenticator ($out)"
  "$out/aws-iam-authenticator" version --short
}

total=$SECONDS
echo "build-components: $go_version, cache $cache"
for module in "$tools"/etcd-*/; do build_etcd "${module%/}"; done
newest_kubernetes=$(ls -d "$tools"/k8s-*/ | sort -V | tail -n 1)
newest_kubernetes=${newest_kubernetes%/}
for module in "$tools"/k8s-*/; do build_kubernetes "${module%/}"; done
build_helm
fetch_crds
build_promtool
build_pause "$newest_kubernetes"
build_sts_caller
build_coredns
for module in "$tools"/aws-iam-authenticator-*/; do build_aws_iam_authenticator "${module%/}"; done
echo "build-components: done in $((SECONDS - total)) s"
