#!/usr/bin/env bash
# Runs the test suites in tests/suites/ in name order (or only those named as arguments,
# e.g. `scripts/test.sh rust`), keeps going after a failure, and prints one summary line.
# Tools come from scripts/install-tools.sh, which `make test` runs first.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2
export PATH="$root/bin:$root/.venv/bin:$PATH"

suites=()
if [ $# -eq 0 ]; then
  suites=(tests/suites/*.sh)
else
  for name in "$@"; do
    match=(tests/suites/*-"$name".sh)
    [ -e "${match[0]}" ] || { echo "no suite named '$name' in tests/suites/" >&2; exit 2; }
    suites+=("${match[@]}")
  done
fi

passed=0
failed=0
failures=()
for suite in "${suites[@]}"; do
  name=$(basename "$suite" .sh)
  printf '\n===== suite %s =====\n' "$name"
  start=$SECONDS
  if bash "$suite"; then
    passed=$((passed + 1))
    printf '===== suite %s passed in %ss =====\n' "$name" $((SECONDS - start))
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '===== suite %s FAILED in %ss =====\n' "$name" $((SECONDS - start))
  fi
done

echo
[ $failed -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
