#!/usr/bin/env bash
# Backup CronJob: dumps the application databases from a healthy replica (falling back to the
# primary), with the GTID position recorded, gzip-compressed, and publishes it atomically:
#
#   <prefix>-<UTC time>.sql.gz          the dump (renamed into place only once complete)
#   <prefix>-<UTC time>.sql.gz.sha256   its checksum, in `sha256sum -c` format
#   <prefix>-<UTC time>.info            source server and GTID position
#
# then keeps the newest $BACKUP_RETAIN dumps. restore.sh verifies all of this before loading.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${BACKUP_DIR:=/backups}"
: "${BACKUP_SOURCES:?BACKUP_SOURCES must list host:port candidates, replicas first, the primary last}"
: "${BACKUP_DATABASES:=catalog}"
: "${BACKUP_RETAIN:=7}"
: "${BACKUP_PREFIX:=mysql}"
: "${BACKUP_MAX_LAG_SECONDS:=300}"

{ [ -d "$BACKUP_DIR" ] && [ -w "$BACKUP_DIR" ]; } || die "backup directory $BACKUP_DIR is not writable"

at() { local hostport=$1; shift; sql_as backup --host="${hostport%:*}" --port="${hostport##*:}" --protocol=TCP --connect-timeout=5 "$@"; }

# A source qualifies when it answers and is either a replica applying with small lag or a server
# that replicates from nobody (the primary).
usable() {
  local status sql lag
  status=$(at "$1" -E -e 'SHOW SLAVE STATUS' 2>/dev/null) || return 1
  [ -n "$status" ] || return 0
  sql=$(sed -n 's/^ *Slave_SQL_Running: //p' <<< "$status")
  lag=$(sed -n 's/^ *Seconds_Behind_Master: //p' <<< "$status")
  [ "$sql" = Yes ] && [ "$lag" != NULL ] && [ "$lag" -le "$BACKUP_MAX_LAG_SECONDS" ]
}

source_hostport=
for candidate in $BACKUP_SOURCES; do
  if usable "$candidate"; then source_hostport=$candidate; break; fi
  log "skipping $candidate: unreachable, not replicating or lagging"
done
[ -n "$source_hostport" ] || die "no usable source among: $BACKUP_SOURCES"

name="$BACKUP_PREFIX-$(date -u +%Y%m%dT%H%M%SZ)"
dump="$BACKUP_DIR/$name.sql.gz"
partial="$dump.partial"
rm -f "$BACKUP_DIR"/*.partial   # left by an interrupted run (concurrencyPolicy: Forbid: never ours)
cnf=$(client_cnf backup "host=${source_hostport%:*}" "port=${source_hostport##*:}" "protocol=TCP")
trap 'rm -f "$partial" "$cnf"' EXIT

log "dumping '$BACKUP_DATABASES' from $source_hostport"
# shellcheck disable=SC2086 # one word per database name
mariadb-dump --defaults-extra-file="$cnf" --single-transaction --master-data=2 --gtid \
  --routines --events --triggers --databases $BACKUP_DATABASES | gzip -6 > "$partial"

gzip -t "$partial"
gunzip -c "$partial" | tail -n 1 | grep -q '^-- Dump completed' || die "dump has no completion trailer"
gtid=$(gunzip -c "$partial" | sed -n "s/^-- SET GLOBAL gtid_slave_pos='\(.*\)';$/\1/p" | head -n 1)
[ -n "$gtid" ] || die "dump carries no GTID position"

(cd "$BACKUP_DIR" && sha256sum "$(basename "$partial")" | sed 's/\.partial$//' > "$name.sql.gz.sha256")
printf 'source=%s\ngtid=%s\ndatabases=%s\ncreated=%s\n' "$source_hostport" "$gtid" "$BACKUP_DATABASES" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$BACKUP_DIR/$name.info"
mv "$partial" "$dump"
log "wrote $dump ($(stat -c %s "$dump") bytes, GTID $gtid)"

# Retention: newest $BACKUP_RETAIN dumps (names sort by time).
mapfile -t old < <(find "$BACKUP_DIR" -maxdepth 1 -name "$BACKUP_PREFIX-*.sql.gz" | sort -r | tail -n +"$((BACKUP_RETAIN + 1))")
for file in "${old[@]}"; do
  log "retention: removing $(basename "$file")"
  rm -f "$file" "$file.sha256" "${file%.sql.gz}.info"
done
