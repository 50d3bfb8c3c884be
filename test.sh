#!/usr/bin/env bash
# The single test command (see README): runs every test of the solution against a real
# RabbitMQ and PostgreSQL, checks the deployment files, and ends with the benchmark's quick run.
#
#   ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Infrastructure]
#
# A green run prints one line per stage with its figures, then the closing line `N passed, N failed` (summed over
# the test projects). A stage that fails prints what it printed; a failing test shows its name, message, stack
# and its own output, which holds the logs of the services it started (a passing test's output is not shown).
#
# Where the servers come from (tests/scripts/ensure-servers.sh, shared with the benchmarks), in this order:
#   1. EVENTIMAGING_TEST_RABBITMQ / EVENTIMAGING_TEST_POSTGRES already set: used as they are.
#   2. EVENTIMAGING_TEST_SERVERS=containers: both left unset, the test fixtures start pinned
#      containers with Testcontainers.
#   3. Otherwise (CI here): Debian's rabbitmq-server and postgresql packages are installed when
#      missing, started on loopback without systemd (or reused when already running), and the
#      variables are exported for the fixtures.
#
# The archive tests' S3-compatible server (tests/scripts/ensure-s3.sh): EVENTIMAGING_TEST_S3 when set, otherwise s3rver
# (npm, pinned in tests/scripts/s3rver) started on 127.0.0.1:4569 and left running for the next run.
# The container stage (tests/containers/check.sh) comes last: it starts a Docker engine when none answers, builds
# every image (on local equivalents of the base images when no registry answers), runs the fixture and core pipeline
# tests through Testcontainers, and runs the Compose stack end to end. Its tests count in the closing line.
#
# EVENTIMAGING_TEST_TARGET overrides what `dotnet test` runs (default EventImaging.sln), e.g.
# tests/EventImaging.IntegrationTests; EVENTIMAGING_TEST_TARGET=compose runs the container stage alone.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

logs="$(mktemp -d)"
# The log of the stage under way, printed if the script ends inside it (ensure-servers.sh exits on failure).
stage_log=
trap 'code=$?; if [ "$code" -ne 0 ] && [ -n "$stage_log" ] && [ -s "$stage_log" ]; then sed "s/^/  /" "$stage_log" >&2; fi; rm -rf "$logs"' EXIT

say() { printf 'test.sh: %s\n' "$*"; }

# Runs a stage with its output in $1, and prints that output only when the stage fails.
quietly() {
    stage_log=$1
    shift
    local code=0
    "$@" >"$stage_log" 2>&1 || code=$?
    if [ "$code" -ne 0 ]; then
        sed 's/^/  /' "$stage_log" >&2
    fi
    stage_log=
    return "$code"
}

# The container stage: one line per step it prints, its test counts added to the closing line.
passed_total=0
failed_total=0
status=0
containers_stage() {
    local code=0
    started=$SECONDS
    quietly "$logs/containers.log" env EVENTIMAGING_TEST_RESULTS="$logs/containers-trx" tests/containers/check.sh || code=$?
    grep '^containers: ' "$logs/containers.log" | grep -v '^containers: tests ' | sed 's/^/test.sh: /' || true
    local counts
    counts=$(sed -n 's/^containers: tests \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/containers.log" | tail -n 1)
    if [ -n "$counts" ]; then
        passed_total=$((passed_total + ${counts% *}))
        failed_total=$((failed_total + ${counts#* }))
    fi
    if [ "$code" -ne 0 ]; then
        say "the container stage failed (exit $code) after $((SECONDS - started)) s"
        status=$code
    else
        say "containers: stage done ($((SECONDS - started)) s)"
    fi
}

if [ "${EVENTIMAGING_TEST_TARGET:-}" = compose ]; then
    containers_stage
    echo "$passed_total passed, $failed_total failed"
    exit "$status"
fi

# --- Servers -----------------------------------------------------------------------------------

started=$SECONDS
# Sourced (under set -e, so not through quietly): exports EVENTIMAGING_TEST_RABBITMQ / EVENTIMAGING_TEST_POSTGRES, or
# leaves them to Testcontainers. Its messages are printed by the EXIT trap if it fails.
stage_log="$logs/servers.log"
. tests/scripts/ensure-servers.sh >"$stage_log" 2>&1
stage_log=
say "servers: $(sed -n 's/^[^:]*: servers: //p' "$logs/servers.log" | head -n 1) ($((SECONDS - started)) s)"

# The S3-compatible server of the archive tests (tests/scripts/ensure-s3.sh): exports EVENTIMAGING_TEST_S3, starting
# s3rver on loopback (or reusing the one a previous run left running) unless the variable is already set.
started=$SECONDS
stage_log="$logs/s3.log"
. tests/scripts/ensure-s3.sh >"$stage_log" 2>&1
stage_log=
say "s3: $(sed -n 's/^[^:]*: s3: //p' "$logs/s3.log" | tail -n 1) ($((SECONDS - started)) s)"

# --- Deployment files --------------------------------------------------------------------------

# The deployment files (k8s/, docker-compose.yml): lint, render every overlay and check every object
# against its published schema offline, then prove the check fails on broken copies. Skipped when the
# run is narrowed with dotnet test arguments (a --filter).
if [ "$#" -eq 0 ]; then
    started=$SECONDS
    quietly "$logs/validate.log" k8s/validate/validate.sh
    quietly "$logs/selftest.log" k8s/validate/validate-selftest.sh
    say "deploy check: k8s/validate/validate.sh $(tail -n 1 "$logs/validate.log" | sed 's/^validate: //'), $(grep -c '^validate: render ' "$logs/validate.log") kustomizations rendered; validate-selftest.sh $(tail -n 1 "$logs/selftest.log" | sed 's/^validate-selftest: //') ($((SECONDS - started)) s)"
fi

# --- Tests -------------------------------------------------------------------------------------

target="${EVENTIMAGING_TEST_TARGET:-EventImaging.sln}"
started=$SECONDS
quietly "$logs/build.log" dotnet build "$target" -c Release -v quiet -nologo
say "build: $target, Release ($((SECONDS - started)) s)"

# The console shows failures only (with each failed test's output); the counts come from one TRX file per test project.
started=$SECONDS
# The Compose stack's tests need the stack that the container stage brings up: left out here, unless the arguments
# bring their own filter.
filter=(--filter "Category!=ComposeStack")
for argument in "$@"; do
    case "$argument" in --filter | --filter=*) filter=() ;; esac
done
dotnet test "$target" -c Release --no-build --logger "console;verbosity=minimal" --logger trx --results-directory "$logs/trx" ${filter[@]+"${filter[@]}"} "$@" \
    >"$logs/test.log" 2>&1 || status=$?
grep -vE '^(Test run for |A total of [0-9]+ test files? matched|VSTest version|Starting test execution|Results File: |(Passed|Failed)!  - Failed: )' "$logs/test.log" \
    | cat -s | sed '/./,$!d' || true

# One TRX attribute's value: trx_attribute FILE ELEMENT ATTRIBUTE.
trx_attribute() { grep -o -m 1 "<$2 [^>]*" "$1" | grep -o " $3=\"[^\"]*\"" | head -n 1 | cut -d'"' -f2; }

for trx in "$logs"/trx/*.trx; do
    codebase=$(trx_attribute "$trx" TestMethod codeBase)
    # A project none of whose tests matches a --filter ran nothing: no line for it.
    [ -n "$codebase" ] || continue
    project=$(basename "$codebase" .dll)
    total=$(trx_attribute "$trx" Counters total)
    executed=$(trx_attribute "$trx" Counters executed)
    passed=$(trx_attribute "$trx" Counters passed)
    failed=$(( $(trx_attribute "$trx" Counters failed) + $(trx_attribute "$trx" Counters error) + $(trx_attribute "$trx" Counters timeout) + $(trx_attribute "$trx" Counters aborted) ))
    seconds=$(( $(date -d "$(trx_attribute "$trx" Times finish)" +%s) - $(date -d "$(trx_attribute "$trx" Times start)" +%s) ))
    case "$project" in
        *.UnitTests) stage="unit tests" ;;
        *.IntegrationTests) stage="integration tests" ;;
        *) stage="tests" ;;
    esac
    say "$stage: $project: $passed passed, $failed failed, $((total - executed)) skipped ($seconds s)"
    passed_total=$((passed_total + passed))
    failed_total=$((failed_total + failed))
done
if [ "$status" -ne 0 ]; then
    say "dotnet test failed (exit $status) after $((SECONDS - started)) s"
fi

# --- Benchmark ---------------------------------------------------------------------------------

# The benchmark's quick run (about 2 minutes): the README's benchmark command still works end to end, and under load
# every callback was answered 200 and gave exactly one event (with archiving on, one carrying its archived copy) and
# every command was submitted (it exits 3 otherwise).
# Its report and console go to a temporary directory, kept only when the run failed; tests/EventImaging.Benchmarks/results
# keeps the last full run. Skipped, like the deployment check, when the run is narrowed (dotnet test arguments,
# EVENTIMAGING_TEST_TARGET).
if [ "$#" -eq 0 ] && [ -z "${EVENTIMAGING_TEST_TARGET:-}" ] && [ "$status" -eq 0 ]; then
    results="$(mktemp -d)"
    started=$SECONDS
    if dotnet run -c Release --project tests/EventImaging.Benchmarks -- --quick --results "$results" >"$results/console.log" 2>&1; then
        # Exit 0 means no fault; the targets are judged by the full run, the quick run's short measurements only report them.
        met="$(grep -o '"met": *true' "$results/latest.json" | wc -l)"
        say "benchmark quick run: no fault, $met of 7 targets met in its short runs ($((SECONDS - started)) s); $(grep -m 1 '^EventImaging benchmark' "$results/console.log" | sed 's/; run .*//')"
        rm -rf "$results"
    else
        status=$?
        grep '^Fault: ' "$results/console.log" | sed 's/^/  /' >&2 || tail -n 40 "$results/console.log" | sed 's/^/  /' >&2
        say "the benchmark's quick run failed (exit $status); its console and report: $results/console.log, $results/latest.md"
    fi
fi

# --- Containers --------------------------------------------------------------------------------

# The images, Testcontainers and the Compose stack (tests/containers/check.sh; a few minutes, most of it building
# images the first time on a machine). Skipped, like the benchmark, when the run is narrowed.
if [ "$#" -eq 0 ] && [ -z "${EVENTIMAGING_TEST_TARGET:-}" ]; then
    containers_stage
fi

echo "$passed_total passed, $failed_total failed"
exit "$status"
