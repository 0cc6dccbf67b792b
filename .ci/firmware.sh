#!/usr/bin/env bash
# The phone's product image on qemu mps2-an386 over a real TAP link (needs root; without it it
# prints SKIP and exits 0):
#   1. builds `ccx`, the store tool and the product image (embassy-adapter/firmware-phone)
#   2. `ccx config encode` -> `store-image` -> the configuration region qemu loads with
#      `-device loader`; the agent's password given in the file must not be in it (`strings`).
#      Behind the good configuration the region holds a newer record that fails validate()
#      (protocol_version = 3, written with `ccx config encode --unchecked` and `store-image
#      --newer-unchecked`): what a phone finds after an update whose firmware checks more
#      strictly. The phone must boot with the last good one and say so on its screen.
#   3. a network namespace with tap0 (192.168.69.1 and .3), dnsmasq (DHCP lease, DNS names
#      side-a.example -> .1 and side-b.example -> .3), a small SNTP answer on .1:123, and
#      `ccx sim` as side A (.1) and side B (.3)
#   4. qemu with `-nic tap`: the image gets its lease, sets its clock, looks both sides up, logs
#      the agent in on side A; this script then stops side A and the phone fails over to side B
#      by name; the image exits 0 once the agent is ready on B, after dumping its flight recorder
#   5. the dump, converted on the host by `ccx recorder`: a flow `ccx replay` passes and a pcap
#      `ccx decode --pcap` reads; the ring the phone saved to flash when side A was lost, read
#      back by `ccx recorder` from the region; the agent's screen at boot and at the end, saved
#      as PBM images, the boot screen equal to the host's rendering of the rejected
#      configuration (tests/screens/config-rejected-128x64.pbm)
# It also builds the same firmware for a real board (STM32 Nucleo-F429ZI) and reports its size.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
adapter="$repo/embassy-adapter"
target=thumbv7em-none-eabihf
export CARGO_TARGET_DIR="${EMBEDDED_TARGET_DIR:-$repo/target/embedded}"
work="${FIRMWARE_WORK_DIR:-$repo/target/firmware-tap}"
mkdir -p "$work"

section() { printf '\n==== %s ====\n' "$*"; }
fail() { printf '\nFAIL: %s\n' "$*" >&2; exit 1; }

section "firmware: tools"
if ! command -v dnsmasq >/dev/null; then
  apt-get update
  # dnsmasq-base: the program alone, without a system service that would start on its own.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dnsmasq-base
fi
for tool in qemu-system-arm defmt-print python3 ip strings; do
  command -v "$tool" >/dev/null || fail "$tool is missing (.ci/embedded.sh installs qemu and defmt-print)"
done

section "firmware: build (ccx, store-image, the product image)"
(cd "$repo" && cargo build -p ccx-cti-std --bin ccx)
(cd "$adapter" && cargo build -p ccx-cti-store --bin store-image)
(cd "$adapter/firmware-phone" && cargo build --release)
ccx="$CARGO_TARGET_DIR/debug/ccx"
store_image="$CARGO_TARGET_DIR/debug/store-image"
elf="$CARGO_TARGET_DIR/$target/release/ccx-cti-firmware-phone"

section "firmware: the configuration region (ccx config encode -> store-image)"
cat >"$work/phone.toml" <<'TOML'
servers = ["side-a.example:12028", "side-b.example:12028"]
agent_id = "chli4020"
agent_extension = "4020"
agent_password = "Typed-At-The-Keypad-42"
client_id = "desk-phone-7"
reconnect_secs = 1
connect_timeout_secs = 2
TOML
"$ccx" config encode "$work/phone.toml" >"$work/phone.blob"
# The newer record the phone must reject: another agent, and a protocol version it does not speak.
sed -e 's/^agent_id = .*/agent_id = "chli4099"/' "$work/phone.toml" >"$work/phone-rejected.toml"
echo 'protocol_version = 3' >>"$work/phone-rejected.toml"
"$ccx" config encode --unchecked "$work/phone-rejected.toml" >"$work/rejected.blob" 2>"$work/rejected.err" \
  || fail "ccx config encode --unchecked refused the file: $(cat "$work/rejected.err")"
grep -q 'phone-rejected.toml:[0-9]*: protocol_version 3' "$work/rejected.err" \
  || fail "ccx config encode --unchecked does not name the problem: $(cat "$work/rejected.err")"
"$store_image" "$work/phone.blob" "$work/store.bin" --newer-unchecked "$work/rejected.blob"
if strings "$work/store.bin" | grep 'Typed-At-The-Keypad-42' >/dev/null; then
  fail "the agent's password is readable in the flash image"
fi
strings "$work/store.bin" | grep 'chli4020' >/dev/null || fail "the flash image holds no configuration"
"$store_image" --read "$work/store.bin" >"$work/store-read.txt" 2>"$work/store-read.err" \
  || fail "the region does not read back: $(cat "$work/store-read.err")"
grep -q 'side-b.example' "$work/store-read.txt" && grep -q 'chli4020' "$work/store-read.txt" \
  || fail "the region does not read back as the last good configuration"
# What a support engineer reads from such a region: the newest record's problem, the one used.
"$ccx" config decode "$work/store.bin" >"$work/store-decode.toml" 2>"$work/store-decode.err" \
  || fail "ccx config decode cannot read the region: $(cat "$work/store-decode.err")"
grep -q 'the newest configuration record is rejected: protocol_version 3' "$work/store-decode.err" \
  || fail "ccx config decode does not name the rejected record: $(cat "$work/store-decode.err")"
grep -q '^agent_id = "chli4020"' "$work/store-decode.toml" || fail "ccx config decode shows no last good one"
grep -q '2 configuration record(s)' "$work/store-decode.toml" || fail "the region does not hold two records"
echo "store.bin: configuration stored, a newer rejected one behind it, the agent's password not in it (strings)"

section "firmware: the real board (STM32 Nucleo-F429ZI, embassy-stm32): build and sizes"
# About 75 s cold on 2 cores (embassy-stm32 and its register tables), seconds when cached.
board_start=$SECONDS
(cd "$adapter/board-nucleo-f429zi" && cargo build --release)
board_elf="$CARGO_TARGET_DIR/$target/release/ccx-cti-board-nucleo-f429zi"
if command -v arm-none-eabi-size >/dev/null; then size_tool=arm-none-eabi-size; else
  size_tool="$(find "$(rustc --print sysroot)" -name llvm-size -type f -print -quit)"; fi
"$size_tool" -A "$board_elf" | awk '
  $1 ~ /^\.(vector_table|text|rodata|data)$/ { flash += $2 }
  $1 ~ /^\.(data|bss|uninit)$/ { ram += $2 }
  END { printf "Nucleo-F429ZI image: flash %d B of 2 MiB, RAM %d B of 192 KiB (static)\n", flash, ram }'
echo "board build: $((SECONDS - board_start)) s"

if ! ip netns add "ccx-fw-probe-$$" 2>/dev/null; then
  echo "SKIP: cannot create a network namespace (need root and iproute2): no TAP run"
  exit 0
fi
ip netns del "ccx-fw-probe-$$"

section "firmware: TAP network namespace, dnsmasq, SNTP, side A and side B"
ns="ccx-fw-$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns ip tuntap add dev tap0 mode tap
inns ip addr add 192.168.69.1/24 dev tap0
inns ip addr add 192.168.69.3/24 dev tap0
inns ip link set tap0 up
rm -f "$work/leases"
inns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --interface=tap0 --bind-dynamic --pid-file="$work/dnsmasq.pid" \
  --dhcp-range=192.168.69.50,192.168.69.99,255.255.255.0,1h \
  --dhcp-option=option:router,192.168.69.1 --dhcp-option=option:dns-server,192.168.69.1 \
  --address=/side-a.example/192.168.69.1 --address=/side-b.example/192.168.69.3 \
  --dhcp-leasefile="$work/leases" --log-dhcp --log-queries --log-facility="$work/dnsmasq.log" &
pids+=($!)
# SNTP: answer every request with the time now (mode 4, stratum 1).
inns python3 -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.69.1", 123))
while True:
    data, peer = s.recvfrom(512)
    now = time.time() + 2208988800
    secs, frac = int(now), int((now % 1) * 2**32)
    reply = struct.pack("!BBbb11I", 0x24, 1, 0, -20, 0, 0, 0x4c4f434c, secs, 0, 0, 0, secs, frac, secs, frac)
    s.sendto(reply, peer)
    print("sntp: answered", peer, flush=True)
' >"$work/sntp.log" 2>&1 &
pids+=($!)
# `ip netns exec` itself (not the inns function, whose subshell would be the PID) so that $!
# is the simulator: killing it closes side A's connections as a crashed server would.
ip netns exec "$ns" "$ccx" sim --listen 192.168.69.1:12028 >"$work/side-a.log" 2>&1 &
side_a=$!
pids+=($side_a)
ip netns exec "$ns" "$ccx" sim --listen 192.168.69.3:12028 >"$work/side-b.log" 2>&1 &
pids+=($!)
sleep 1

section "firmware: the product image on qemu (-nic tap)"
log="$work/phone.log"
rm -f "$work/qemu.status"
: >"$log"
(
  set +e
  inns timeout "${QEMU_TIMEOUT:-150}" qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
    -semihosting-config enable=on,target=native \
    -nic tap,ifname=tap0,script=no,downscript=no,mac=52:54:00:c0:ff:ee \
    -device loader,file="$work/store.bin",addr=0x20380000 \
    -kernel "$elf" </dev/null | defmt-print -e "$elf" >"$log" 2>&1
  echo "${PIPESTATUS[0]}" >"$work/qemu.status"
) &
qemu_job=$!
# Stop side A once the agent is ready there: the phone must find side B by name.
for _ in $(seq 1 600); do
  if grep -q 'agent ready on side A' "$log"; then
    echo "agent ready on side A: stopping side A"
    kill "$side_a" 2>/dev/null || true
    break
  fi
  [ -f "$work/qemu.status" ] && break
  sleep 0.2
done
wait "$qemu_job" || true
status="$(cat "$work/qemu.status" 2>/dev/null || echo missing)"
grep -v 'ccx-rec \|ccx-screen \|ccx-flash ' "$log" || true
[ "$status" = 0 ] || fail "the product image exited with status $status (log: $log)"
for what in 'DHCP lease: 192.168.69.' 'SNTP: ' 'DNS side A: side-a.example -> \[192.168.69.1\]' \
            'DNS side B: side-b.example -> \[192.168.69.3\]' 'session open on side A' \
            'agent ready on side A' 'session open on side B' 'agent ready on side B' \
            'PASS: failover from side A to side B' 'recorder: dump done'; do
  grep -q "$what" "$log" || fail "the image's log shows no \"$what\""
done
grep -q 'DHCPACK' "$work/dnsmasq.log" || fail "dnsmasq gave no lease"
# The newest record (protocol_version = 3) was passed over for the last good one, and told.
grep -q 'config: the newest stored one is not used (.*Invalid(ProtocolVersion { version: 3 }).*the last good one, agent chli4020' "$log" \
  || fail "the image did not boot with the last good configuration"
grep -q 'screen: configuration rejected: protocol_version' "$log" \
  || fail "the image did not put the rejected configuration on its screen"

section "firmware: the agent's screen (128x64 dumps -> PBM images)"
# A dump line's hex is the framebuffer as a PBM (P4) body: rows, the leftmost pixel high.
python3 - "$log" "$work" <<'PY' || fail "the image dumped no screen at boot and at the end"
import re, sys
dumps = re.findall(r"ccx-screen (\w+) 128x64 ([0-9a-f]{2048})", open(sys.argv[1]).read())
for label, hexdigits in dumps:
    path = f"{sys.argv[2]}/screen-{label}.pbm"
    open(path, "wb").write(b"P4\n128 64\n" + bytes.fromhex(hexdigits))
    print("screen:", path)
sys.exit(0 if {"boot", "end"} <= {label for label, _ in dumps} else 1)
PY
# The boot screen, pixel for pixel, is the host's rendering of the same state (a phone before
# its first session that rejected protocol_version 3 and runs with the last good configuration):
# the golden framebuffer the screen tests keep (tests/tests/screens.rs), "Configuration
# rejected", the field and why, "Using the last good one".
golden_boot="$repo/tests/screens/config-rejected-128x64.pbm"
cmp "$work/screen-boot.pbm" "$golden_boot" \
  || fail "the boot screen is not the rejected-configuration screen ($golden_boot; the dump: $work/screen-boot.pbm)"
echo "screen-boot.pbm: the rejected-configuration screen, as the host draws it"

section "firmware: the flight recorder's dump on the host (ccx recorder)"
"$ccx" recorder "$log" --flow "$work/recorded.flow" --pcap "$work/recorded.pcap" >"$work/recorded.trace"
head -n 40 "$work/recorded.trace"
grep -q '# session 2: 192.168.69.[0-9]*:[0-9]* -> 192.168.69.3:12028 at 20' "$work/recorded.trace" \
  || fail "the dump has no session on side B with wall-clock time"
grep -q '^MsgType: OPEN_REQ' "$work/recorded.trace" || fail "the dump decodes to no OPEN_REQ"
"$ccx" replay "$work/recorded.flow" || fail "the flow from the dump does not replay"
"$ccx" decode --pcap "$work/recorded.pcap" >"$work/recorded.pcap.txt" || fail "ccx decode --pcap failed on the dump's pcap"
grep -q 'MsgType: OPEN_CONF' "$work/recorded.pcap.txt" || fail "the pcap decodes to no OPEN_CONF"

section "firmware: the ring the phone saved to flash when side A was lost (ccx recorder)"
grep -q 'recorder: [0-9]* bytes saved to flash' "$log" || fail "the phone saved no dump on the session loss"
# The flash region as a probe would read it (hex lines, rebuilt into the image's bytes).
python3 - "$log" "$work/recorder-flash.bin" <<'PY' || fail "no flash region dump in the log"
import re, sys
hexdigits = "".join(re.findall(r"ccx-flash ([0-9a-f]+)", open(sys.argv[1]).read()))
open(sys.argv[2], "wb").write(bytes.fromhex(hexdigits))
sys.exit(0 if hexdigits else 1)
PY
"$ccx" recorder "$work/recorder-flash.bin" >"$work/recorder-flash.trace" || fail "ccx recorder cannot read the flash region"
grep -q '# session 1: 192.168.69.[0-9]*:[0-9]* -> 192.168.69.1:12028' "$work/recorder-flash.trace" \
  || fail "the ring saved in flash has no session on side A"
grep -q '^MsgType: OPEN_REQ' "$work/recorder-flash.trace" || fail "the ring saved in flash decodes to no OPEN_REQ"
echo "recorder-flash.bin: the ring saved at the session loss, read back by ccx recorder"

section "firmware: sizes (opt-level s, LTO)"
"$size_tool" -A "$elf" | awk '$1 ~ /^\.(text|rodata|data|bss)$/ { printf "%s=%s ", $1, $2 } END { print "" }'
echo "firmware TAP run: PASS"
