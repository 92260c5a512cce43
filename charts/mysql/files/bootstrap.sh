#!/usr/bin/env bash
# Init container "bootstrap": makes the datadir ready before mariadbd starts.
#
# Primary: creates an empty datadir on first start (accounts come from configure.sh's
# accounts.sql, run by the server itself).
# Replica: seeds itself once from a consistent snapshot of the primary that carries its GTID
# position (mariadb-dump --single-transaction --master-data --gtid, plus the accounts), loaded
# into a private temporary server with the binlog off, then points replication at the primary with
# MASTER_USE_GTID=slave_pos. It never replays the primary's binlog from the beginning.
#
# Markers on the volume make this idempotent: .bootstrap-complete (written last) means done;
# .bootstrap-started without it means an interrupted bootstrap, which is wiped and redone.
# A datadir with neither (e.g. a former primary after a failover) is refused, never wiped.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BOOTSTRAP_PRIMARY_WAIT_SECONDS:=600}"

install_datadir() {
  mkdir -p "$MYSQL_DATADIR"
  log "initialising an empty datadir"
  # shellcheck disable=SC2046 # run_as_user_opt prints zero or one word
  mariadb-install-db --no-defaults --datadir="$MYSQL_DATADIR" --skip-test-db \
    $(run_as_user_opt) > "$TMPDIR/install-db.log" 2>&1 || { cat "$TMPDIR/install-db.log" >&2; die "mariadb-install-db failed"; }
}

datadir_empty() { [ ! -d "$MYSQL_DATADIR/mysql" ]; }

if is_primary; then
  if datadir_empty; then install_datadir; else log "primary datadir present"; fi
  exit 0
fi

if [ -e "$BOOTSTRAP_COMPLETE" ]; then
  log "bootstrap already complete ($(cat "$BOOTSTRAP_COMPLETE")): nothing to do"
  exit 0
fi
if [ -e "$BOOTSTRAP_STARTED" ]; then
  log "an earlier bootstrap did not finish: discarding its partial datadir"
  rm -rf "$MYSQL_DATADIR"
elif ! datadir_empty; then
  die "datadir $MYSQL_DATADIR holds data that no bootstrap created (a former primary?). Refusing to touch it: see docs/mysql-failover.md"
fi

# shellcheck disable=SC2046 # primary_tcp_opts prints separate client options
primary() { sql_as backup $(primary_tcp_opts) "$@"; }
log "waiting for the primary at $MYSQL_PRIMARY_HOST:$MYSQL_PRIMARY_PORT"
deadline=$((SECONDS + BOOTSTRAP_PRIMARY_WAIT_SECONDS))
until primary -e 'SELECT 1' > /dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || die "primary not reachable within ${BOOTSTRAP_PRIMARY_WAIT_SECONDS}s"
  sleep 2
done

date -u +%Y-%m-%dT%H:%M:%SZ > "$BOOTSTRAP_STARTED"
install_datadir

# A private temporary server: socket only, replication threads off, root's password from its
# Secret (the same as the primary's). The snapshot is loaded with sql_log_bin=0; the binlog then
# starts at the snapshot's GTID (see gtid_binlog_state below).
work=$(mktemp -d "$TMPDIR/bootstrap.XXXXXX")
temp_socket="$work/bootstrap.sock"
( umask 077
  { echo "SET SESSION sql_log_bin = 0;"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD($(sql_quote "$(secret root password)"));"
  } > "$work/init.sql" )
temp_pid=
stop_temp_server() {
  if [ -n "$temp_pid" ] && kill -0 "$temp_pid" 2>/dev/null; then
    kill -TERM "$temp_pid"
    wait "$temp_pid" || true
  fi
  rm -rf "$work"
}
trap stop_temp_server EXIT

mariadbd --defaults-file="$MYSQL_CNF" --skip-networking --socket="$temp_socket" \
  --skip-slave-start --init-file="$work/init.sql" \
  --pid-file="$work/bootstrap.pid" > "$work/server.log" 2>&1 &
temp_pid=$!
local_root() { sql_as root --socket="$temp_socket" "$@"; }
for _ in $(seq 1 120); do
  local_root -e 'SELECT 1' > /dev/null 2>&1 && break
  kill -0 "$temp_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "temporary server exited"; }
  sleep 0.5
done
local_root -e 'SELECT 1' > /dev/null || die "temporary server did not come up"

# Application databases (everything but the system schemas) plus the accounts as portable SQL;
# --insert-ignore makes those CREATE USER IF NOT EXISTS, so the local root session survives.
databases=$(primary -N -B -e "SELECT schema_name FROM information_schema.schemata
  WHERE schema_name NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')")
log "snapshot of the primary: databases $(echo "$databases" | tr '\n' ' ')+ accounts"
backup_cnf=$(TMPDIR=$work client_cnf backup "host=$MYSQL_PRIMARY_HOST" "port=$MYSQL_PRIMARY_PORT" "protocol=TCP")
# shellcheck disable=SC2086 # one word per database name
{
  echo "SET SESSION sql_log_bin=0;"
  mariadb-dump --defaults-extra-file="$backup_cnf" --single-transaction --master-data=1 --gtid \
    --routines --events --triggers --system=users --insert-ignore --databases $databases
} | local_root --binary-mode

gtid=$(local_root -N -B -e 'SELECT @@GLOBAL.gtid_slave_pos')
[ -n "$gtid" ] || die "the snapshot carried no GTID position"
log "snapshot loaded at GTID $gtid"
# The binlog starts at the snapshot's position, so after a failover this server, once promoted,
# can serve the other replicas from their GTID positions.
local_root <<SQL
SET SESSION sql_log_bin = 0;
RESET MASTER;
SET GLOBAL gtid_binlog_state = $(sql_quote "$gtid");
CHANGE MASTER TO
  MASTER_HOST=$(sql_quote "$MYSQL_PRIMARY_HOST"),
  MASTER_PORT=$MYSQL_PRIMARY_PORT,
  MASTER_USER=$(sql_quote "$(secret repl username)"),
  MASTER_PASSWORD=$(sql_quote "$(secret repl password)"),
  MASTER_CONNECT_RETRY=5,
  MASTER_USE_GTID=slave_pos;
SQL
kill -TERM "$temp_pid"
wait "$temp_pid" || die "temporary server did not shut down cleanly"
temp_pid=
# RESET MASTER left binlogs that hold no password: nothing for run-mariadbd.sh to purge.
echo mysql-bin.000001 > "$BINLOG_CLEAN_FROM"
echo "gtid=$gtid at $(date -u +%Y-%m-%dT%H:%M:%SZ) from $MYSQL_PRIMARY_HOST" > "$BOOTSTRAP_COMPLETE"
rm -f "$BOOTSTRAP_STARTED"
log "bootstrap complete at GTID $gtid"
