#!/usr/bin/env bash
# Flash budgets of the core (called by .ci/hardening.sh; runs alone too): builds the
# tools/footprint images of .ci/footprint.txt and the empty one, and checks what the core adds
# to each section against its budget. Sizes do not depend on the machine's load, only on the
# toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGETS=.ci/footprint.txt
TARGET=${FOOTPRINT_TARGET_DIR:-$PWD/target/footprint}

LLVM_BIN=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin
[ -x "$LLVM_BIN/llvm-size" ] || rustup component add llvm-tools
rustup target list --installed | grep '^thumbv7em-none-eabihf$' >/dev/null ||
    rustup target add thumbv7em-none-eabihf

# size FEATURES SECTION: the section's size in the image built with FEATURES (or none).
size() {
    local flag=()
    [ "$1" != baseline ] && flag=(--features "$1")
    (cd tools/footprint && CARGO_TARGET_DIR=$TARGET cargo build -q --release "${flag[@]}")
    "$LLVM_BIN/llvm-size" -A "$TARGET/thumbv7em-none-eabihf/release/ccx-cti-footprint" |
        awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

failed=0
while read -r features section budget; do
    case "$features" in '' | '#'*) continue ;; esac
    added=$(($(size "$features" "$section") - $(size baseline "$section")))
    if [ "$added" -le "$budget" ]; then
        printf 'ok      %-8s %-8s %7d bytes (budget %d)\n' "$features" "$section" "$added" "$budget"
    else
        printf 'OVER    %-8s %-8s %7d bytes (budget %d, +%d)\n' "$features" "$section" "$added" \
            "$budget" $((added - budget))
        failed=1
    fi
done <"$BUDGETS"
exit "$failed"
