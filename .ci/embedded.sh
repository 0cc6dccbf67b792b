#!/usr/bin/env bash
# The embassy adapter on an emulated Cortex-M4 and over a real TAP link:
#   1. tools: the thumbv7em target, qemu-system-arm, defmt-print, a size tool (installed if missing)
#   2. the qemu firmware plays the outbound preview story (exit status from semihosting), and
#      the release image's section sizes against a baseline image without the phone
#   3. the core's tests on the emulated MCU (defmt-test)
#   4. the host crates' tests, among them the TAP runs in network namespaces against the
#      scripted server and against the std adapter's `ccx sim` (they need root; without it they
#      print SKIP and pass)
#   5. .ci/firmware.sh: the product image on qemu's LAN9118 over TAP (dnsmasq, SNTP, two
#      `ccx sim` sides, a failover by name, the flight recorder's dump through `ccx recorder`),
#      and the same firmware built for the STM32 Nucleo-F429ZI board
# Exits non-zero on the first failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
adapter="$repo/embassy-adapter"
target=thumbv7em-none-eabihf
# One target directory for the three standalone workspaces, so shared dependencies build once.
export CARGO_TARGET_DIR="${EMBEDDED_TARGET_DIR:-$repo/target/embedded}"
export QEMU_TIMEOUT="${QEMU_TIMEOUT:-120}"

section() { printf '\n==== %s ====\n' "$*"; }
fail() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }

section "embedded: tools"
if ! rustup target list --installed | grep -x "$target" >/dev/null; then
  rustup target add "$target"
fi
if ! command -v qemu-system-arm >/dev/null; then
  apt-get update
  apt-get install -y --no-install-recommends qemu-system-arm
fi
if ! command -v defmt-print >/dev/null; then
  cargo install --locked defmt-print
fi
if command -v arm-none-eabi-size >/dev/null && command -v arm-none-eabi-nm >/dev/null; then
  size_tool=arm-none-eabi-size
  nm_tool=arm-none-eabi-nm
else
  # llvm-tools (a rustup component) has both; no apt package needed.
  rustup component add llvm-tools >/dev/null
  llvm_bin="$(dirname "$(find "$(rustc --print sysroot)" -name llvm-size -type f -print -quit)")"
  size_tool="$llvm_bin/llvm-size"
  nm_tool="$llvm_bin/llvm-nm"
fi
echo "qemu: $(qemu-system-arm --version | sed -n 1p)"
echo "defmt-print: $(command -v defmt-print)"
echo "size: $size_tool"

section "embedded: qemu firmware (mps2-an386, Cortex-M4): the outbound preview story"
(cd "$adapter/firmware-qemu" && cargo build --release --bins)
elf="$CARGO_TARGET_DIR/$target/release/ccx-cti-firmware-qemu"
baseline="$CARGO_TARGET_DIR/$target/release/baseline"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
"$adapter/qemu-run.sh" "$elf" 2>&1 | tee "$log" || status=$?
[ "$status" -eq 0 ] || fail "the qemu firmware exited with status $status"
grep -q 'server <- SET_CALL_DATA_REQ .*CallID=16800098 BAResponse=Skip' "$log" \
  || fail "the firmware trace shows no Skip answer on call 16800098"
grep -q 'server <- SET_CALL_DATA_REQ .*CallID=16800099 BAResponse=Accept' "$log" \
  || fail "the firmware trace shows no Accept answer on call 16800099"
grep -q 'PASS: agent Available, 0 calls, preview pending: false, session Open' "$log" \
  || fail "the firmware did not report its final state"
echo "qemu firmware: PASS (exit 0, Skip and Accept answered)"

section "embedded: release image sizes (opt-level s, LTO)"
sections() { "$size_tool" -A "$1" | awk '$1 ~ /^\.(text|rodata|data|bss)$/ { printf "%s=%s ", $1, $2 }'; }
echo "firmware (phone + adapter + scripted server + 2 stacks): $(sections "$elf")"
"$adapter/qemu-run.sh" "$baseline" >/dev/null 2>&1 || fail "the baseline image did not run"
echo "baseline (2 stacks + TCP echo, no phone):               $(sections "$baseline")"
"$size_tool" -A "$elf" "$baseline" | awk '
  $1 ~ /^\.(text|rodata|data|bss)$/ { if (!($1 in full)) full[$1] = $2; else base[$1] = $2 }
  END { printf "added by the phone (core + adapter + scripted server): ";
        for (s in full) printf "%s=%d ", s, full[s] - base[s]; printf "\n" }'
# Named symbols per crate (LTO inlines much of the core into the adapter's task, so the core's
# figure is a lower bound; anonymous constants such as the protocol table are not counted).
"$nm_tool" -C -S -t d --size-sort "$elf" | awk '
  NF >= 4 {
    size = $2 + 0; kind = tolower($3); name = $0
    if (name ~ /ccx_cti_embassy/) crate = "adapter"
    else if (name ~ /ccx_cti_preview_story/) crate = "scripted server"
    else if (name ~ /ccx_cti_firmware_qemu/) crate = "firmware"
    else if (name ~ /ccx_cti::/) crate = "core (ccx_cti)"
    else next
    sec = (kind == "t") ? "text" : (kind == "r") ? "rodata" : (kind == "b") ? "bss" : (kind == "d") ? "data" : ""
    if (sec != "") sum[crate " " sec] += size
  }
  END { for (k in sum) printf "  named symbols: %-26s %7d\n", k, sum[k] }' | sort

section "embedded: the agent's screen on the device equals the host's rendering"
# The screen bin plays the preview story through the screen model with scripted softkey presses
# and dumps each scripted instant (128x64 framebuffer in hex, 320x240 colour CRC); the host
# test renders the same story with embedded-graphics-simulator and compares line by line.
screen_elf="$CARGO_TARGET_DIR/$target/release/screen"
screen_log="$(mktemp)"
status=0
"$adapter/qemu-run.sh" "$screen_elf" >"$screen_log" 2>&1 || status=$?
[ "$status" -eq 0 ] || { cat "$screen_log"; rm -f "$screen_log"; fail "the screen firmware exited with status $status"; }
(cd "$adapter/screen-story" && SCREEN_DUMP="$screen_log" cargo test --test host -- --nocapture) \
  || { rm -f "$screen_log"; fail "the firmware's screens differ from the host's"; }
rm -f "$screen_log"
echo "screen firmware (phone + scripted server + screen model + drawing, no network): $(sections "$screen_elf")"

section "embedded: core tests on the emulated Cortex-M4 (defmt-test)"
(cd "$adapter/target-tests" && cargo test --test core) || fail "the on-target core tests failed"

section "embedded: host tests, with the TAP runs in network namespaces"
(cd "$repo" && cargo build -p ccx-cti-std --bin ccx) || fail "the std adapter's ccx binary did not build"
export CCX_BIN="$CARGO_TARGET_DIR/debug/ccx"
(cd "$adapter" && cargo test --workspace -- --nocapture) || fail "the host tests failed"

section "embedded: the product image over TAP (DHCP, DNS, SNTP, failover, flight recorder)"
bash "$repo/.ci/firmware.sh" || fail "the product image's TAP run failed"

section "embedded: all passed"
