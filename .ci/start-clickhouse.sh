#!/usr/bin/env bash
# Starts Debian's ClickHouse on loopback only, with a two-shard cluster defined on localhost.
set -euo pipefail
echo "start-clickhouse: not yet configured" >&2
