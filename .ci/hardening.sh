#!/usr/bin/env bash
# Hardening checks of the core (called by .ci/run; runs alone too: `bash .ci/hardening.sh`).
#
#   1. fuzz      every cargo-fuzz target for FUZZ_SECONDS (45 s) from the seed corpus
#   2. miri      the core's unit, trace and regression tests under Miri
#   3. no-panic  link check: no panic path reachable from the core's entry points on the MCU
#   4. deny      cargo-deny: licenses, bans, sources of the root workspace
#   5. budgets   instruction budgets of decode, encode, trace text and the phone (callgrind)
#   6. footprint flash budgets of the codec + phone and trace text images (.ci/footprint.txt)
#
# Bounded: about 13 minutes on a warm machine (first runs also install cargo-fuzz, cargo-deny
# and nightly components, and build libFuzzer). Exits non-zero if any check fails; every
# check runs even after one fails, so one run shows them all.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${HARDENING_TARGET_DIR:-$ROOT/target/hardening}
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
FUZZ_TARGETS=(framing decode trace_parse phone)
mkdir -p "$OUT"

passed=0
failed=0
failures=()

section() { printf '\n==== hardening: %s ====\n' "$*"; }
ok() {
    echo "---- ok: $1"
    passed=$((passed + 1))
}
fail() {
    echo "---- FAILED: $1"
    failed=$((failed + 1))
    failures+=("$1")
}

section "tools"
# Only what is missing is installed; a kept machine skips all of it.
if ! rustup toolchain list | grep '^nightly' >/dev/null; then
    rustup toolchain install nightly --profile minimal
fi
if ! rustup component list --installed --toolchain nightly 2>/dev/null | grep '^rust-src' >/dev/null; then
    rustup component add rust-src --toolchain nightly
fi
if ! rustup component list --installed --toolchain nightly 2>/dev/null | grep '^miri' >/dev/null; then
    rustup component add miri --toolchain nightly
fi
if ! rustup target list --installed | grep '^thumbv7em-none-eabihf$' >/dev/null; then
    rustup target add thumbv7em-none-eabihf
fi
if ! rustup component list --installed | grep '^llvm-tools' >/dev/null; then
    rustup component add llvm-tools
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
LLVM_BIN=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin

section "fuzz (${FUZZ_SECONDS}s per target)"
# The seeds are rebuilt from tests/traces and core/tests/data/vectors.txt on every run; the
# corpus the fuzzer grows is kept next to them (a kept machine starts from it).
CORPUS=$OUT/fuzz-corpus
if (cd fuzz && CARGO_TARGET_DIR=$OUT/fuzz-seeds cargo run -q --locked \
    --no-default-features --features seeds --bin make-seeds -- "$CORPUS"); then
    if (cd fuzz && cargo +nightly fuzz build --target-dir "$OUT/fuzz" 2>&1 | tail -3); then
        for t in "${FUZZ_TARGETS[@]}"; do
            log=$OUT/fuzz-$t.log
            if (cd fuzz && cargo +nightly fuzz run --target-dir "$OUT/fuzz" "$t" "$CORPUS/$t" -- \
                -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"$log" 2>&1); then
                execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
                cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -1)
                ok "fuzz $t: ${execs:-?} executions, ${cov:-cov: ?}, no crash"
            else
                grep -a -A25 -m1 'panicked\|ERROR: libFuzzer\|SUMMARY' "$log" | head -40
                grep -a 'Test unit written' "$log"
                fail "fuzz $t (log: $log)"
            fi
        done
    else
        fail "fuzz build"
    fi
else
    fail "fuzz seeds"
fi

section "miri"
# The unit tests, the trace tests, the regression tests and the phone's view (about three
# minutes). Left out, as too slow under Miri for what they add: the byte vectors (over 10 minutes: every message
# under three versions), the property tests and the phone flows (thousands of cases over the
# same code), the framing tests (every split point of every vector) and the allocation
# counter (its global allocator is the test).
export MIRIFLAGS=${MIRIFLAGS:-}
if CARGO_TARGET_DIR=$OUT/miri cargo +nightly miri test -q -p ccx-cti --lib \
    --test traces --test regressions --test phone_view 2>&1 | tail -25; then
    ok "miri: ccx-cti --lib, traces, regressions, the phone's view"
else
    fail "miri"
fi

section "no-panic link check (thumbv7em-none-eabihf, release, fat LTO)"
# tools/no-panic links the core into a firmware image whose panic handler calls an undefined
# symbol: the link succeeds only if no panic path is reachable from decode, trace text and the
# phone's entry points. It also links no allocator, so any use of `alloc` fails it too.
# NO_PANIC_CHECK=0 skips it (for a quick local run); CI runs it.
list_panic_sites() {
    local elf=$1
    "$LLVM_BIN/llvm-objdump" -d -C --no-show-raw-insn "$elf" | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = $0 }
        /\tbl\t.*<core::(panicking::panic[a-z_]*|slice::index::[a-z_]*fail[a-z_]*|option::[a-z_]*failed|result::unwrap_failed)>/ {
            if (fn !~ /<core::/) print "  panic path in " fn
        }' | sort -u
}
if [ "${NO_PANIC_CHECK:-1}" = 1 ]; then
    if (cd tools/no-panic && CARGO_TARGET_DIR=$OUT/no-panic cargo build -q --release 2>&1 | tail -15); then
        ok "no-panic: the image links, no panic path is reachable"
    else
        fail "no-panic link check (the panic paths are listed below)"
    fi
else
    echo "skipped (NO_PANIC_CHECK=0)"
fi
# The same image with a looping panic handler: it must link (it has no allocator, so this
# proves the core needs none), and its disassembly lists any function that can still panic.
if (cd tools/no-panic && CARGO_TARGET_DIR=$OUT/no-panic-locate cargo build -q --release --features locate); then
    list_panic_sites "$OUT/no-panic-locate/thumbv7em-none-eabihf/release/ccx-cti-no-panic"
    ok "no allocator: the core links into a firmware image that has none"
else
    fail "the firmware image without an allocator does not link"
fi

section "cargo-deny (bans, sources, licenses; advisories need GitHub, unreachable here)"
if cargo deny --log-level error check bans sources licenses; then
    ok "cargo-deny"
else
    fail "cargo-deny"
fi

section "instruction budgets (callgrind, .ci/budgets.txt)"
if bash .ci/budgets.sh; then ok "instruction budgets"; else fail "instruction budgets (.ci/budgets.sh)"; fi

section "flash budgets (thumbv7em-none-eabihf, .ci/footprint.txt)"
if bash .ci/footprint.sh; then ok "flash budgets"; else fail "flash budgets (.ci/footprint.sh)"; fi

section "summary"
for f in "${failures[@]+"${failures[@]}"}"; do echo "  failed: $f"; done
echo "hardening: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
