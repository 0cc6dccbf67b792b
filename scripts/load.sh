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

python3 - "$WORK" "$ROOT/README.md" <<'PY'
import os, re, sys, datetime
work, readme = sys.argv[1], sys.argv[2]
rows = []
for name in sorted(os.listdir(work), key=lambda n: int(re.sub(r"\D", "", n) or 0)):
    m = re.fullmatch(r"load-(\d+)\.out", name)
    if not m:
        continue
    n = m.group(1)
    out = open(os.path.join(work, name)).read()
    err = open(os.path.join(work, f"load-{n}.err")).read()
    status = open(os.path.join(work, f"load-{n}.status")).read().strip()
    loadavg = open(os.path.join(work, f"load-{n}.loadavg")).read().strip()
    def find(pat, text=out, default="-"):
        r = re.search(pat, text)
        return r.group(1) if r else default
    t = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", err)
    cpu = f"{(float(t.group(2)) + float(t.group(3))) / float(t.group(1)):.2f}" if t else "-"
    rss = f"{int(t.group(4)) / 1024:.0f} MiB" if t else "-"
    mps = find(r"([\d.]+) per second")
    p50 = find(r"p50 ([\d.]+ ms)")
    p99 = find(r"p99 ([\d.]+ ms)")
    loops = find(r"on (\d+) poll loops")
    mism = find(r"consistency: (\d+) mismatches", default="0")
    never = find(r"phones never opened (\d+)")
    result = "PASS" if status == "0" else "FAIL"
    rows.append(f"| {n} | {loops} | {mps} | {p50} / {p99} | {cpu} | {rss} | {mism} | {never} | {result} | {loadavg} |")
when = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
cores = os.cpu_count()
table = "\n".join([
    f"Measured by `scripts/load.sh` on {when}: {cores} cores, own simulator in the same process "
    f"(one poll loop; the phones on one loop per remaining core), release build, "
    f"{os.environ.get('DURATION', '10')} s of traffic per row. The machine was shared with other "
    "builds while measuring: the load average of each run is in the last column, and latencies "
    "above a few milliseconds at that load are mostly time spent waiting for a core.",
    "",
    "| phones | loops | messages/s | request → confirmation p50 / p99 | CPU (cores) | peak RSS | mismatches | never opened | result | load average |",
    "|---|---|---|---|---|---|---|---|---|---|",
    *rows,
])
text = open(readme).read()
begin, end = "<!-- load:begin -->", "<!-- load:end -->"
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + table + "\n" + end, text, flags=re.S)
else:
    text = text.replace("## Licence", f"### `ccx load` at scale\n\n{begin}\n{table}\n{end}\n\n## Licence")
open(readme, "w").write(text)
print(table)
PY
