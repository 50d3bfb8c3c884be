#!/usr/bin/env bash
# The container stage of test.sh (also `EVENTIMAGING_TEST_TARGET=compose ./test.sh`, or this script alone): the
# images build, the integration tests' fixtures run on Testcontainers, and the Compose stack runs end to end.
#
#   tests/containers/check.sh
#
#   1. engine      tests/containers/ensure-engine.sh: a Docker engine and a Compose command
#   2. base images the official ones when a registry answers (pulled); otherwise the local equivalents that
#                  tests/containers/local-images.sh builds from Debian's packages. EVENTIMAGING_CONTAINER_IMAGES=official
#                  or =local decides instead of the pull.
#   3. images      every services/*/Dockerfile, unchanged, on those base images (--network none for the local ones)
#   4. testcontainers
#                  the fixture tests and the core pipeline tests, with EVENTIMAGING_TEST_RABBITMQ / _POSTGRES unset so
#                  the fixtures start RabbitMQ and PostgreSQL with Testcontainers (on the local images, with the
#                  resource reaper off, when its image cannot be had)
#   5. compose     docker-compose.yml (+ tests/containers/compose.local-images.yml when local, + compose.check.yml:
#                  160 MiB per EventImaging container) up as project eventimaging-check on free loopback ports; waits
#                  for every health check; ComposeStackTests publish commands from outside and receive the events;
#                  then each EventImaging container is checked as it ran: its process's user is not root, its root
#                  file system is read-only, it holds no capability, it was not OOM-killed and never restarted
#   6. host        the Host image alone, run as the compose file runs the services (read-only, no capabilities,
#                  160 MiB): a request posted from outside completes, and the container is checked the same way
#   7. teardown    docker compose down -v (also when a step fails)
#
# Prints one line per step with its figures, each line starting "containers: "; the last one is
# "containers: tests N passed, N failed". A failing step prints its output (and the stack's logs).
# EVENTIMAGING_TEST_RESULTS: where the test runs' TRX files go (a temporary directory otherwise).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

readonly PROJECT=eventimaging-check
readonly HEALTH_TIMEOUT_SECONDS=240
readonly MEMORY_LIMIT_BYTES=$((160 * 1024 * 1024))
# Service name in docker-compose.yml, the image it names, the project whose Dockerfile builds it.
readonly SERVICES=(
    "simulator eventimaging/simulator:dev EventImaging.ProviderSimulator"
    "migrator eventimaging/migrator:dev EventImaging.Migrator"
    "submitter eventimaging/submitter:dev EventImaging.Submitter"
    "webhook-receiver eventimaging/webhook-receiver:dev EventImaging.WebhookReceiver"
    "host eventimaging/host:dev EventImaging.Host"
)
readonly TEST_PROJECT=tests/EventImaging.IntegrationTests

work=$(mktemp -d)
results=${EVENTIMAGING_TEST_RESULTS:-$work/results}
mkdir -p "$results"
compose_up=

say() { printf 'containers: %s\n' "$*"; }

# Runs a step's command with its output in a log, printed only when it fails.
logged() {
    local log=$1
    shift
    local code=0
    "$@" >"$log" 2>&1 || code=$?
    if [ "$code" -ne 0 ]; then
        sed 's/^/  /' "$log" >&2
    fi
    return "$code"
}
fail() { printf 'containers: FAILED: %s\n' "$*" >&2; exit 1; }

if docker compose version >/dev/null 2>&1; then
    compose_command=(docker compose)
else
    compose_command=(docker-compose)
fi
compose_files=(-f docker-compose.yml)
compose() { "${compose_command[@]}" -p "$PROJECT" "${compose_files[@]}" "$@"; }

teardown() {
    local code=$?
    if [ -n "${host_container:-}" ]; then
        docker rm -f "$host_container" >/dev/null 2>&1 || true
    fi
    if [ -n "$compose_up" ]; then
        if [ "$code" -ne 0 ]; then
            echo "--- the stack's logs (last 40 lines per container)" >&2
            compose logs --no-color --tail=40 >&2 2>&1 || true
        fi
        local started=$SECONDS
        if compose down -v --remove-orphans >"$work/down.log" 2>&1; then
            say "teardown: compose down -v ($((SECONDS - started)) s)"
        else
            sed 's/^/  /' "$work/down.log" >&2
        fi
    fi
    rm -rf "$work"
    exit "$code"
}
trap teardown EXIT

# --- 1. Engine -------------------------------------------------------------------------------------

started=$SECONDS
logged "$work/engine.log" "$here/ensure-engine.sh" || fail "no Docker engine (output above)"
say "engine: $(sed -n 's/^ensure-engine: engine: //p' "$work/engine.log" | head -n 1); $(sed -n 's/^ensure-engine: compose: //p' "$work/engine.log") ($((SECONDS - started)) s)"

# --- 2. Base images --------------------------------------------------------------------------------

started=$SECONDS
images=${EVENTIMAGING_CONTAINER_IMAGES:-auto}
if [ "$images" = auto ]; then
    # One pull answers whether a registry is reachable; here it either starts or fails within a second.
    if timeout 600 docker pull -q mcr.microsoft.com/dotnet/sdk:10.0 >"$work/pull.log" 2>&1; then
        images=official
    else
        images=local
    fi
fi
build_args=()
case "$images" in
    official)
        for image in mcr.microsoft.com/dotnet/sdk:10.0 mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled; do
            logged "$work/pull.log" docker pull -q "$image" || fail "docker pull $image"
        done
        logged "$work/pull.log" compose pull -q rabbitmq postgres jaeger || fail "docker compose pull"
        say "base images: official, pulled ($((SECONDS - started)) s)"
        ;;
    local)
        logged "$work/local-images.log" "$here/local-images.sh" || fail "tests/containers/local-images.sh (output above)"
        build_args=(--network none
            --build-arg SDK_IMAGE=eventimaging-local/dotnet-sdk:10.0
            --build-arg RUNTIME_IMAGE=eventimaging-local/dotnet-aspnet:10.0)
        compose_files+=(-f tests/containers/compose.local-images.yml)
        export EVENTIMAGING_TEST_RABBITMQ_IMAGE=eventimaging-local/rabbitmq:3-management
        export EVENTIMAGING_TEST_POSTGRES_IMAGE=eventimaging-local/postgres:15
        # Testcontainers' resource reaper is an image of its own (testcontainers/ryuk), which no registry serves
        # here; the fixtures dispose of their containers themselves.
        export TESTCONTAINERS_RYUK_DISABLED=true
        sizes=$(sed -n 's/^local-images: eventimaging-local\/\([^ ]*\) \([0-9]* MB\)$/\1 \2/p' "$work/local-images.log" | paste -sd ',' | sed 's/,/, /g')
        say "base images: local, no registry answers (${sizes}) ($((SECONDS - started)) s)"
        ;;
    *) fail "EVENTIMAGING_CONTAINER_IMAGES must be auto, official or local (it is '$images')" ;;
esac
compose_files+=(-f tests/containers/compose.check.yml)

# --- 3. Service images -----------------------------------------------------------------------------

started=$SECONDS
built=()
for service in "${SERVICES[@]}"; do
    read -r _ image project <<<"$service"
    step_started=$SECONDS
    logged "$work/build-$project.log" docker build "${build_args[@]}" --force-rm -f "services/$project/Dockerfile" -t "$image" . ||
        fail "docker build of services/$project/Dockerfile"
    built+=("${image%%:*} $(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1000 / 1000 }') $((SECONDS - step_started)) s")
done
say "images: $(printf '%s, ' "${built[@]}" | sed 's/, $//') ($((SECONDS - started)) s)"

# --- Test runs -------------------------------------------------------------------------------------

passed_total=0
failed_total=0
trx_attribute() { grep -o -m 1 "<$2 [^>]*" "$1" | grep -o " $3=\"[^\"]*\"" | head -n 1 | cut -d'"' -f2; }

# run_tests NAME FILTER: runs the integration tests that FILTER selects; prints their counts.
run_tests() {
    local name=$1 filter=$2 status=0
    rm -rf "$work/trx"
    env -u EVENTIMAGING_TEST_RABBITMQ -u EVENTIMAGING_TEST_POSTGRES -u EVENTIMAGING_TEST_RABBITMQ_MANAGEMENT \
        dotnet test "$TEST_PROJECT" -c Release --no-build --filter "$filter" \
        --logger "console;verbosity=minimal" --logger trx --results-directory "$work/trx" >"$work/$name.log" 2>&1 || status=$?
    local trx
    trx=$(find "$work/trx" -name '*.trx' | head -n 1)
    local passed=0 failed=0 total=0
    if [ -n "$trx" ]; then
        cp "$trx" "$results/$name.trx"
        total=$(trx_attribute "$trx" Counters total)
        passed=$(trx_attribute "$trx" Counters passed)
        failed=$(( $(trx_attribute "$trx" Counters failed) + $(trx_attribute "$trx" Counters error) + $(trx_attribute "$trx" Counters timeout) + $(trx_attribute "$trx" Counters aborted) ))
    fi
    passed_total=$((passed_total + passed))
    failed_total=$((failed_total + failed))
    if [ "$status" -ne 0 ] || [ "$total" -eq 0 ]; then
        sed 's/^/  /' "$work/$name.log" >&2
        echo "containers: tests $passed_total passed, $((failed_total > 0 ? failed_total : 1)) failed"
        fail "$name: dotnet test exited $status ($passed passed, $failed failed of $total)"
    fi
    tests_summary="$passed passed, $failed failed"
}

# Testcontainers asks for Docker API 1.44 (Docker 25) unless DOCKER_API_VERSION names another; Debian bookworm's
# engine (20.10) serves up to 1.41, which is enough for what the fixtures do.
api_version=$(docker version -f '{{.Server.APIVersion}}')
if [ "$(printf '%s\n' "$api_version" 1.44 | sort -V | head -n 1)" != 1.44 ]; then
    export DOCKER_API_VERSION="$api_version"
fi

started=$SECONDS
logged "$work/test-build.log" dotnet build "$TEST_PROJECT" -c Release -v quiet -nologo || fail "dotnet build $TEST_PROJECT"
test_build_seconds=$((SECONDS - started))

# --- 4. Testcontainers -----------------------------------------------------------------------------

started=$SECONDS
run_tests testcontainers 'FullyQualifiedName~EventImaging.IntegrationTests.Infrastructure.FixtureTests|FullyQualifiedName~EventImaging.IntegrationTests.Pipeline.CorePipelineTests'
say "testcontainers: FixtureTests and CorePipelineTests on ${EVENTIMAGING_TEST_RABBITMQ_IMAGE:-the pinned images}${EVENTIMAGING_TEST_POSTGRES_IMAGE:+ and $EVENTIMAGING_TEST_POSTGRES_IMAGE}${TESTCONTAINERS_RYUK_DISABLED:+, resource reaper off}: $tests_summary ($((SECONDS - started)) s, test build $test_build_seconds s)"

# --- 5. Compose ------------------------------------------------------------------------------------

# Every published port on a free loopback port (docker-compose.yml: an empty value picks one), so the check runs
# beside the test run's own servers and beside a stack the user keeps running.
for variable in RABBITMQ RABBITMQ_MANAGEMENT POSTGRES JAEGER OTLP_GRPC OTLP_HTTP SIMULATOR SUBMITTER RECEIVER; do
    export "EVENTIMAGING_${variable}_PORT="
done
# Except the object store's: the services name it in the image URLs they publish (Archive__S3__PublicBaseUrl), so it
# is a free port chosen here.
EVENTIMAGING_OBJECT_STORE_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export EVENTIMAGING_OBJECT_STORE_PORT

started=$SECONDS
compose_up=1
compose down -v --remove-orphans >/dev/null 2>&1 || true
logged "$work/up.log" compose up -d --no-build || fail "compose up"

published() { compose port "$1" "$2" | tail -n 1 | sed 's/^0\.0\.0\.0:/127.0.0.1:/'; }
http_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }
container_of() { compose ps -q "$1"; }
state() { docker inspect -f "$1" "$(container_of "$2")"; }

deadline=$((SECONDS + HEALTH_TIMEOUT_SECONDS))
until [ "$(state '{{.State.Health.Status}}' rabbitmq)" = healthy ] && [ "$(state '{{.State.Health.Status}}' postgres)" = healthy ] &&
    [ "$(state '{{.State.Status}}/{{.State.ExitCode}}' migrator)" = exited/0 ] &&
    http_ok "http://$(published simulator 8080)/health/ready" &&
    http_ok "http://$(published submitter 8080)/health/ready" &&
    http_ok "http://$(published webhook-receiver 8080)/health/ready"; do
    if [ "$(state '{{.State.Status}}' migrator)" = exited ] && [ "$(state '{{.State.ExitCode}}' migrator)" != 0 ]; then
        fail "the migrator exited with $(state '{{.State.ExitCode}}' migrator)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || { compose ps >&2; fail "the stack was not healthy within $HEALTH_TIMEOUT_SECONDS s"; }
    sleep 1
done
say "compose up: $(compose ps -q | wc -l) containers (rabbitmq, postgres healthy; migrator exited 0; simulator, submitter, webhook-receiver ready) ($((SECONDS - started)) s)"

started=$SECONDS
export EVENTIMAGING_COMPOSE_RABBITMQ="amqp://guest:guest@$(published rabbitmq 5672)/"
export EVENTIMAGING_COMPOSE_SIMULATOR="http://$(published simulator 8080)/"
export EVENTIMAGING_COMPOSE_SUBMITTER="http://$(published submitter 8080)/"
export EVENTIMAGING_COMPOSE_WEBHOOK_RECEIVER="http://$(published webhook-receiver 8080)/"
run_tests compose-stack 'Category=ComposeStack'
say "compose end to end: ComposeStackTests (commands published from outside, ImageCompleted and ImageFailed received, health of every service): $tests_summary ($((SECONDS - started)) s)"

# Each EventImaging container as it ran: the kernel's view of its process (user, capabilities, root mount) where it
# is still running, docker's record of its settings and of OOM kills and restarts for all of them.
problems=()
figures=()
# inspect_container NAME ID: adds what is wrong with the container to problems, and its figures to figures.
inspect_container() {
    local service=$1 id=$2 user readonly_root cap_drop memory oom restarts status pid peak uids capabilities root_mount
    local no_new_privileges seccomp
    read -r user readonly_root cap_drop memory oom restarts status pid < <(docker inspect -f \
        '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{join .HostConfig.CapDrop ","}} {{.HostConfig.Memory}} {{.State.OOMKilled}} {{.RestartCount}} {{.State.Status}} {{.State.Pid}}' "$id")
    [ "$readonly_root" = true ] || problems+=("$service: root file system not read-only")
    [[ ",$cap_drop," == *,ALL,* ]] || problems+=("$service: cap_drop is '$cap_drop', not ALL")
    [ "$memory" = "$MEMORY_LIMIT_BYTES" ] || problems+=("$service: memory limit $memory, not $MEMORY_LIMIT_BYTES")
    [ "$oom" = false ] || problems+=("$service: OOM-killed")
    [ "$restarts" = 0 ] || problems+=("$service: restarted $restarts times")
    case "$user" in '' | 0 | root | 0:*) problems+=("$service: image user '$user' is root") ;; esac
    peak=$(cat "/sys/fs/cgroup/memory/docker/$id/memory.max_usage_in_bytes" 2>/dev/null ||
        cat "/sys/fs/cgroup/system.slice/docker-$id.scope/memory.peak" 2>/dev/null || echo 0)
    if [ "$status" = running ]; then
        uids=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "/proc/$pid/status")
        capabilities=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
        # no-new-privileges (compose) and the runtime's seccomp profile (the manifests' RuntimeDefault): 1 and 2 (filter).
        no_new_privileges=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")
        seccomp=$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status")
        root_mount=$(awk '$2 == "/" { print $4 }' "/proc/$pid/mounts" | tail -n 1)
        [[ ",$uids," != *,0,* ]] || problems+=("$service: process runs as uids $uids (real, effective, saved, fs)")
        [ "$capabilities" = 0000000000000000 ] || problems+=("$service: effective capabilities $capabilities")
        [[ ",$root_mount," == *,ro,* ]] || problems+=("$service: / mounted $root_mount")
        [ "$no_new_privileges" = 1 ] || problems+=("$service: NoNewPrivs is $no_new_privileges")
        [ "$seccomp" = 2 ] || problems+=("$service: seccomp mode $seccomp, not a filter")
        figures+=("$service uid ${uids%%,*}, peak $((peak / 1024 / 1024)) MiB")
        # A write to the root file system fails, even in the user's own home; only the local images have a shell
        # to try it with.
        if [ "$images" = local ] && docker exec "$id" sh -c 'touch "$HOME/written" || touch /home/app/written' 2>/dev/null; then
            problems+=("$service: wrote to its root file system")
        fi
    else
        [ "$status" = exited ] && [ "$service" = migrator ] || problems+=("$service: $status")
        figures+=("$service exited 0")
    fi
}
for service in simulator migrator submitter webhook-receiver; do
    inspect_container "$service" "$(container_of "$service")"
done
if [ ${#problems[@]} -gt 0 ]; then
    printf '  %s\n' "${problems[@]}" >&2
    fail "the containers did not run as docker-compose.yml declares"
fi
say "compose containers: non-root, read-only root, no capabilities, no new privileges, seccomp, under 160 MiB without an OOM kill or a restart: $(printf '%s; ' "${figures[@]}" | sed 's/; $//')"

# --- The Host image --------------------------------------------------------------------------------

# The whole system in one container (docs/deploy.md), run as docker-compose.yml runs the services (read-only, /tmp
# on a tmpfs, no capabilities, 160 MiB): a request posted from outside completes on the in-process simulator.
started=$SECONDS
host_container=$(docker run -d --rm --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    -m 160m --memory-swap 160m -p 127.0.0.1::8080 eventimaging/host:dev)
host_url="http://$(docker port "$host_container" 8080 | head -n 1 | sed 's/^0\.0\.0\.0:/127.0.0.1:/')"
stop_host() { docker rm -f "$host_container" >/dev/null 2>&1 || true; }
deadline=$((SECONDS + HEALTH_TIMEOUT_SECONDS))
until http_ok "$host_url/health/ready"; do
    [ "$SECONDS" -lt "$deadline" ] || { docker logs --tail 40 "$host_container" >&2; stop_host; fail "the Host was not ready within $HEALTH_TIMEOUT_SECONDS s"; }
    sleep 1
done
request_id=$(curl -fsS --max-time 10 -X POST "$host_url/v1/images" -H 'Content-Type: application/json' \
    -d '{"prompt":"A lighthouse in one container"}' | sed -n 's/.*"requestId":"\([^"]*\)".*/\1/p')
[ -n "$request_id" ] || { stop_host; fail "the Host did not accept POST /v1/images"; }
deadline=$((SECONDS + 60))
until curl -fsS --max-time 5 "$host_url/v1/images/$request_id" 2>/dev/null | grep -q '"state":"completed"'; do
    [ "$SECONDS" -lt "$deadline" ] || { curl -sS "$host_url/v1/images/$request_id" >&2; stop_host; fail "the Host's request $request_id did not complete within 60 s"; }
    sleep 1
done
problems=()
figures=()
inspect_container host "$host_container"
stop_host
if [ ${#problems[@]} -gt 0 ]; then
    printf '  %s\n' "${problems[@]}" >&2
    fail "the Host container did not run as declared"
fi
say "host: eventimaging/host non-root, read-only, no capabilities, 160 MiB: a posted request completed, ${figures[0]} ($((SECONDS - started)) s)"

echo "containers: tests $passed_total passed, $failed_total failed"
