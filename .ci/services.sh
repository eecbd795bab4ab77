#!/usr/bin/env bash
# Starts (or stops) the private MariaDB and Redis that the tests use, on loopback,
# with their data under target/services. Reuses them when they already answer.
# Usage: .ci/services.sh start|stop. `start` prints the env lines to export.
set -euo pipefail

root=$(pwd)/target/services
MARIADB_PORT=${TEST_MARIADB_PORT:-3307}
REDIS_PORT=${TEST_REDIS_PORT:-6380}
say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

mariadb_up() { mariadb-admin --protocol=tcp -h127.0.0.1 -P"$MARIADB_PORT" -uroot ping >/dev/null 2>&1; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start_mariadb() {
  if mariadb_up; then say "MariaDB already answering on 127.0.0.1:$MARIADB_PORT"; return; fi
  local dir=$root/mariadb
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    say "Initialising a private MariaDB in $dir"
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  fi
  say "Starting MariaDB on 127.0.0.1:$MARIADB_PORT"
  mariadbd --no-defaults --datadir="$dir/data" --user="$(id -un)" \
    --bind-address=127.0.0.1 --port="$MARIADB_PORT" --socket="$dir/mariadb.sock" \
    --pid-file="$dir/mariadb.pid" --log-error="$dir/error.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 \
    --max-connections=500 --skip-log-bin >/dev/null 2>&1 &
  for _ in $(seq 1 60); do mariadb_up && return; sleep 0.5; done
  echo "MariaDB did not start; see $dir/error.log" >&2; exit 1
}

# Each test makes its own database; drop those of earlier runs.
drop_test_databases() {
  local sql=(mariadb --protocol=tcp -h127.0.0.1 -P"$MARIADB_PORT" -uroot -N -B)
  "${sql[@]}" -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'chatapp\_test\_%'" |
    while read -r name; do "${sql[@]}" -e "DROP DATABASE \`$name\`"; done
}

start_redis() {
  if redis_up; then say "Redis already answering on 127.0.0.1:$REDIS_PORT"; return; fi
  local dir=$root/redis
  mkdir -p "$dir"
  say "Starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly no >/dev/null
  for _ in $(seq 1 40); do redis_up && return; sleep 0.25; done
  echo "Redis did not start; see $dir/redis.log" >&2; exit 1
}

# Stops the process in a pid file and waits (up to 30 s) until it is gone, so
# a following `start` never mistakes a server that is shutting down for one
# that answers.
stop_pidfile() {
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  echo "process $pid (from $1) did not stop" >&2
}

case ${1:-start} in
  start)
    start_mariadb
    drop_test_databases
    start_redis
    echo "export TEST_MARIADB_URL=mysql://root@127.0.0.1:$MARIADB_PORT"
    echo "export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
    ;;
  stop)
    stop_pidfile "$root/mariadb/mariadb.pid"
    stop_pidfile "$root/redis/redis.pid"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
