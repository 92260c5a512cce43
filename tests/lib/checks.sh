# Check helpers of the test suites (sourced). A suite sets `work` (a scratch directory) first and
# ends with `[ $failed -eq 0 ]`; each helper prints one ok/FAIL line, and on failure the tail of
# what the command printed.
# shellcheck shell=bash
# shellcheck disable=SC2154 # `work` is set by the suite that sources this file

passed=0
failed=0
checks_start=$SECONDS
step() { printf '\n--- [%4ss] %s\n' $((SECONDS - checks_start)) "$*"; }
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

# check "description" command...: passes when the command succeeds (its output in $work/out).
check() {
  local what=$1; shift
  if "$@" > "$work/out" 2>&1; then ok "$what"; else not_ok "$what"; tail -n 40 "$work/out" | sed 's/^/     /'; fi
}

# check_eq "description" want command...: passes when the command prints exactly want.
check_eq() {
  local what=$1 want=$2 got; shift 2
  got=$("$@" 2>&1) || true
  if [ "$got" = "$want" ]; then ok "$what"; else not_ok "$what: want '$want', got '$got'"; fi
}

# refute "description" pattern command...: passes when the command fails with output matching
# pattern (a negative check must fail for the reason it names).
refute() {
  local what=$1 pattern=$2; shift 2
  if "$@" > "$work/out" 2>&1; then
    not_ok "$what (unexpectedly succeeded)"
  elif grep -Eq -- "$pattern" "$work/out"; then
    ok "$what"
  else
    not_ok "$what (failed without '$pattern')"; tail -n 10 "$work/out" | sed 's/^/     /'
  fi
}
