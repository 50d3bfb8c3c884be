#!/usr/bin/env bash
# The single test command (see README): runs every test of the solution against a real
# RabbitMQ and PostgreSQL, checks the deployment files, and ends with the benchmark's quick run.
#
#   ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Infrastructure]
#
# Where the servers come from (tests/scripts/ensure-servers.sh, shared with the benchmarks), in this order:
#   1. EVENTIMAGING_TEST_RABBITMQ / EVENTIMAGING_TEST_POSTGRES already set: used as they are.
#   2. A Docker engine answers: both left unset, the test fixtures start pinned containers
#      with Testcontainers.
#   3. Otherwise (CI here): Debian's rabbitmq-server and postgresql packages are installed when
#      missing, started on loopback without systemd (or reused when already running), and the
#      variables are exported for the fixtures.
#
# EVENTIMAGING_TEST_TARGET overrides what `dotnet test` runs (default EventImaging.sln), e.g.
# tests/EventImaging.IntegrationTests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

# Exports EVENTIMAGING_TEST_RABBITMQ / EVENTIMAGING_TEST_POSTGRES, or leaves them to Testcontainers.
. tests/scripts/ensure-servers.sh

# --- Tests -----------------------------------------------------------------------------------

# The deployment files (k8s/, docker-compose.yml): lint, render every overlay and check every object
# against its published schema offline, then prove the check fails on broken copies. Skipped when the
# run is narrowed with dotnet test arguments (a --filter).
if [ "$#" -eq 0 ]; then
    step "k8s/validate/validate.sh, k8s/validate/validate-selftest.sh"
    k8s/validate/validate.sh
    k8s/validate/validate-selftest.sh
fi

target="${EVENTIMAGING_TEST_TARGET:-EventImaging.sln}"
step "dotnet test $target -c Release $*"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test "$target" -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?

# The services' logs make the output long; repeat each failure (name, message, stack) at the end, where a
# truncated CI log still shows it.
if [ "$status" -ne 0 ]; then
    step "failed tests (repeated from above)"
    awk '/^  Failed /{ shown = 1; lines = 0 }
         shown && (/^  (Passed|Skipped) / || /^ *Standard Output Messages:/ || /^\{/ || lines > 40){ shown = 0 }
         shown { print; lines++ }' "$log"
fi

# The benchmark's quick run (about 2 minutes): the README's benchmark command still works end to end, and under load
# every callback was answered 200 and gave exactly one event and every command was submitted (it exits 3 otherwise).
# Its report goes to a temporary directory, kept only when the run failed; tests/EventImaging.Benchmarks/results keeps the last full
# run. Skipped, like the deployment check, when the run is narrowed (dotnet test arguments, EVENTIMAGING_TEST_TARGET).
if [ "$#" -eq 0 ] && [ -z "${EVENTIMAGING_TEST_TARGET:-}" ] && [ "$status" -eq 0 ]; then
    results="$(mktemp -d)"
    step "dotnet run -c Release --project tests/EventImaging.Benchmarks -- --quick --results $results"
    if dotnet run -c Release --project tests/EventImaging.Benchmarks -- --quick --results "$results"; then
        rm -rf "$results"
    else
        status=$?
        step "the benchmark's quick run failed (exit $status); its report, if it got that far: $results/latest.md"
    fi
fi
exit "$status"
