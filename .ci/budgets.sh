#!/usr/bin/env bash
# Instruction budgets of the codec (called by .ci/hardening.sh; runs alone too).
#
#   bash .ci/budgets.sh            check every case of .ci/budgets.txt
#   bash .ci/budgets.sh --update   rewrite the budgets: this toolchain's counts + 10 %
#
# Each case of core/benches/callgrind_cases.rs is counted under callgrind
# (scripts/callgrind-cases.sh): instruction counts are deterministic for one toolchain, so a
# budget 10 % above the measured count fails on a real regression and never on a busy machine.
# A new rustc may move the counts: when it does, check the cause and run --update.
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGETS=.ci/budgets.txt

if ! command -v valgrind >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind
    else
        echo "valgrind is missing (apt-get install valgrind)" >&2
        exit 1
    fi
fi

specs=$(awk '!/^#/ && NF >= 2 { print $1 ":" ($3 ? $3 : 1001) }' "$BUDGETS")
rustc=$(rustc -V)
results=$(bash scripts/callgrind-cases.sh $specs)

if [ "${1:-}" = --update ]; then
    {
        sed -n '/^#/p' "$BUDGETS" | grep -v '^# measured with'
        echo "# measured with $rustc"
        echo "$results" | while IFS=$'\t' read -r case count; do
            runs=$(awk -v c="$case" '$1 == c { print ($3 ? $3 : 1001) }' "$BUDGETS")
            printf '%s %d %d\n' "$case" $((count + (count + 9) / 10)) "$runs"
        done
    } >"$BUDGETS.new"
    mv "$BUDGETS.new" "$BUDGETS"
    cat "$BUDGETS"
    exit 0
fi

failed=0
while IFS=$'\t' read -r case count; do
    budget=$(awk -v c="$case" '$1 == c { print $2 }' "$BUDGETS")
    if [ "$count" -le "$budget" ]; then
        printf 'ok      %-28s %9d instructions (budget %d)\n' "$case" "$count" "$budget"
    else
        printf 'OVER    %-28s %9d instructions (budget %d, +%d%%)\n' "$case" "$count" "$budget" \
            $(((count - budget) * 100 / budget))
        failed=1
    fi
done <<<"$results"
if [ "$failed" = 1 ]; then
    recorded=$(sed -n 's/^# measured with //p' "$BUDGETS")
    [ "$recorded" != "$rustc" ] &&
        echo "note: the budgets were measured with $recorded; this is $rustc (see --update)"
    exit 1
fi
