#!/usr/bin/env bash
# Instructions per run of cases of core/benches/callgrind_cases.rs under callgrind.
#
#   scripts/callgrind-cases.sh CASE[:N] ...   prints "CASE<TAB>instructions" per case
#
# Each case runs once with 1 repetition and once with N (default 1001), and the difference is
# divided by N - 1, so process start and set-up cancel out. Counts are deterministic for one
# toolchain and one build of the cases (profile.bench). Used by scripts/numbers.sh and
# .ci/budgets.sh. CARGO_TARGET_DIR chooses the build directory; CALLGRIND_OUT the scratch one.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${CALLGRIND_OUT:-${CARGO_TARGET_DIR:-$PWD/target}/callgrind}
mkdir -p "$OUT"
command -v valgrind >/dev/null || {
    echo "valgrind is not installed" >&2
    exit 2
}
BIN=$(cargo bench -q -p ccx-cti --bench callgrind_cases --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "callgrind_cases" and m.get("executable"):
        print(m["executable"])')
[ -x "$BIN" ] || {
    echo "could not build core/benches/callgrind_cases.rs" >&2
    exit 2
}
instructions() { # case runs
    local out=$OUT/cg.$1.$2.out
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" "$1" "$2" >/dev/null 2>&1
    sed -n 's/^summary: *//p;s/^totals: *//p' "$out" | awk 'NR == 1 {print $1}'
}
for spec in "$@"; do
    case=${spec%%:*}
    n2=1001
    [ "$spec" != "$case" ] && n2=${spec##*:}
    i1=$(instructions "$case" 1)
    i2=$(instructions "$case" "$n2")
    printf '%s\t%d\n' "$case" $(((i2 - i1) / (n2 - 1)))
done
