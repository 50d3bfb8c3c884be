#!/usr/bin/env bash
# Makes sure a RabbitMQ (with the management plugin) and a PostgreSQL are there for the tests and the
# benchmarks, and names them in EVENTIMAGING_TEST_RABBITMQ / EVENTIMAGING_TEST_POSTGRES.
#
#   . tests/scripts/ensure-servers.sh   sourced (test.sh): the variables are exported into the caller
#   tests/scripts/ensure-servers.sh     run: progress goes to stderr, and stdout gets one
#                                       `export NAME='value'` line per variable it set
#
# Where the servers come from, in this order:
#   1. EVENTIMAGING_TEST_RABBITMQ / EVENTIMAGING_TEST_POSTGRES already set: used as they are.
#   2. EVENTIMAGING_TEST_SERVERS=containers: both left unset, the fixtures start pinned containers
#      with Testcontainers (a Docker engine must answer).
#   3. Otherwise (CI here, and wherever a Docker engine runs too): Debian's rabbitmq-server and
#      postgresql packages are installed when missing, started on loopback without systemd (or
#      reused when already running), and the variables are exported. The chaos tests restart
#      these servers, so the main suite runs on them; tests/containers/check.sh runs the
#      Testcontainers path on its own.

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ -z "${ENSURE_SERVERS_SELF:-}" ]; then
    # Run rather than sourced: source itself with the progress on stderr, then print the variables.
    set -euo pipefail
    ENSURE_SERVERS_SELF=1
    . "$0" >&2
    for variable in EVENTIMAGING_TEST_RABBITMQ EVENTIMAGING_TEST_POSTGRES; do
        if [ -n "${!variable:-}" ]; then
            printf "export %s='%s'\n" "$variable" "${!variable}"
        fi
    done
    exit 0
fi

# Messages carry the name of the script that was run (test.sh when sourced by it).
ENSURE_SERVERS_NAME=$(basename "$0")

readonly READY_TIMEOUT_SECONDS=90
readonly PG_USER=eventimaging
readonly PG_PASSWORD=eventimaging
readonly RABBIT_URI='amqp://guest:guest@127.0.0.1:5672/'

# Server tools live in sbin directories that are not always on a non-root PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

step() { printf '%s: %s\n' "$ENSURE_SERVERS_NAME" "$*"; }
fail() { printf '%s: ERROR: %s\n' "$ENSURE_SERVERS_NAME" "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi
as_root() { "${SUDO[@]}" "$@"; }
# Runs a command as another local user (e.g. postgres), from / so it can always cd.
as_user() {
    local user=$1
    shift
    if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u "$user" -- "$@")
    else
        (cd / && sudo -u "$user" -- "$@")
    fi
}

# True when a TCP port accepts connections on 127.0.0.1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

seconds_since() { echo $(( $(date +%s) - $1 )); }

# --- Installation ----------------------------------------------------------------------------

postgres_server_installed() {
    command -v pg_ctlcluster >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

install_missing_packages() {
    local packages=()
    if [ -n "$NEED_RABBITMQ" ] && ! command -v rabbitmq-server >/dev/null 2>&1; then
        packages+=(rabbitmq-server)
    fi
    if [ -n "$NEED_POSTGRES" ] && ! postgres_server_installed; then
        packages+=(postgresql)
    fi
    if [ ${#packages[@]} -eq 0 ]; then
        step "packages: ${NEED_RABBITMQ:+rabbitmq-server }${NEED_POSTGRES:+postgresql }already installed"
        return
    fi
    command -v apt-get >/dev/null 2>&1 ||
        fail "${packages[*]} missing and apt-get not available: install them, start Docker, or set EVENTIMAGING_TEST_RABBITMQ and EVENTIMAGING_TEST_POSTGRES"
    if [ ${#SUDO[@]} -gt 0 ] && ! command -v sudo >/dev/null 2>&1; then
        fail "installing ${packages[*]} needs root (no sudo found)"
    fi
    local started
    started=$(date +%s)
    step "packages: apt-get update"
    as_root apt-get update -qq >/dev/null
    step "packages: apt-get install ${packages[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" >/dev/null
    step "packages: installed in $(seconds_since "$started") s"
}

# --- RabbitMQ --------------------------------------------------------------------------------

rabbit_diag() { timeout 20 "${SUDO[@]}" env ${RABBITMQ_NODENAME:+RABBITMQ_NODENAME="$RABBITMQ_NODENAME"} rabbitmq-diagnostics -q "$@" >/dev/null 2>&1; }
rabbit_plugins() { timeout 60 "${SUDO[@]}" env ${RABBITMQ_NODENAME:+RABBITMQ_NODENAME="$RABBITMQ_NODENAME"} rabbitmq-plugins "$@" >/dev/null; }

start_rabbitmq() {
    local started
    started=$(date +%s)

    # The node name is rabbit@<short host name>; when that name does not resolve (some
    # containers) the node could not start, so fall back to localhost.
    if [ -z "${RABBITMQ_NODENAME:-}" ] && ! getent hosts "$(hostname -s)" >/dev/null 2>&1; then
        export RABBITMQ_NODENAME=rabbit@localhost
    fi

    if rabbit_diag ping; then
        step "rabbitmq: already running, reusing it"
        if ! port_open 15672; then
            step "rabbitmq: enabling the rabbitmq_management plugin"
            rabbit_plugins enable rabbitmq_management ||
                fail "rabbitmq: could not enable the rabbitmq_management plugin"
        fi
    else
        # Offline: takes effect when the node boots, so no restart is needed.
        rabbit_plugins --offline enable rabbitmq_management ||
            fail "rabbitmq: could not enable the rabbitmq_management plugin"
        step "rabbitmq: starting on 127.0.0.1 (amqp 5672, management 15672)"
        # The Debian wrapper drops to the rabbitmq user and keeps the environment.
        # setsid + nohup: the broker outlives this script and its terminal.
        (
            cd /
            exec "${SUDO[@]}" env \
                ${RABBITMQ_NODENAME:+RABBITMQ_NODENAME="$RABBITMQ_NODENAME"} \
                RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
                RABBITMQ_NODE_PORT=5672 \
                ERL_EPMD_ADDRESS=127.0.0.1 \
                RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-rabbitmq_management tcp_config [{ip,"127.0.0.1"},{port,15672}] -kernel inet_dist_use_interface {127,0,0,1}' \
                setsid nohup rabbitmq-server </dev/null >/dev/null 2>&1
        ) &
        disown || true
    fi

    step "rabbitmq: waiting for readiness (at most ${READY_TIMEOUT_SECONDS} s)"
    local deadline=$((started + READY_TIMEOUT_SECONDS))
    until port_open 5672 && port_open 15672 && rabbit_diag check_running; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            for log in /var/log/rabbitmq/*.log /var/log/rabbitmq/startup_err; do
                [ -r "$log" ] && { echo "--- $log (tail)" >&2; tail -n 30 "$log" >&2; }
            done
            fail "rabbitmq: not ready on 127.0.0.1:5672 and :15672 after ${READY_TIMEOUT_SECONDS} s (logs above)"
        fi
        sleep 1
    done
    step "rabbitmq: ready after $(seconds_since "$started") s"
}

# --- PostgreSQL ------------------------------------------------------------------------------

start_postgres() {
    local started
    started=$(date +%s)

    # First cluster of pg_lsclusters: version, name, port, status.
    local version cluster port status
    read -r version cluster port status _ < <(pg_lsclusters -h 2>/dev/null | head -n 1) || true
    if [ -z "${version:-}" ]; then
        version=$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sed 's|/usr/lib/postgresql/||; s|/bin/postgres||' | sort -V | tail -n 1)
        step "postgres: creating cluster $version/main"
        as_root pg_createcluster "$version" main >/dev/null
        read -r version cluster port status _ < <(pg_lsclusters -h | head -n 1)
    fi

    if [[ "$status" == online* ]]; then
        step "postgres: cluster $version/$cluster already running on port $port, reusing it"
    else
        step "postgres: starting cluster $version/$cluster on 127.0.0.1:$port"
        (cd / && as_root pg_ctlcluster -o "-c listen_addresses=127.0.0.1 -c max_connections=300" "$version" "$cluster" start) ||
            fail "postgres: pg_ctlcluster $version $cluster start failed (see /var/log/postgresql)"
    fi

    step "postgres: waiting for readiness (at most ${READY_TIMEOUT_SECONDS} s)"
    local deadline=$((started + READY_TIMEOUT_SECONDS))
    until pg_isready -q -h 127.0.0.1 -p "$port" -t 2; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            fail "postgres: not accepting connections on 127.0.0.1:$port after ${READY_TIMEOUT_SECONDS} s"
        fi
        sleep 1
    done

    # A password superuser for TCP connections: tests create one database per environment.
    as_user postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres -c "
        DO \$\$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
                CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
            ELSE
                ALTER ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
            END IF;
        END
        \$\$;" >/dev/null || fail "postgres: could not create the $PG_USER role"
    step "postgres: ready after $(seconds_since "$started") s (role $PG_USER)"
    POSTGRES_PORT=$port
}

# --- Choose where the servers come from ------------------------------------------------------

NEED_RABBITMQ=
NEED_POSTGRES=
[ -z "${EVENTIMAGING_TEST_RABBITMQ:-}" ] && NEED_RABBITMQ=1
[ -z "${EVENTIMAGING_TEST_POSTGRES:-}" ] && NEED_POSTGRES=1

if [ -z "$NEED_RABBITMQ" ] && [ -z "$NEED_POSTGRES" ]; then
    step "servers: using EVENTIMAGING_TEST_RABBITMQ and EVENTIMAGING_TEST_POSTGRES as set"
elif [ "${EVENTIMAGING_TEST_SERVERS:-}" = containers ]; then
    command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1 ||
        fail "EVENTIMAGING_TEST_SERVERS=containers, but no Docker engine answers (tests/containers/ensure-engine.sh starts one)"
    step "servers: EVENTIMAGING_TEST_SERVERS=containers, the fixtures start containers with Testcontainers"
else
    step "servers: Debian's ${NEED_RABBITMQ:+rabbitmq-server }${NEED_POSTGRES:+postgresql }on loopback"
    install_missing_packages
    if [ -n "$NEED_RABBITMQ" ]; then
        start_rabbitmq
        export EVENTIMAGING_TEST_RABBITMQ="$RABBIT_URI"
    fi
    if [ -n "$NEED_POSTGRES" ]; then
        start_postgres
        export EVENTIMAGING_TEST_POSTGRES="Host=127.0.0.1;Port=$POSTGRES_PORT;Username=$PG_USER;Password=$PG_PASSWORD;Database=postgres"
    fi
fi
