#!/bin/sh
# Flower on port 5555 behind HTTP basic auth from FLOWER_USER / FLOWER_PASSWORD.
#
# Flower can revoke tasks and shut workers down, so it does not start without a password.
# The password must not contain a comma: Flower splits basic auth on commas (user:pass,user:pass).
set -eu

user="${FLOWER_USER:-admin}"
password="${FLOWER_PASSWORD:-}"

if [ -z "$password" ]; then
    echo "flower: FLOWER_PASSWORD is empty; refusing to start Flower without a password" >&2
    exit 64
fi
case "$user:$password" in
    *,*)
        echo "flower: FLOWER_USER/FLOWER_PASSWORD must not contain a comma" >&2
        exit 64
        ;;
esac

# exec: Flower replaces this shell and receives the stop signal itself. Extra arguments pass
# through (e.g. --purge_offline_workers=600). The credentials go in Flower's environment
# (FLOWER_BASIC_AUTH), not its argv, which `ps` shows to every user of the host.
FLOWER_BASIC_AUTH="$user:$password"
export FLOWER_BASIC_AUTH
exec celery -A celery_app flower --port=5555 "$@"
