#!/usr/bin/env bash
# Probes for the mariadb container, run as the "probe" account over the local socket.
#
#   probe.sh alive   startup and liveness: the server answers. Never looks at replication, so a
#                    replica is not restarted because its primary is down.
#   probe.sh ready   readiness. Primary: the server answers and is writable. Replica: replication
#                    is configured, the SQL thread runs and the lag is at most
#                    $READINESS_MAX_LAG_SECONDS. While the IO thread is reconnecting to an
#                    unreachable primary the replica stays ready, so reads survive the outage;
#                    an IO thread stopped for good (error, STOP SLAVE) makes it unready.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${READINESS_MAX_LAG_SECONDS:=30}"

probe_sql() { sql_as probe --socket="$MYSQL_SOCKET" --connect-timeout=5 -N -B "$@"; }

alive() { [ "$(probe_sql -e 'SELECT 1')" = 1 ] || die "server did not answer"; }

ready() {
  alive
  if is_primary; then
    [ "$(probe_sql -e 'SELECT @@GLOBAL.read_only')" = 0 ] || die "primary is read-only"
    return
  fi
  local status sql_running io_running lag
  status=$(sql_as probe --socket="$MYSQL_SOCKET" --connect-timeout=5 -E -e 'SHOW SLAVE STATUS')
  [ -n "$status" ] || die "replication is not configured"
  field() { sed -n "s/^ *$1: //p" <<< "$status"; }
  sql_running=$(field Slave_SQL_Running)
  io_running=$(field Slave_IO_Running)
  lag=$(field Seconds_Behind_Master)
  [ "$sql_running" = Yes ] || die "SQL thread not running: $(field Last_SQL_Error)"
  case "$io_running" in
    Yes) ;;
    Connecting)
      # The primary is unreachable and the IO thread keeps retrying: serve what has been applied.
      log "IO thread reconnecting ($(field Last_IO_Error)): staying ready"
      return ;;
    *) die "IO thread stopped: $(field Last_IO_Error)" ;;
  esac
  [ "$lag" != NULL ] || die "lag unknown"
  [ "$lag" -le "$READINESS_MAX_LAG_SECONDS" ] || die "lag ${lag}s above ${READINESS_MAX_LAG_SECONDS}s"
}

case "${1:-}" in
  alive) alive ;;
  ready) ready ;;
  *) die "usage: probe.sh alive|ready" ;;
esac
