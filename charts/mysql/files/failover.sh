#!/usr/bin/env bash
# Manual failover helpers (docs/mysql-failover.md). Run inside a database pod's mariadb container;
# they act on the local server as root over the socket.
#
#   failover.sh promote            on the chosen replica: apply everything already received,
#                                  stop replication for good, make the server writable
#   failover.sh repoint HOST PORT  on every other replica: replicate from HOST:PORT from the GTID
#                                  position already applied
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${FAILOVER_APPLY_TIMEOUT_SECONDS:=120}"

root() { sql_as root --socket="$MYSQL_SOCKET" -N -B "$@"; }

status_field() { sql_as root --socket="$MYSQL_SOCKET" -E -e 'SHOW SLAVE STATUS' | sed -n "s/^ *$1: //p"; }

promote() {
  [ -n "$(root -e 'SHOW SLAVE STATUS')" ] || die "this server replicates from nobody: is it the primary already?"
  root -e 'STOP SLAVE IO_THREAD'
  # Wait until the SQL thread has applied every event the IO thread received (Gtid_IO_Pos).
  local received
  received=$(status_field Gtid_IO_Pos)
  [ "$(status_field Slave_SQL_Running)" = Yes ] || die "SQL thread stopped: $(status_field Last_SQL_Error)"
  if [ -n "$received" ]; then
    [ "$(root -e "SELECT MASTER_GTID_WAIT($(sql_quote "$received"), $FAILOVER_APPLY_TIMEOUT_SECONDS)")" = 0 ] ||
      die "received events (up to $received) not applied within ${FAILOVER_APPLY_TIMEOUT_SECONDS}s"
  fi
  root -e 'STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF'
  log "promoted: writable at GTID $(root -e 'SELECT @@GLOBAL.gtid_current_pos')"
}

repoint() {
  local host=${1:?usage: failover.sh repoint HOST PORT} port=${2:?usage: failover.sh repoint HOST PORT}
  root <<SQL
STOP SLAVE;
CHANGE MASTER TO
  MASTER_HOST=$(sql_quote "$host"),
  MASTER_PORT=$port,
  MASTER_USER=$(sql_quote "$(secret repl username)"),
  MASTER_PASSWORD=$(sql_quote "$(secret repl password)"),
  MASTER_CONNECT_RETRY=5,
  MASTER_USE_GTID=slave_pos;
START SLAVE;
SQL
  local deadline=$((SECONDS + 60))
  until [ "$(status_field Slave_IO_Running)" = Yes ]; do
    [ $SECONDS -lt $deadline ] || die "not replicating from $host:$port: $(status_field Last_IO_Error)"
    sleep 1
  done
  log "replicating from $host:$port at GTID $(root -e 'SELECT @@GLOBAL.gtid_slave_pos')"
}

case "${1:-}" in
  promote) promote ;;
  repoint) shift; repoint "$@" ;;
  *) die "usage: failover.sh promote | repoint HOST PORT" ;;
esac
