#!/usr/bin/env bash
# Measures the core and writes the table between <!-- numbers:begin --> and
# <!-- numbers:end --> in README.md (or docs/numbers.md when the markers are missing).
#
#   - criterion benchmarks in quick mode (core/benches/codec.rs), with the naive reference
#   - instruction counts: valgrind --tool=callgrind on core/benches/callgrind_cases.rs, each
#     case run N1 and N2 times, (I(N2) - I(N1)) / (N2 - N1) per run (start-up cancels out;
#     scripts/callgrind-cases.sh, shared with the CI budgets in .ci/budgets.sh)
#   - footprint on thumbv7em-none-eabihf (tools/footprint, opt-level "s", fat LTO), minus an
#     empty image, with and without the core's `names` feature; size_of on the target
#
# `ccx load` is measured apart, by scripts/load.sh (its own table, "`ccx load` at scale").
#
# Usage: scripts/numbers.sh. Timing figures depend on the machine and its load; the
# instruction counts and sizes do not.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${NUMBERS_TARGET_DIR:-$ROOT/target/numbers}
WORK=$TARGET/work
mkdir -p "$WORK"

LLVM_BIN=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin
if [ ! -x "$LLVM_BIN/llvm-size" ]; then
    rustup component add llvm-tools
fi
rustup target list --installed | grep '^thumbv7em-none-eabihf$' >/dev/null ||
    rustup target add thumbv7em-none-eabihf

# NUMBERS_TABLE_ONLY=1 rewrites the table from the last run's results.
if [ "${NUMBERS_TABLE_ONLY:-0}" != 1 ]; then
echo "== criterion (quick)"
rm -rf "$TARGET/criterion"
NUMBERS_QUICK=1 CARGO_TARGET_DIR=$TARGET nice -n 5 cargo bench -q -p ccx-cti --bench codec \
    >"$WORK/criterion.log" 2>&1 || {
    tail -30 "$WORK/criterion.log"
    exit 1
}

echo "== callgrind"
CARGO_TARGET_DIR=$TARGET CALLGRIND_OUT=$WORK bash scripts/callgrind-cases.sh \
    decode_call_event decode_agent_event decode_confirmation decode_begin_call \
    naive_decode_begin_call encode_set_call_data_req render_begin_call:201 parse_begin_call:201 \
    phone_agent_state_event seed_flow_7_messages busy_shift_frame_decode:11 \
    guide_traces_frame_decode:101 | tee "$WORK/callgrind.tsv"
"$(ls -t "$TARGET"/release/deps/callgrind_cases-* | grep -v '\.d$' | sed -n 1p)" frames >"$WORK/frames.tsv"

echo "== footprint (thumbv7em-none-eabihf)"
: >"$WORK/footprint.tsv"
for features in baseline codec phone phone,names phone,event-text phone,event-text,names trace; do
    flag=()
    [ "$features" != baseline ] && flag=(--features "$features")
    (cd tools/footprint && CARGO_TARGET_DIR=$TARGET/footprint cargo build -q --release "${flag[@]}")
    elf=$TARGET/footprint/thumbv7em-none-eabihf/release/ccx-cti-footprint
    "$LLVM_BIN/llvm-size" -A "$elf" | awk -v f="$features" '
        $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 } $1 == ".bss" { b = $2 } $1 == ".data" { d = $2 }
        END { printf "%s\t%d\t%d\t%d\t%d\n", f, t, r, d, b }' | tee -a "$WORK/footprint.tsv"
done
(cd tools/footprint && CARGO_TARGET_DIR=$TARGET/footprint cargo build -q --release --features sizes)
"$LLVM_BIN/llvm-nm" -S "$TARGET/footprint/thumbv7em-none-eabihf/release/ccx-cti-footprint" |
    grep SIZE_OF_ | while read -r _ size _ name; do
    printf '%s\t%d\n' "$name" "$((16#$size))"
done | tee "$WORK/sizes.tsv"
fi

echo "== table"
python3 - "$ROOT" "$TARGET" "$WORK" <<'EOF'
import json, os, re, subprocess, sys, datetime
root, target, work = sys.argv[1:4]

def ns(group, name):
    p = os.path.join(target, "criterion", group, name.replace("/", "_"), "new", "estimates.json")
    with open(p) as f:
        e = json.load(f)
    return e["mean"]["point_estimate"]

def fmt_ns(v):
    return f"{v / 1000:.2f} µs" if v >= 1000 else f"{v:.0f} ns"

def read_tsv(name):
    p = os.path.join(work, name)
    if not os.path.exists(p):
        return []
    return [l.rstrip("\n").split("\t") for l in open(p) if l.strip()]

cg = {k: int(v) for k, v in read_tsv("callgrind.tsv")}
frames = {k: int(v) for k, v in read_tsv("frames.tsv")}
fp = {r[0]: [int(x) for x in r[1:]] for r in read_tsv("footprint.tsv")}
sizes = {k: int(v) for k, v in read_tsv("sizes.tsv")}

cpu = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
nproc = os.cpu_count()
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
load = subprocess.run(["cat", "/proc/loadavg"], capture_output=True, text=True).stdout.split()[:3]

def mark(ok):
    return "met" if ok else "**missed**"

out = []
out.append(f"Measured by `scripts/numbers.sh` on {date}: {nproc} cores, {cpu}, {rustc}, "
           f"load average {' '.join(load)} (timings are from a shared machine, criterion in quick "
           f"mode; instruction counts and sizes do not depend on it).")
out.append("")
out.append("| what | time (criterion, mean) | instructions (callgrind) | target |")
out.append("|---|---|---|---|")

seed = ns("seed_flow", "7_messages_frame_decode_phone")
out.append(f"| seed flow: 7 messages, framing + decode + phone | {fmt_ns(seed)} | "
           f"{cg.get('seed_flow_7_messages', 0):,} | ≤ 1 µs: {mark(seed <= 1000)} |")
enc = ns("encode", "set_call_data_req_ba_response")
enc_i = cg.get("encode_set_call_data_req", 0)
out.append(f"| encode SET_CALL_DATA_REQ with BAResponse | {fmt_ns(enc)} | {enc_i:,} | "
           f"≤ 50 ns: {mark(enc <= 50)}; ≤ 500 instructions: {mark(enc_i <= 500)} |")
for name in ["set_agent_state_req", "answer_call_req", "heartbeat_req"]:
    out.append(f"| encode {name.upper()} | {fmt_ns(ns('encode', name))} | | |")
def bench_bytes(group, name):
    p = os.path.join(target, "criterion", group, name.replace("/", "_"), "new", "benchmark.json")
    with open(p) as f:
        b = json.load(f)
    t = b.get("throughput") or {}
    return t.get("Bytes") or t.get("BytesDecimal")
for name, label, case in [("guide_traces", "the guide traces", "guide_traces_frame_decode"),
                          ("busy_shift_300_calls", "a busy shift (300 calls)", "busy_shift_frame_decode")]:
    t = ns("frame_and_decode", name)
    n = bench_bytes("frame_and_decode", name)
    gbs = n / t  # bytes per ns = GB/s
    per = cg.get(case, 0) / max(frames.get(case, 1), 1)
    extra = f"{per:,.0f} per frame" if per else ""
    out.append(f"| framing + decode, {label}, TCP-sized reads | {gbs * 1000:,.0f} MB/s ({fmt_ns(t)} for {n:,} B) | {extra} | "
               f"≥ 1.5 GB/s: {mark(gbs >= 1.5)}; ≤ 600 a frame: {mark(0 < per <= 600)} |")
for fam, label, case in [("call_event", "call event (CALL_DELIVERED)", "decode_call_event"),
                         ("agent_event", "agent event (AGENT_STATE)", "decode_agent_event"),
                         ("confirmation", "confirmation (SET_CALL_DATA_CONF)", "decode_confirmation"),
                         ("begin_call_8_vars", "BEGIN_CALL, 8 ECC variables", "decode_begin_call")]:
    view = ns("decode", f"{fam}/view")
    full = ns("decode", f"{fam}/read_all")
    naive = ns("decode", f"{fam}/naive")
    ratio = naive / full
    icount = f"{cg[case]:,}" if case in cg else ""
    if fam == "begin_call_8_vars" and "naive_decode_begin_call" in cg:
        icount += f" vs naive {cg['naive_decode_begin_call']:,}"
    out.append(f"| decode {label}: view / every field read / naive | {fmt_ns(view)} / {fmt_ns(full)} / {fmt_ns(naive)} | {icount} | ≥ 10× naive: {ratio:.1f}× {mark(ratio >= 10)} |")
render_i, parse_i = cg.get("render_begin_call", 0), cg.get("parse_begin_call", 0)
out.append(f"| trace text: render / parse BEGIN_CALL | {fmt_ns(ns('trace', 'render_begin_call'))} / {fmt_ns(ns('trace', 'parse_begin_call'))} | "
           f"{render_i:,} / {parse_i:,} | ≤ 25,000 / ≤ 50,000: {mark(0 < render_i <= 25000 and 0 < parse_i <= 50000)} |")
out.append(f"| phone: one AGENT_STATE_EVENT / READY command round trip | {fmt_ns(ns('phone', 'handle_event_agent_state'))} / "
           f"{fmt_ns(ns('phone', 'command_ready_round_trip'))} | {cg.get('phone_agent_state_event', 0):,} / | |")
out.append("| allocations in decode, render, parse, phone | 0 (core/tests/no_alloc.rs) | | zero: met |")
out.append("")
out.append("Instruction counts are per run of a case of `core/benches/callgrind_cases.rs` (render "
           "and the decode rows include the decode; every field read); CI holds each to its "
           "budget in `.ci/budgets.txt`.")
out.append("")
if fp:
    base = fp["baseline"]
    out.append("Footprint on thumbv7em-none-eabihf (opt-level \"s\", fat LTO, panic = abort), bytes added to an empty image "
               "(the codec images include a 1,024-byte input buffer in `.rodata`):")
    out.append("")
    out.append("| image | .text | .rodata | .data | .bss | target |")
    out.append("|---|---|---|---|---|---|")
    names = {"codec": "codec (decode + encode)", "phone": "codec + phone, without `names`",
             "phone,names": "codec + phone, with `names`",
             "phone,event-text": "codec + phone, events written as text, without `names`",
             "phone,event-text,names": "codec + phone, events written as text, with `names`",
             "trace": "codec + phone + trace text (needs `names`)"}
    for k in ["codec", "phone", "phone,names", "phone,event-text", "phone,event-text,names", "trace"]:
        if k not in fp:
            continue
        t, r, d, b = [x - y for x, y in zip(fp[k], base)]
        verdict = ""
        if k in ("phone", "phone,event-text"):
            verdict = (f"≤ 32 KiB .text: {mark(t <= 32768)}; ≤ 16 KiB .rodata: {mark(r <= 16384)}")
        if k == "trace":
            verdict = f"≤ 64 KiB .text: {mark(t <= 65536)}"
        out.append(f"| {names[k]} | {t:,} | {r:,} | {d:,} | {b:,} | {verdict} |")
    out.append("")
if sizes:
    pd = sizes.get("SIZE_OF_PHONE_DEFAULT", 0)
    out.append(f"RAM on the target, the phone without its frame accumulator: default capacities {pd:,} B (≤ 8 KiB: {mark(pd <= 8192)}); "
               f"one call, small queues {sizes.get('SIZE_OF_PHONE_MINIMAL', 0):,} B; "
               f"`FrameAccumulator` {sizes.get('SIZE_OF_FRAME_ACCUMULATOR_DEFAULT', 0):,} B "
               f"(12,500-byte default), `FrameAccumulator<2048>` {sizes.get('SIZE_OF_FRAME_ACCUMULATOR_2048', 0):,} B.")
    out.append("")
out.append("`ccx load` is measured by `scripts/load.sh`: see \"`ccx load` at scale\" below.")
out.append("")

table = "\n".join(out).rstrip() + "\n"
readme = os.path.join(root, "README.md")
text = open(readme).read() if os.path.exists(readme) else ""
begin, end = "<!-- numbers:begin -->", "<!-- numbers:end -->"
if begin in text and end in text:
    a = text.index(begin) + len(begin)
    b = text.index(end)
    text = text[:a] + "\n" + table + text[b:]
    open(readme, "w").write(text)
    print(f"written to {readme}")
else:
    os.makedirs(os.path.join(root, "docs"), exist_ok=True)
    p = os.path.join(root, "docs", "numbers.md")
    open(p, "w").write("# Numbers\n\n" + table)
    print(f"README.md has no numbers markers; written to {p}")
print(table)
EOF
