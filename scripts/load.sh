#!/usr/bin/env bash
# `ccx load` at scale: 400, 1000, 2000 and 5000 phones against the run's own simulator
# (release build), each for DURATION seconds (default 10). Writes messages/s, request ->
# confirmation p50/p99, CPU (user + system over wall time, in cores) and peak RSS between
# <!-- load:begin --> and <!-- load:end --> in README.md, with the machine's load average:
# the figures are only as quiet as the machine was.
#
# Usage: scripts/load.sh [PHONES...]   (e.g. scripts/load.sh 5000 to re-run the biggest only;
# the other rows are kept from the last run)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/target/load-bench
mkdir -p "$WORK"
DURATION=${DURATION:-10}
PHONES=("$@")
[ ${#PHONES[@]} -eq 0 ] && PHONES=(400 1000 2000 5000)

# Each phone takes two descriptors in this process (its socket and the simulator's end).
want=$((2 * 5000 + 512))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
    ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
fi
echo "descriptors: $(ulimit -n)"

cargo build -q --release -p ccx-cti-std
CCX=$ROOT/target/release/ccx
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (/usr/bin/time; apt-get install time)"; exit 1; }

for n in "${PHONES[@]}"; do
    echo "== $n phones"
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    set +e
    "$TIME" -f 'TIME %e %U %S %M' "$CCX" load --phones "$n" --duration "$DURATION" \
        >"$WORK/load-$n.out" 2>"$WORK/load-$n.err"
    status=$?
    set -e
    echo "$load" >"$WORK/load-$n.loadavg"
    echo "$status" >"$WORK/load-$n.status"
    head -6 "$WORK/load-$n.out"
done

python3 - "$WORK" "$ROOT/README.md" "${PHONES[@]}" <<'PY'
import os, re, sys, datetime
work, readme, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
begin, end = "<!-- load:begin -->", "<!-- load:end -->"
header = ("| phones | loops | ramp-up | messages/s | request → confirmation p50 / p99 after the ramp-up "
          "| p99 during the ramp-up | CPU (cores) | peak RSS | mismatches | never opened | result "
          "| load average | measured |")
text = open(readme).read()
# Rows of sizes not re-run now are kept as they were (same columns only).
rows = {}
m = re.search(re.escape(begin) + "(.*?)" + re.escape(end), text, flags=re.S)
if m and header in m.group(1):
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0].isdigit():
            rows[int(cells[0])] = line
when = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
for n in sizes:
    read = lambda suffix: open(os.path.join(work, f"load-{n}.{suffix}")).read()
    out, err = read("out"), read("err")
    status, loadavg = read("status").strip(), read("loadavg").strip()
    def find(pat, text=out, default="-"):
        r = re.search(pat, text)
        return r.group(1) if r else default
    t = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", err)
    cpu = f"{(float(t.group(2)) + float(t.group(3))) / float(t.group(1)):.2f}" if t else "-"
    rss = f"{int(t.group(4)) / 1024:.0f} MiB" if t else "-"
    mps = find(r"([\d.]+) per second")
    steady = re.search(r"latency over \d+ requests[^:]*: p50 ([\d.]+ ms), p90 [\d.]+ ms, p99 ([\d.]+ ms)", out)
    p50, p99 = steady.groups() if steady else ("-", "-")
    ramp = find(r"phones started over ([\d.]+ s)", default="0 s")
    ramp_p99 = find(r"pressed meanwhile: p50 [\d.]+ ms, p99 ([\d.]+ ms)")
    loops = find(r"on (\d+) poll loops")
    mism = find(r"consistency: (\d+) mismatches", default="0")
    never = find(r"phones never opened (\d+)")
    result = "PASS" if status == "0" else "FAIL"
    rows[int(n)] = (f"| {n} | {loops} | {ramp} | {mps} | {p50} / {p99} | {ramp_p99} | {cpu} | {rss} "
                    f"| {mism} | {never} | {result} | {loadavg} | {when} |")
cores = os.cpu_count()
table = "\n".join([
    f"Measured by `scripts/load.sh`: {cores} cores, own simulator in the same process "
    f"(one poll loop; the phones on one loop per remaining core), release build, "
    f"{os.environ.get('DURATION', '10')} s of traffic per row, the phones powered on evenly over "
    "the ramp-up (1 ms a phone, at most a quarter of the run; `ccx load --ramp`). The load "
    "average when each row was taken is in its row: latencies above a few milliseconds at a "
    "load above the core count are mostly time spent waiting for a core.",
    "",
    header,
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    *(rows[k] for k in sorted(rows)),
])
if m:
    text = text.replace(m.group(0), begin + "\n" + table + "\n" + end)
else:
    text = text.replace("## Licence", f"### `ccx load` at scale\n\n{begin}\n{table}\n{end}\n\n## Licence")
open(readme, "w").write(text)
print(table)
PY
