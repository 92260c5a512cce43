#!/usr/bin/env bash
# Main container: runs mariadbd with the configuration configure.sh generated. The server first
# runs its init file (accounts.sql, plus the purge below when due) before it accepts connections.
#
# Binlogs written before accounts.sql turned sql_log_bin off hold every password in clear. On the
# first start of this version the next binlog's name (a server opens a new one at every start) is
# recorded in $BINLOG_CLEAN_FROM; from then on, while older binlogs exist, the init file purges
# them. No replica is connected yet then; a replica that still needed them must be re-seeded
# (docs/mysql-failover.md).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

accounts_sql="$MYSQL_CONF_DIR/accounts.sql"
[ -s "$accounts_sql" ] || die "accounts.sql missing: did configure.sh run?"
index="$MYSQL_DATADIR/mysql-bin.index"

binlogs() { [ ! -s "$index" ] || sed 's|.*/||' "$index"; }
if [ ! -s "$BINLOG_CLEAN_FROM" ]; then
  last=$(binlogs | tail -n 1)
  clean_from=mysql-bin.000001
  [ -z "$last" ] || clean_from=$(printf 'mysql-bin.%06d' $((10#${last##*.} + 1)))
  echo "$clean_from" > "$BINLOG_CLEAN_FROM"
fi
clean_from=$(cat "$BINLOG_CLEAN_FROM")

init_file="$MYSQL_CONF_DIR/init.sql"
( umask 077; cat "$accounts_sql" > "$init_file" )
older=$(binlogs | awk -v from="$clean_from" '$0 < from' | tr '\n' ' ')
if [ -n "$older" ]; then
  log "purging binlogs written before accounts left the binlog: $older"
  echo "PURGE BINARY LOGS TO $(sql_quote "$clean_from");" >> "$init_file"
fi
exec mariadbd --defaults-file="$MYSQL_CNF" --init-file="$init_file"
