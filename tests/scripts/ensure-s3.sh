#!/usr/bin/env bash
# Makes sure an S3-compatible server is there for the archive tests, and names it in EVENTIMAGING_TEST_S3.
#
#   . tests/scripts/ensure-s3.sh   sourced (test.sh): the variable is exported into the caller
#   tests/scripts/ensure-s3.sh     run: progress goes to stderr, and stdout gets an
#                                  `export EVENTIMAGING_TEST_S3='...'` line
#
# Where the server comes from, in this order:
#   1. EVENTIMAGING_TEST_S3 already set: used as it is.
#   2. Otherwise s3rver (the npm package pinned in tests/scripts/s3rver, installed there with `npm ci` when missing or
#      when package-lock.json changed) on 127.0.0.1:$EVENTIMAGING_S3RVER_PORT (default 4569), started in the
#      background so it outlives this script, or reused when one already answers there. Its data directory and log
#      are under the temp directory (eventimaging-s3rver/). It accepts the access key S3RVER (secret S3RVER).
# Needs Node 20+ and npm.

if [ "${BASH_SOURCE[0]}" = "$0" ] && [ -z "${ENSURE_S3_SELF:-}" ]; then
    # Run rather than sourced: source itself with the progress on stderr, then print the variable.
    set -euo pipefail
    ENSURE_S3_SELF=1
    . "$0" >&2
    printf "export EVENTIMAGING_TEST_S3='%s'\n" "$EVENTIMAGING_TEST_S3"
    exit 0
fi

ENSURE_S3_NAME=$(basename "$0")
ENSURE_S3_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/s3rver" && pwd)
ENSURE_S3_PORT=${EVENTIMAGING_S3RVER_PORT:-4569}
ENSURE_S3_HOME="${TMPDIR:-/tmp}/eventimaging-s3rver"
ENSURE_S3_READY_SECONDS=30

s3_step() { printf '%s: %s\n' "$ENSURE_S3_NAME" "$*"; }
s3_fail() { printf '%s: ERROR: %s\n' "$ENSURE_S3_NAME" "$*" >&2; exit 1; }

# True when the port answers as s3rver does: an anonymous ListBuckets is its service listing.
s3rver_answers() {
    curl -fsS --max-time 2 "http://127.0.0.1:$ENSURE_S3_PORT/" 2>/dev/null | grep -q 'ListAllMyBucketsResult'
}

s3rver_install() {
    command -v node >/dev/null 2>&1 || s3_fail "node (20 or later) is required to run s3rver, or set EVENTIMAGING_TEST_S3"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 20 ] || s3_fail "node 20 or later is required to run s3rver (found $(node --version)), or set EVENTIMAGING_TEST_S3"
    local lock_hash stamp
    lock_hash=$(sha256sum "$ENSURE_S3_TOOLS/package-lock.json" | cut -d' ' -f1)
    stamp="$ENSURE_S3_TOOLS/node_modules/.installed-lock.sha256"
    if [ "$(cat "$stamp" 2>/dev/null)" = "$lock_hash" ] && [ -f "$ENSURE_S3_TOOLS/node_modules/s3rver/bin/s3rver.js" ]; then
        s3_step "s3: s3rver package already installed"
        return
    fi
    s3_step "s3: npm ci (tests/scripts/s3rver)"
    (cd "$ENSURE_S3_TOOLS" && npm ci --no-audit --no-fund --loglevel=error) || s3_fail "npm ci in tests/scripts/s3rver failed"
    echo "$lock_hash" >"$stamp"
}

s3rver_start() {
    local started=$SECONDS
    if s3rver_answers; then
        s3_step "s3: s3rver already running on 127.0.0.1:$ENSURE_S3_PORT, reusing it"
        return
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$ENSURE_S3_PORT") 2>/dev/null; then
        s3_fail "port $ENSURE_S3_PORT on 127.0.0.1 is taken by something that is not s3rver: free it, set EVENTIMAGING_S3RVER_PORT, or set EVENTIMAGING_TEST_S3"
    fi
    s3rver_install
    mkdir -p "$ENSURE_S3_HOME/data"
    s3_step "s3: starting s3rver on 127.0.0.1:$ENSURE_S3_PORT (data and log in $ENSURE_S3_HOME)"
    # setsid + nohup: the server outlives this script and its terminal, so the next run reuses it.
    (
        cd /
        exec setsid nohup node "$ENSURE_S3_TOOLS/node_modules/s3rver/bin/s3rver.js" \
            --directory "$ENSURE_S3_HOME/data" --address 127.0.0.1 --port "$ENSURE_S3_PORT" --silent --no-vhost-buckets \
            </dev/null >"$ENSURE_S3_HOME/s3rver.log" 2>&1
    ) &
    disown || true

    until s3rver_answers; do
        if [ $((SECONDS - started)) -ge "$ENSURE_S3_READY_SECONDS" ]; then
            [ -r "$ENSURE_S3_HOME/s3rver.log" ] && tail -n 30 "$ENSURE_S3_HOME/s3rver.log" >&2
            s3_fail "s3rver did not answer on 127.0.0.1:$ENSURE_S3_PORT after $ENSURE_S3_READY_SECONDS s (log above)"
        fi
        sleep 0.2
    done
    s3_step "s3: s3rver ready on 127.0.0.1:$ENSURE_S3_PORT after $((SECONDS - started)) s"
}

if [ -n "${EVENTIMAGING_TEST_S3:-}" ]; then
    s3_step "s3: using EVENTIMAGING_TEST_S3 as set"
else
    s3rver_start
    export EVENTIMAGING_TEST_S3="http://127.0.0.1:$ENSURE_S3_PORT"
fi
