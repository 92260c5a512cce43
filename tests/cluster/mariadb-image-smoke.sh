#!/usr/bin/env bash
# Runs the MariaDB image scripts/cluster/images.sh built, with runc, as the image's user (999:999,
# like the chart's runAsUser/runAsGroup), without Docker or a cluster:
#   - every command charts/mysql/files/*.sh runs is on the image's PATH;
#   - mariadb-install-db creates a datadir under /var/lib/mysql, mariadbd starts on a socket in
#     /run/mysqld, and the mariadb client answers SELECT VERSION() with the tag's version.
#
#   tests/cluster/mariadb-image-smoke.sh [image tar]   (default: the cached mariadb.tar; root)
set -euo pipefail

cache=${CATALOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/catalog}/cluster
tar=${1:-$cache/images/mariadb.tar}
[ -f "$tar" ] || { echo "no image $tar: run scripts/cluster/images.sh build mariadb" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "runc needs root" >&2; exit 1; }

work=$(mktemp -d)
id="mariadb-smoke-$$"
cleanup() {
  runc --root "$work/runc" delete --force "$id" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

ref=$(tar -xOf "$tar" manifest.json | jq -r '.[0].RepoTags[0]')
want=${ref##*:}; want=${want%-debian}
skopeo copy --quiet "docker-archive:$tar" "oci:$work/oci:image"
umoci unpack --image "$work/oci:image" "$work/bundle" > /dev/null

# The commands the chart's scripts (files/*.sh) and pod specs run.
commands=(bash date mkdir cat rm mktemp chmod tr sed grep seq sleep gzip gunzip tail head sha256sum
  cut stat find sort basename dirname mv mariadb mariadb-dump mariadb-install-db mariadbd)
script=$(cat <<SH
set -eu
for c in ${commands[*]}; do command -v "\$c" > /dev/null || { echo "missing command: \$c"; exit 1; }; done
id -u; id -g
mariadb-install-db --no-defaults --datadir=/var/lib/mysql/data --skip-test-db > /tmp/install.log 2>&1 ||
  { cat /tmp/install.log; exit 1; }
# As the chart's bootstrap does: root gets a password through --init-file (the datadir's root
# authenticates by unix socket as OS user root only, and this runs as mysql).
echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('smoke');" > /tmp/init.sql
mariadbd --no-defaults --datadir=/var/lib/mysql/data --socket=/run/mysqld/mysqld.sock \
  --init-file=/tmp/init.sql --skip-networking --pid-file=/run/mysqld/mariadbd.pid > /tmp/server.log 2>&1 &
for _ in \$(seq 1 60); do
  mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -psmoke -N -B -e 'SELECT VERSION()' 2> /dev/null && break
  sleep 0.5
done
mariadb --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -psmoke -N -B -e 'SELECT CURRENT_USER()' ||
  { cat /tmp/server.log; exit 1; }
mariadb-admin --no-defaults --socket=/run/mysqld/mysqld.sock -uroot -psmoke shutdown
wait
SH
)
# Non-interactive, with the script as the process; user and env stay the image's. Like the
# kubelet, name the host after the pod and mount an /etc/hosts that resolves it
# (mariadb-install-db looks the hostname up).
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmysql-0\n' > "$work/hosts"
jq --arg script "$script" --arg hosts "$work/hosts" '.process.terminal = false
  | .process.args = ["bash", "-c", $script] | .hostname = "mysql-0"
  | .mounts += [{destination: "/etc/hosts", type: "bind", source: $hosts, options: ["rbind", "ro"]}]' \
  "$work/bundle/config.json" > "$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

out=$(runc --root "$work/runc" run --bundle "$work/bundle" "$id" 2>&1) || {
  echo "FAIL: the container exited non-zero:" >&2; echo "$out" >&2; exit 1; }
echo "$out"
lines=$(printf '%s\n' "$out" | tr -d '\r')
if [ "$(sed -n 1p <<< "$lines")" != 999 ] || [ "$(sed -n 2p <<< "$lines")" != 999 ]; then
  echo "FAIL: not running as 999:999" >&2; exit 1
fi
grep -q "^$want-MariaDB" <<< "$lines" || { echo "FAIL: SELECT VERSION() did not answer $want-MariaDB..." >&2; exit 1; }
echo "ok: $ref runs mariadbd as 999:999 and answers SELECT VERSION()"
