#!/bin/sh
# Starts the broker in the foreground. Debian's /usr/sbin/rabbitmq-server wrapper sends the console to a log file,
# so the server script is called directly. RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS become the first user, as
# in the official image: written into a copy of the configuration, since the server does not read them itself.
set -eu
if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
    config=$(mktemp -d)/rabbitmq.conf
    {
        cat /etc/rabbitmq/rabbitmq.conf
        printf 'default_user = %s\n' "$RABBITMQ_DEFAULT_USER"
        printf 'default_pass = %s\n' "${RABBITMQ_DEFAULT_PASS:-}"
        printf 'default_user_tags.administrator = true\n'
    } >"$config"
    export RABBITMQ_CONFIG_FILE="$config"
fi
exec rabbitmq-server "$@"
