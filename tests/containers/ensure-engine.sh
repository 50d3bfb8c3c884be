#!/usr/bin/env bash
# Makes sure a Docker engine answers and a Compose command is there, for tests/containers/check.sh.
#
#   tests/containers/ensure-engine.sh
#
#   1. `docker info` answers: that engine is used as it is.
#   2. Otherwise (as root, with apt-get): Debian's docker.io is installed when dockerd is missing, and dockerd is
#      started without systemd (setsid; its log in /var/log/eventimaging-dockerd.log), and left running. An engine
#      started here forwards nothing a container sends off its own bridges (a DROP rule in DOCKER-USER): containers
#      reach each other and this machine, and no other address.
# Debian's docker-compose (1.29) is installed when neither `docker compose` nor `docker-compose` runs.
# Prints what it did, one line a step; exits non-zero with the reason when no engine can be had.
set -euo pipefail

readonly READY_TIMEOUT_SECONDS=60
readonly DOCKERD_LOG=/var/log/eventimaging-dockerd.log
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { printf 'ensure-engine: %s\n' "$*"; }
fail() { printf 'ensure-engine: ERROR: %s\n' "$*" >&2; exit 1; }

apt_updated=
apt_install() {
    [ "$(id -u)" -eq 0 ] || fail "$* missing, and installing it needs root"
    command -v apt-get >/dev/null 2>&1 || fail "$* missing, and apt-get is not available"
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if engine_answers; then
    say "engine: answers, using it ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
else
    command -v dockerd >/dev/null 2>&1 || apt_install docker.io
    # Debian's package installs a client too; a newer one may come first on the PATH, and either talks to this engine.
    command -v docker >/dev/null 2>&1 || fail "docker.io installed, but no docker client on the PATH"
    [ "$(id -u)" -eq 0 ] || fail "no Docker engine answers, and starting dockerd needs root"
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        say "engine: starting dockerd (log: $DOCKERD_LOG)"
        (cd / && setsid nohup dockerd </dev/null >>"$DOCKERD_LOG" 2>&1 &)
    fi
    started=$SECONDS
    until engine_answers; do
        if [ $((SECONDS - started)) -ge "$READY_TIMEOUT_SECONDS" ]; then
            tail -n 30 "$DOCKERD_LOG" >&2 || true
            fail "dockerd did not answer within $READY_TIMEOUT_SECONDS s (its log above)"
        fi
        sleep 1
    done
    say "engine: dockerd $(docker version -f '{{.Server.Version}}') answers after $((SECONDS - started)) s"

    # DOCKER-USER is the chain docker leaves to its user, evaluated before its own forwarding rules. A packet that
    # arrives from a container's bridge and would leave by another interface is dropped; traffic between the
    # containers of one bridge, and between them and this machine (published ports), never passes here.
    if iptables -L DOCKER-USER -n >/dev/null 2>&1; then
        for bridge in docker0 'br-+'; do
            if ! iptables -C DOCKER-USER -i "$bridge" ! -o "$bridge" -j DROP 2>/dev/null; then
                iptables -I DOCKER-USER -i "$bridge" ! -o "$bridge" -j DROP
            fi
        done
        say "engine: containers reach each other and this machine only (DOCKER-USER drops what leaves their bridges)"
    else
        fail "dockerd started, but its DOCKER-USER chain is missing: cannot keep containers off other networks"
    fi
fi

if docker compose version >/dev/null 2>&1; then
    say "compose: docker compose $(docker compose version --short 2>/dev/null)"
elif command -v docker-compose >/dev/null 2>&1; then
    say "compose: $(docker-compose version --short 2>/dev/null)"
else
    apt_install docker-compose
    say "compose: $(docker-compose version --short 2>/dev/null)"
fi
