#!/usr/bin/env bash
# Builds the Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy, kubectl) from the k8s.io/kubernetes module into the cluster cache, once per version.
#
# k8s.io/kubernetes replaces its k8s.io/<staging> modules with paths inside its own repository,
# which the published module does not carry, so it is built from a small wrapper module that
# requires it and points each of those replaces at the published v0.<minor>.<patch> instead.
#
#   build-kubernetes.sh <version> <output dir>
set -euo pipefail

version=$1 out=$2
[ -x "$out/kubectl" ] && [ "$(cat "$out/.version" 2>/dev/null)" = "$version" ] && exit 0

export GOFLAGS=-mod=mod CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -n "$gomod" ] || { echo "cannot download k8s.io/kubernetes@$version" >&2; exit 1; }
staging=${version/#v1./v0.}
{
  echo "module catalog.test/kubernetes-build"
  grep -m1 '^go ' "$gomod"
  grep -m1 '^godebug ' "$gomod" || true
  echo "require k8s.io/kubernetes $version"
  echo "replace ("
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
  echo ")"
} > "$work/go.mod"

# kube-apiserver refuses nothing without these, but charts' kubeVersion constraints read them.
minor=${version#v1.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

mkdir -p "$out"
cd "$work"
go build -trimpath -ldflags "$ldflags" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kube-proxy \
  k8s.io/kubernetes/cmd/kubectl
echo "$version" > "$out/.version"
