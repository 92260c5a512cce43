#!/usr/bin/env bash
# Restores a dump written by backup.sh into the primary, over its local socket as root. Run it in
# the primary's mariadb container (docs/mysql-backup-restore.md). The replicas follow through
# replication, because the dump is loaded with the binlog on.
#
#   restore.sh /path/to/mysql-<time>.sql.gz
#
# Refuses, before touching any data, a dump whose checksum file is missing or does not match,
# that is not valid gzip, or that lacks mariadb-dump's completion trailer (truncated).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dump=${1:?usage: restore.sh <dump.sql.gz>}
[ -f "$dump" ] || die "$dump: no such file"
[ -f "$dump.sha256" ] || die "$dump.sha256 missing: refusing an unverifiable dump"

expected=$(cut -d' ' -f1 < "$dump.sha256")
actual=$(sha256sum < "$dump" | cut -d' ' -f1)
[ "$expected" = "$actual" ] || die "checksum mismatch for $dump: refusing to restore"
gzip -t "$dump" 2>/dev/null || die "$dump is not valid gzip: refusing to restore"
gunzip -c "$dump" | tail -n 1 | grep -q '^-- Dump completed' || die "$dump is truncated: refusing to restore"

root() { sql_as root --socket="$MYSQL_SOCKET" "$@"; }
[ "$(root -N -B -e 'SELECT @@GLOBAL.read_only')" = 0 ] || die "this server is read-only (a replica): restore into the primary"

log "restoring $dump ($(sed -n 's/^gtid=//p' "${dump%.sql.gz}.info" 2>/dev/null || echo 'GTID unknown'))"
gunzip -c "$dump" | root --binary-mode
log "restore complete"
