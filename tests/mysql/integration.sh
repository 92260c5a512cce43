#!/usr/bin/env bash
# Runs the mysql chart's own scripts, extracted from `helm template`, against real mariadbd
# processes (acceptance points 2-5 of the chart's issue), plus the failover runbook's commands and
# the real mysqld-exporter's metric names.
set -euo pipefail
# shellcheck source=harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

step "render the chart and extract its scripts"
mysql_render --set backup.enabled=true
make_secrets
read -r port0 port1 port2 port9 exporter_port < <(free_ports 5)
mysql_primary_ordinal=0
mysql_new_pod 0 "$port0"; mysql_new_pod 1 "$port1"; mysql_new_pod 2 "$port2"; mysql_new_pod 9 "$port9"

step "ordinal 0 initialises as the primary with every account"
check "primary starts (configure, bootstrap, mariadbd)" mysql_start_pod 0
# The restore drill's target, a fresh primary of another release ("restore-0"), starts now, in parallel.
restore_pod=(9 HOSTNAME=restore-0)
( mysql_start_pod "${restore_pod[@]}" ) > "$work/mysql-9/start.out" 2>&1 &
restore_target_start=$!
# The series the chart deploys (Chart.yaml appVersion), which every test runs (scripts/mariadb-rootfs.sh).
app_version=$(chart_mariadb_version)
server_version=$(sql 0 root -e 'SELECT VERSION()')
echo "     SELECT VERSION() = $server_version (chart appVersion $app_version)"
check "the server runs the chart's MariaDB series (${app_version%.*})" same_series "$server_version" "$app_version"
check_eq "server_id from the ordinal, writable" "1000	0" sql 0 root -e 'SELECT @@server_id, @@read_only'
check_eq "GTID strict mode and row binlog" "1	ROW	1" sql 0 root -e 'SELECT @@gtid_strict_mode, @@binlog_format, @@log_bin'
check_eq "all seven application accounts exist" 7 sql 0 root -e "SELECT COUNT(*) FROM mysql.user WHERE user IN
  ('catalog_migrator','catalog_writer','catalog_reader','repl','probe','exporter','backup')"
check_eq "no anonymous or remote root accounts" 0 sql 0 root -e \
  "SELECT COUNT(*) FROM mysql.user WHERE user = '' OR (user = 'root' AND host <> 'localhost')"

step "schema and a steady stream of writes on the primary"
sql 0 catalog-migrator catalog -e "CREATE TABLE items (
  id BIGINT AUTO_INCREMENT PRIMARY KEY, sku VARCHAR(64) NOT NULL, note VARCHAR(200) NOT NULL)"
sql 0 catalog-writer catalog -e "INSERT INTO items (sku, note)
  SELECT CONCAT('seed-', seq), REPEAT('x', 150) FROM seq_1_to_60000"
writer() {
  local i=0
  while [ ! -e "$work/stop-writer" ]; do
    i=$((i + 1))
    sql 0 catalog-writer catalog -e "INSERT INTO items (sku, note) VALUES ('live-$i', 'during bootstrap');
      UPDATE items SET note = 'updated' WHERE id = 1 + ($i * 7919) % 60000" || true
    sleep 0.05
  done
}
writer & writer_pid=$!

step "ordinals 1 and 2 bootstrap while writes flow; ordinal 2's first bootstrap is killed halfway"
( mysql_start_pod 1 ) > "$work/mysql-1/start.out" 2>&1 &
replica1_start=$!
# Ordinal 2: run bootstrap in its own session and kill it (with its temporary server) once the
# snapshot is loading.
mysql_in_pod 2 -- configure.sh >> "$work/logs/mysql-2-init.log" 2>&1
mapfile -t env2 < <(mysql_pod_env 2)
setsid env -i "${env2[@]}" bash "$scripts/bootstrap.sh" >> "$work/logs/mysql-2-init.log" 2>&1 &
doomed=$!
for _ in $(seq 1 200); do
  compgen -G "$work/mysql-2/tmp/bootstrap.*/bootstrap.sock" > /dev/null && \
    [ -d "$work/mysql-2/data/data/catalog" ] && break
  sleep 0.05
done
kill -KILL -- "-$doomed"; wait "$doomed" 2>/dev/null || true
check "killed bootstrap left the started marker and no completion marker" \
  test -e "$work/mysql-2/data/.bootstrap-started" -a ! -e "$work/mysql-2/data/.bootstrap-complete"
check "a restarted bootstrap discards the partial datadir and completes" mysql_start_pod 2
check "  ...and said so" grep -q "did not finish: discarding" "$work/logs/mysql-2-init.log"
check "ordinal 1 bootstrapped and started" wait "$replica1_start"
check "replica 1 bootstrapped from a snapshot (GTID recorded)" grep -q "^gtid=0-1000-" "$work/mysql-1/data/.bootstrap-complete"
check_eq "replicas: server_id from the ordinal, read-only" "1001	1" sql 1 root -e 'SELECT @@server_id, @@read_only'

sleep 2
touch "$work/stop-writer"; wait "$writer_pid"; writer_pid=
check "writes kept flowing during the bootstraps" test "$(sql 0 root -e "SELECT COUNT(*) FROM catalog.items WHERE sku LIKE 'live-%'")" -gt 20

step "a completed bootstrap is not redone"
mysql_stop_pod 1
marker_before=$(cat "$work/mysql-1/data/.bootstrap-complete")
mysql_in_pod 1 -- configure.sh > /dev/null 2>&1
check "bootstrap on a bootstrapped replica succeeds" mysql_in_pod 1 -- bootstrap.sh
check "  ...doing nothing" grep -q "already complete" "$work/out"
check_eq "  ...and left its marker alone" "$marker_before" cat "$work/mysql-1/data/.bootstrap-complete"
check "replica 1 restarts and resumes replication" mysql_run_server 1

step "every row written is on every replica"
gtid=$(sql 0 root -e 'SELECT @@gtid_binlog_pos')
primary_sum=$(table_checksum 0)
for n in 1 2; do
  check "replica $n reached the primary's GTID $gtid" wait_gtid "$n" "$gtid"
  check_eq "replica $n table checksum equals the primary's" "$primary_sum" table_checksum "$n"
  check_eq "replica $n has the accounts (snapshot, then its own init file)" 7 sql "$n" root -e "SELECT COUNT(*) FROM mysql.user WHERE user IN
    ('catalog_migrator','catalog_writer','catalog_reader','repl','probe','exporter','backup')"
  check_eq "replica $n wrote no transaction of its own (no errant GTID)" "$gtid" sql "$n" root -e 'SELECT @@gtid_binlog_pos' 
done

step "probes"
check "liveness passes on the primary" mysql_in_pod 0 -- probe.sh alive
check "liveness passes on a replica" mysql_in_pod 1 -- probe.sh alive
check "readiness passes on the primary" mysql_in_pod 0 -- probe.sh ready
check "readiness passes on a healthy replica" mysql_in_pod 1 -- probe.sh ready
sql 1 root -e 'STOP SLAVE SQL_THREAD'
refute "readiness fails when the SQL thread is stopped" "SQL thread not running" mysql_in_pod 1 -- probe.sh ready
check "liveness still passes with the SQL thread stopped" mysql_in_pod 1 -- probe.sh alive
sql 1 root -e 'START SLAVE SQL_THREAD'
check "readiness recovers when the SQL thread runs again" mysql_in_pod 1 -- probe.sh ready
sql 2 root -e 'STOP SLAVE; RESET SLAVE ALL'
refute "readiness fails when replication was never configured" "replication is not configured" mysql_in_pod 2 -- probe.sh ready
check "failover.sh repoint configures replication again" mysql_in_pod 2 -- failover.sh repoint 127.0.0.1 "$(mysql_port 0)"
check "readiness passes after the repoint" mysql_in_pod 2 -- probe.sh ready
# Real lag: a global read lock on replica 1 blocks its SQL thread while the primary keeps writing.
sql 1 root -e 'FLUSH TABLES WITH READ LOCK; SELECT SLEEP(12)' > /dev/null &
locker=$!
check "a global read lock is held on replica 1" wait_until 10 lock_held 1
sql 0 catalog-writer catalog -e "INSERT INTO items (sku, note) VALUES ('lag-probe', 'x')"
lagging() { ! mysql_in_pod 1 READINESS_MAX_LAG_SECONDS=3 -- probe.sh ready > "$work/lag.out" 2>&1; }
check "readiness fails when lag exceeds the bound (3 s)" wait_until 9 lagging
check "  ...and the message names the lag" grep -q "lag [0-9]*s above 3s" "$work/lag.out"
wait "$locker"
check "replica 1 catches up after the lock" wait_gtid 1 "$(sql 0 root -e 'SELECT @@gtid_binlog_pos')"
check "readiness passes again once caught up" mysql_in_pod 1 READINESS_MAX_LAG_SECONDS=3 -- probe.sh ready

step "accounts: each can do what it must and nothing more"
check "catalog_migrator: DDL on catalog" sql 0 catalog-migrator catalog -e \
  'CREATE TABLE scratch (id INT PRIMARY KEY); ALTER TABLE scratch ADD COLUMN v INT; DROP TABLE scratch'
refute "catalog_migrator: no other database" "Access denied for user 'catalog_migrator'@'[^']*' to database 'elsewhere'" sql 0 catalog-migrator -e 'CREATE DATABASE elsewhere'
refute "catalog_migrator: cannot grant" "Access denied for user 'catalog_migrator'@'[^']*' to database 'catalog'" sql 0 catalog-migrator -e "GRANT SELECT ON catalog.* TO 'catalog_reader'@'%'"
refute "catalog_migrator: cannot read the system schema" "SELECT command denied to user 'catalog_migrator'.*global_priv" sql 0 catalog-migrator -e 'SELECT COUNT(*) FROM mysql.global_priv'
check "catalog_writer: SELECT, INSERT, UPDATE, DELETE" sql 0 catalog-writer catalog -e \
  "INSERT INTO items (sku, note) VALUES ('w', 'w'); UPDATE items SET note = 'v' WHERE sku = 'w';
   SELECT COUNT(*) FROM items; DELETE FROM items WHERE sku = 'w'"
check "catalog_writer: reads its commit's GTID (consistency token)" sql 0 catalog-writer catalog -e \
  "INSERT INTO items (sku, note) VALUES ('t', 't'); SELECT @@last_gtid"
refute "catalog_writer: no DDL" "CREATE command denied to user 'catalog_writer'" sql 0 catalog-writer catalog -e 'CREATE TABLE nope (id INT)'
refute "catalog_writer: no DROP" "DROP command denied to user 'catalog_writer'" sql 0 catalog-writer catalog -e 'DROP TABLE items'
check "catalog_reader: SELECT on a replica" sql 1 catalog-reader catalog -e 'SELECT COUNT(*) FROM items'
check_eq "catalog_reader: MASTER_GTID_WAIT on a replica" 0 sql 1 catalog-reader -e \
  "SELECT MASTER_GTID_WAIT('$(sql 0 root -e 'SELECT @@gtid_binlog_pos')', 30)"
refute "catalog_reader: no INSERT (primary)" "INSERT command denied to user 'catalog_reader'" sql 0 catalog-reader catalog -e "INSERT INTO items (sku, note) VALUES ('r', 'r')"
refute "catalog_reader: no SHOW SLAVE STATUS" "Access denied; you need .*SLAVE MONITOR" sql 1 catalog-reader -e 'SHOW SLAVE STATUS'
refute "repl: cannot read data" "SELECT command denied to user 'repl'" sql 0 repl -e 'SELECT COUNT(*) FROM catalog.items'
check "probe: SHOW SLAVE STATUS over the socket" sql 1 probe -e 'SHOW SLAVE STATUS'
refute "probe: no remote login" "Access denied for user 'probe'@'127.0.0.1'" sql_tcp 1 probe -e 'SELECT 1'
refute "probe: cannot read data" "SELECT command denied to user 'probe'@'localhost'" sql 1 probe -e 'SELECT COUNT(*) FROM catalog.items'
check "exporter: global status, slave status, processlist" sql 1 exporter -e \
  'SHOW GLOBAL STATUS; SHOW SLAVE STATUS; SELECT COUNT(*) FROM information_schema.processlist'
refute "exporter: cannot read data" "SELECT command denied to user 'exporter'" sql 1 exporter -e 'SELECT COUNT(*) FROM catalog.items'
refute "exporter: cannot write" "INSERT command denied to user 'exporter'" sql 0 exporter -e "INSERT INTO catalog.items (sku, note) VALUES ('e', 'e')"
check "backup: reads data" sql 1 backup -e 'SELECT COUNT(*) FROM catalog.items'
refute "backup: cannot write" "INSERT command denied to user 'backup'" sql 0 backup -e "INSERT INTO catalog.items (sku, note) VALUES ('b', 'b')"
refute "backup: no DDL" "DROP command denied to user 'backup'" sql 0 backup -e 'DROP TABLE catalog.items'
refute "root: no remote login" "Access denied for user 'root'@'127.0.0.1'" sql_tcp 0 root -e 'SELECT 1'
check "root: local socket login" sql 0 root -e 'SELECT 1'

step "mysqld-exporter (the real binary, run with the sidecar's rendered arguments) against a replica"
mysql_in_pod 1 -- configure.sh > /dev/null 2>&1   # writes pod 1's exporter credentials
# The sidecar's own arguments from the rendered StatefulSet, with this test's paths and port.
mapfile -t exporter_args < <(mysql_exporter_args 1 "$exporter_port")
prometheus-mysqld-exporter "${exporter_args[@]}" > "$work/exporter.log" 2>&1 &
exporter_pid=$!
for _ in $(seq 1 40); do curl -fsS "http://127.0.0.1:$exporter_port/metrics" > "$work/metrics.txt" 2>/dev/null && break; sleep 0.25; done
for metric in 'mysql_up 1' mysql_slave_status_slave_io_running mysql_slave_status_slave_sql_running \
  mysql_slave_status_seconds_behind_master; do
  check "exporter exports $metric" grep -q "^$metric" "$work/metrics.txt"
done
exporter_tag=$(chart_exporter_version)
exporter_version=$(sed -n 's/^mysqld_exporter_build_info{.*version="\([^"]*\)".*/\1/p' "$work/metrics.txt")
echo "     mysqld_exporter_build_info version $exporter_version (chart's image tag v$exporter_tag)"
check "the exporter is the chart's series (${exporter_tag%.*})" same_series "$exporter_version" "$exporter_tag"
kill "$exporter_pid"; wait "$exporter_pid" 2>/dev/null || true; exporter_pid=
# For the record (and docs/README): the labels the exporter puts on the replication series.
grep -E '^mysql_slave_status_(slave_(io|sql)_running|seconds_behind_master)' "$work/metrics.txt" | sed 's/^/     /'

step "backup -> restore drill"
mkdir -p "$work/backups"
backup_env=("BACKUP_DIR=$work/backups" "BACKUP_RETAIN=2"
  "BACKUP_SOURCES=127.0.0.1:$(mysql_port 1) 127.0.0.1:$(mysql_port 2) 127.0.0.1:$(mysql_port 0)")
for round in 1 2 3; do
  check "backup.sh round $round" mysql_in_pod 1 "${backup_env[@]}" -- backup.sh
  [ "$round" = 3 ] || sleep 1.1   # dump names carry the second
done
check "backup.sh chose a replica as the source" grep -q "dumping 'catalog' from 127.0.0.1:$(mysql_port 1)" "$work/out"
check_eq "retention kept the newest 2 dumps" 2 bash -c "ls '$work/backups'/*.sql.gz | wc -l"
dump=$(find "$work/backups" -name '*.sql.gz' | sort | tail -n 1)
check "checksum file verifies" bash -c "cd '$work/backups' && sha256sum -c '$(basename "$dump").sha256'"
check "GTID position recorded" grep -q "^gtid=0-1000-" "${dump%.sql.gz}.info"
check "no partial files left" test -z "$(find "$work/backups" -name '*.partial')"
sql 1 root -e "STOP SLAVE"
mysql_in_pod 1 "${backup_env[@]}" BACKUP_RETAIN=5 -- backup.sh > "$work/fallback.out" 2>&1 || true
check "  ...backup from replica 2 when replica 1 stopped replicating" grep -q "from 127.0.0.1:$(mysql_port 2)" "$work/fallback.out"
sql 1 root -e "START SLAVE"

check "restore target (a fresh primary) started" wait "$restore_target_start"
source_sum=$(table_checksum 1)
corrupt="$work/corrupt/$(basename "$dump")"; mkdir -p "$work/corrupt"
cp "$dump" "$dump.sha256" "$work/corrupt/"
printf 'X' | dd of="$corrupt" bs=1 seek=200 conv=notrunc status=none
refute "restore.sh refuses a corrupted dump (checksum)" "checksum mismatch" mysql_in_pod "${restore_pod[@]}" -- restore.sh "$corrupt"
truncated="$work/truncated/$(basename "$dump")"; mkdir -p "$work/truncated"
gunzip -c "$dump" | head -n -8 | gzip > "$truncated"
(cd "$work/truncated" && sha256sum "$(basename "$truncated")" > "$(basename "$truncated").sha256")
refute "restore.sh refuses a truncated dump (valid gzip, valid checksum)" "is truncated: refusing to restore" mysql_in_pod "${restore_pod[@]}" -- restore.sh "$truncated"
cut_gzip="$work/truncated/cut.sql.gz"
head -c 3000 "$dump" > "$cut_gzip"; (cd "$work/truncated" && sha256sum cut.sql.gz > cut.sql.gz.sha256)
refute "restore.sh refuses a cut-off gzip stream" "is not valid gzip: refusing to restore" mysql_in_pod "${restore_pod[@]}" -- restore.sh "$cut_gzip"
check_eq "nothing was restored from the bad dumps" "" sql 9 root -e "SHOW TABLES FROM catalog"
refute "restore.sh refuses to load into a replica" "read-only \(a replica\): restore into the primary" mysql_in_pod 2 -- restore.sh "$dump"
check "restore.sh loads the good dump into the fresh server" mysql_in_pod "${restore_pod[@]}" -- restore.sh "$dump"
check_eq "restored table checksum equals the source's" "$source_sum" table_checksum 9

step "manual failover (docs/mysql-failover.md): promote replica 1, repoint replica 2, rebuild the old primary"
# Replica 1 has received the last write but not applied it (a global read lock blocks its SQL
# thread) when the primary dies: promote must apply it before opening for writes.
sql 1 root -e 'FLUSH TABLES WITH READ LOCK; SELECT SLEEP(12)' > /dev/null &
locker=$!
wait_until 10 lock_held 1
sql 0 catalog-writer catalog -e "INSERT INTO items (sku, note) VALUES ('before-failover', 'x')"
gtid=$(sql 0 root -e 'SELECT @@gtid_binlog_pos')
wait_gtid 2 "$gtid"
io_received() { [ "$(sql 1 root --column-names -E -e 'SHOW SLAVE STATUS' | sed -n 's/^ *Gtid_IO_Pos: //p')" = "$gtid" ]; }
check "replica 1 received the last write" wait_until 10 io_received
check_eq "  ...but has not applied it" 0 sql 1 root -e "SELECT COUNT(*) FROM catalog.items WHERE sku = 'before-failover'"
mysql_stop_pod 0
io_reconnecting() { [ "$(sql "$1" root --column-names -E -e 'SHOW SLAVE STATUS' | sed -n 's/^ *Slave_IO_Running: //p')" = Connecting ]; }
check "replicas notice the primary is gone" wait_until 30 io_reconnecting 1
wait_until 30 io_reconnecting 2
check "readiness passes on replica 1 while the primary is down (IO thread reconnecting)" mysql_in_pod 1 -- probe.sh ready
check "readiness passes on replica 2 while the primary is down" mysql_in_pod 2 -- probe.sh ready
check "liveness passes on a replica while the primary is down" mysql_in_pod 1 -- probe.sh alive
check "sql.sh (the runbook's client) reports each replica's GTID position" mysql_in_pod 2 -- sql.sh -N -e 'SELECT @@gtid_slave_pos'
check_eq "  ...the one the primary had" "$gtid" cat "$work/out"
check "failover.sh promote on replica 1" mysql_in_pod 1 -- failover.sh promote
wait "$locker"
check_eq "  ...applied everything received before opening for writes" 1 sql 1 root -e \
  "SELECT COUNT(*) FROM catalog.items WHERE sku = 'before-failover'"
check_eq "replica 1 is now writable and replicates from nobody" "0	0" sql 1 root -e \
  "SELECT @@read_only, (SELECT COUNT(*) FROM information_schema.processlist WHERE command = 'Slave_IO')"
check "failover.sh repoint on replica 2 to the new primary" mysql_in_pod 2 -- failover.sh repoint 127.0.0.1 "$(mysql_port 1)"
sql 1 catalog-writer catalog -e "INSERT INTO items (sku, note) VALUES ('after-failover', 'x')"
check "replica 2 receives writes made on the new primary" wait_gtid 2 "$(sql 1 root -e 'SELECT @@gtid_binlog_pos')"
check_eq "replica 2 checksum equals the new primary's" "$(table_checksum 1)" table_checksum 2
# helm upgrade --set mysql.primaryOrdinal=1: pod 1 restarts as the primary, pod 2 as its replica.
mysql_primary_ordinal=1
mysql_stop_pod 1; mysql_stop_pod 2
check "the promoted replica restarts as the primary (primaryOrdinal 1)" mysql_start_pod 1
check_eq "  ...writable" 0 sql 1 root -e 'SELECT @@read_only'
check "replica 2 restarts and keeps replicating from the new primary" mysql_start_pod 2
refute "the old primary's datadir is refused as a replica (never wiped)" "Refusing to touch it: see docs/mysql-failover.md" mysql_in_pod 0 -- bootstrap.sh
rm -rf "$work/mysql-0"; mysql_new_pod 0 "$port0"   # the runbook: delete mysql-0's PVC and pod
check "the old primary, wiped, bootstraps as a replica of the new primary" mysql_start_pod 0
gtid=$(sql 1 root -e 'SELECT @@gtid_binlog_pos')
for n in 0 2; do
  check "pod $n reached the new primary's GTID" wait_gtid "$n" "$gtid"
  check_eq "pod $n checksum equals the new primary's" "$(table_checksum 1)" table_checksum "$n"
done

step "upgrade from a version that binlogged its accounts: old binlogs are purged"
# What the old init file did at every start: account statements, binlogged and replicated.
reader_password=$(cat "$secrets/catalog-reader/password")
sql 1 root -e "ALTER USER 'catalog_reader'@'%' IDENTIFIED BY '$reader_password'"
check "replica 0 received it" wait_gtid 0 "$(sql 1 root -e 'SELECT @@gtid_binlog_pos')"
check "the primary's binlog now holds a password (the leak this guards against)" \
  grep -qaF "$reader_password" "$work"/mysql-1/data/data/mysql-bin.[0-9]*
rm -f "$work"/mysql-*/data/.binlog-clean-from   # installs from before the fix have no marker
# The upgrade's rolling restart (replicas first, as the StatefulSet rolls).
restart_all() { local n; for n in 2 0 1; do mysql_stop_pod "$n"; mysql_start_pod "$n" || return 1; done; }
check "rolling restart" restart_all
for n in 0 1 2; do
  check "  ...pod $n purged its binlogs written before the fix" grep -q "purging binlogs written before" "$work/logs/mysql-$n.log"
  check_eq "  ...and kept only the one it opened at this start" 1 bash -c "grep -c . '$work/mysql-$n/data/data/mysql-bin.index'"
done
check "replicas replicate after the purge" wait_gtid 0 "$(sql 1 root -e 'SELECT @@gtid_binlog_pos')"
sql 1 catalog-writer catalog -e "INSERT INTO items (sku, note) VALUES ('after-purge', 'x')"
check "  ...new writes too" wait_gtid 2 "$(sql 1 root -e 'SELECT @@gtid_binlog_pos')"

step "password rotation: change the Secret, restart every pod"
old_reader=$(cat "$secrets/catalog-reader/password")
head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$secrets/catalog-reader/password"
rm -f "$work/client-catalog-reader.cnf"
refute "the new reader password is not valid before the restart" "Access denied for user 'catalog_reader'" sql 1 catalog-reader -e 'SELECT 1'
mysql_stop_pod 1
check "primary restarts (configure regenerates accounts.sql)" mysql_start_pod 1
check "the new reader password works on the primary" sql 1 catalog-reader -e 'SELECT 1'
wait_gtid 2 "$(sql 1 root -e 'SELECT @@gtid_binlog_pos')"
refute "  ...but not on replica 2, caught up: accounts do not replicate" "Access denied for user 'catalog_reader'" sql 2 catalog-reader -e 'SELECT 1'
for n in 0 2; do
  mysql_stop_pod "$n"
  check "replica $n restarts" mysql_start_pod "$n"
  check "  ...and takes the new reader password from its own init file" sql "$n" catalog-reader -e 'SELECT 1'
done
refute "the old reader password no longer works" "Access denied for user 'catalog_reader'" mariadb --user=catalog_reader --password="$old_reader" \
  --host=127.0.0.1 --port="$(mysql_port 2)" -e 'SELECT 1'
check "replica 2 still replicates" wait_gtid 2 "$(sql 1 root -e 'SELECT @@gtid_binlog_pos')"

step "no password, no Secret file content, in any binlog, relay log, dump, server log or metric"
# Every Secret value (root's included) and the rotated-out password, as fixed strings.
{ for file in "$secrets"/*/password; do cat "$file"; echo; done; echo "$old_reader"; } | sed '/^$/d' > "$work/secret-values"
# Not the GTID index files MariaDB 11.4+ writes beside each binlog (mysql-bin.000001.idx): they hold
# only GTID positions, and mariadb-binlog cannot decode them.
mapfile -t binlogs_and_relay_logs < <(find "$work"/mysql-* \( -name 'mysql-bin.[0-9]*' -o -name 'relay-bin.[0-9]*' \) ! -name '*.idx')
for file in "${binlogs_and_relay_logs[@]}"; do mariadb-binlog "$file"; done > "$work/decoded-logs.txt" 2>&1
for dump in "$work"/backups/*.sql.gz; do gunzip -c "$dump"; done > "$work/dumps.sql"
scanned=("${binlogs_and_relay_logs[@]}" "$work/decoded-logs.txt" "$work/dumps.sql" "$work"/logs/* "$work/metrics.txt")
echo "     scanning ${#binlogs_and_relay_logs[@]} binlogs and relay logs (raw and decoded), $(find "$work/backups" -name '*.sql.gz' | wc -l) dumps, $(find "$work/logs" -type f | wc -l) server logs, the exporter's metrics"
# holding_secrets: the scanned files that contain a Secret value (prints them; fails if any).
holding_secrets() { ! grep -laFf "$work/secret-values" "${scanned[@]}"; }
check "no Secret value in any of them" holding_secrets
no_identified_clause() { ! grep -a IDENTIFIED "$work/decoded-logs.txt"; }
check "no IDENTIFIED clause in any decoded binlog or relay log (the issue's reproduction)" no_identified_clause

finish "mysql scripts"
