#!/usr/bin/env bash
# Starts Debian's ClickHouse (18.16) on loopback only, with the two-shard cluster `cordon_cluster`
# defined on localhost (templates in .ci/clickhouse/). Idempotent: if 127.0.0.1:8123 answers, it does
# nothing. State (config copy, data, logs) lives outside the repository, in CORDON_CLICKHOUSE_STATE
# (default /var/lib/cordon-clickhouse).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${CORDON_CLICKHOUSE_STATE:-/var/lib/cordon-clickhouse}"
wait_seconds="${CORDON_CLICKHOUSE_WAIT:-60}"

ping_ok() { curl -fsS --max-time 2 http://127.0.0.1:8123/ping 2>/dev/null | grep -q '^Ok'; }

if ping_ok; then
  echo "start-clickhouse: already answering on 127.0.0.1:8123"
  exit 0
fi
if ! command -v clickhouse-server >/dev/null; then
  echo "start-clickhouse: clickhouse-server is not installed (apt-get install -y clickhouse-server clickhouse-client)" >&2
  exit 1
fi

mkdir -p "$state"/{conf,data,tmp,log,user_files,format_schemas}
# A pid file left by a server that is gone (a reboot, a kill) would stop the new one from starting.
pidfile="$state/clickhouse-server.pid"
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
  rm -f "$pidfile"
fi
sed "s|@STATE@|$state|g" "$here/clickhouse/config.xml" >"$state/conf/config.xml"
cp "$here/clickhouse/users.xml" "$state/conf/users.xml"

# Run as the clickhouse user when we can (the server refuses to own files of another user).
if [ "$(id -u)" = 0 ] && id clickhouse >/dev/null 2>&1; then
  chown -R clickhouse:clickhouse "$state"
  as_ch=(runuser -u clickhouse --)
else
  as_ch=()
fi
"${as_ch[@]}" clickhouse-server --config-file="$state/conf/config.xml" --pid-file="$pidfile" --daemon

for _ in $(seq 1 "$wait_seconds"); do
  if ping_ok; then
    # The shard databases named by the cluster's replicas (each replica's default_database).
    for db in cordon_shard1 cordon_shard2; do
      curl -fsS --max-time 10 http://127.0.0.1:8123/ --data-binary "CREATE DATABASE IF NOT EXISTS $db" >/dev/null
    done
    echo "start-clickhouse: answering on 127.0.0.1:8123 (state in $state)"
    exit 0
  fi
  sleep 1
done
echo "start-clickhouse: ClickHouse did not answer on 127.0.0.1:8123 within ${wait_seconds}s; see $state/log/clickhouse-server.err.log" >&2
tail -n 20 "$state/log/clickhouse-server.err.log" >&2 2>/dev/null || true
exit 1
