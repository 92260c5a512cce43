#!/usr/bin/env bash
# Operator shell: the mariadb client as root over the local socket, the password taken from the
# root Secret's file (never on a command line). Arguments go to the client, e.g.
#   kubectl -n catalog exec -it mysql-0 -c mariadb -- bash /opt/mysql/scripts/sql.sh -e 'SHOW SLAVE STATUS\G'
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sql_as root --socket="$MYSQL_SOCKET" "$@"
