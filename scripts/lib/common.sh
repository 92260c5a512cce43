# Helpers shared by the scripts and the test suites (sourced).
# shellcheck shell=bash

# free_ports N: N loopback ports that were free a moment ago, space-separated.
free_ports() { python3 "$(dirname "${BASH_SOURCE[0]}")/free_ports.py" "$1"; }

# wait_until SECONDS command...: retries the command (output discarded) every 0.25 s until it
# succeeds; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.25
  done
}
