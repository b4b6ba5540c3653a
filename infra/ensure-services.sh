#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests talk to are up (they normally are on these
# machines). Starts them if the server is installed, installs them if not, and says clearly
# what is missing otherwise.
set -u

redis_up() { python3 - <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! command -v redis-server >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "ensure-services: installing redis-server and postgresql" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server postgresql) >&2
    fi
fi

if ! redis_up; then
    echo "ensure-services: starting redis-server on 127.0.0.1:6379" >&2
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >&2 || true
fi
if ! pg_up; then
    echo "ensure-services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >&2 || true
fi

for _ in $(seq 1 30); do
    if redis_up && pg_up; then
        psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" postgres 2>/dev/null | grep -q 1 \
            || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" postgres >/dev/null 2>&1 || true
        exit 0
    fi
    sleep 1
done
redis_up || echo "ensure-services: Redis is not reachable on 127.0.0.1:6379" >&2
pg_up || echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2
exit 1
