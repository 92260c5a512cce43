#!/usr/bin/env bash
# Main container: runs mariadbd with the configuration configure.sh generated. On the primary the
# server first applies accounts.sql (--init-file), before it accepts any connection.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

args=(--defaults-file="$MYSQL_CNF")
if is_primary; then
  [ -s "$MYSQL_CONF_DIR/accounts.sql" ] || die "accounts.sql missing: did configure.sh run?"
  args+=(--init-file="$MYSQL_CONF_DIR/accounts.sql")
fi
exec mariadbd "${args[@]}"
