#!/usr/bin/env bash
# Replication at scale: two `ccx sim` processes (side A master, side B standby, release
# build) with AGENTS agents (default 10000), and as many phones of one `ccx load --server`
# logged in on side A taking calls (RATE per minute, TALK_MS each). Measures, from both
# sides' metrics endpoints, the replication link's traffic (states and bytes per second, the
# mean size of one update) and what taking and applying states costs each side's loop thread; then
# kills side A (SIGKILL) and measures how long side B takes to be master, and whether it has
# the agents and calls side A had. Writes the figures between <!-- ha-scale:begin --> and
# <!-- ha-scale:end --> in README.md with the date and the machine's load average: on a
# shared machine the figures are only as quiet as it was. Not a test: it takes about a minute.
#
# Usage: scripts/ha-scale.sh   (AGENTS=2000 RATE=1200 TALK_MS=30000 WINDOW=10 to change it;
# CCX=path/to/ccx measures that binary instead of building this tree's, e.g. an older
# build to compare with)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/target/ha-scale
mkdir -p "$WORK"
AGENTS=${AGENTS:-10000}
RATE=${RATE:-6000}
TALK_MS=${TALK_MS:-30000}
WINDOW=${WINDOW:-10}

want=$((3 * AGENTS + 512))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
    ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
fi

if [ -z "${CCX:-}" ]; then
    cargo build -q --release -p ccx-cti-std --bin ccx
    CCX=$ROOT/target/release/ccx
fi
export CCX AGENTS RATE TALK_MS WINDOW WORK

python3 - "$ROOT/README.md" <<'PY'
import os, re, signal, subprocess, sys, threading, time, datetime, urllib.request

readme = sys.argv[1]
ccx, work = os.environ["CCX"], os.environ["WORK"]
agents, rate = int(os.environ["AGENTS"]), os.environ["RATE"]
talk_ms, window = os.environ["TALK_MS"], float(os.environ["WINDOW"])
procs = []

def start(name, args):
    p = subprocess.Popen([ccx] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    procs.append(p)
    lines = []
    def pump(stream, tag):
        with open(f"{work}/{name}.{tag}", "w") as f:
            for line in stream:
                f.write(line); f.flush()
                lines.append(line)
    for stream, tag in ((p.stdout, "out"), (p.stderr, "err")):
        threading.Thread(target=pump, args=(stream, tag), daemon=True).start()
    return p, lines

def find(lines, needle, limit=30):
    end = time.time() + limit
    while time.time() < end:
        for l in list(lines):
            if needle in l:
                return l.split(needle, 1)[1].split()[0].rstrip("/")
        time.sleep(0.02)
    sys.exit(f"no `{needle}`")

def scrape(addr):
    text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out

def agents_by_state(m):
    return {k.split('"')[1]: int(v) for k, v in m.items() if k.startswith("ccx_sim_agents{")}

try:
    common = ["sim", "--listen", "127.0.0.1:0", "--agents", str(agents), "--metrics",
              "127.0.0.1:0", "--progress", "0", "--log", "warn"]
    a, a_lines = start("a", common + ["--rate", rate, "--replication", "127.0.0.1:0"])
    a_addr = find(a_lines, "listening on ")
    link = find(a_lines, "replication link on ")
    a_metrics = find(a_lines, "metrics on http://").split("/")[0]
    b, b_lines = start("b", common + ["--standby", "--replication", link])
    b_metrics = find(b_lines, "metrics on http://").split("/")[0]
    load, _ = start("load", ["load", "--server", a_addr, "--phones", str(agents),
                             "--duration", "120", "--talk-ms", talk_ms, "--progress", "0"])
    # Every phone logged in (or a minute gone), then the calls settle.
    end = time.time() + 60
    while time.time() < end and scrape(a_metrics).get("ccx_sim_sessions_open", 0) < agents:
        time.sleep(0.5)
    time.sleep(5)
    m0, n0, t0 = scrape(a_metrics), scrape(b_metrics), time.time()
    loadavg = open("/proc/loadavg").read().split()[:3]
    time.sleep(window)
    m1, n1, t1 = scrape(a_metrics), scrape(b_metrics), time.time()
    dt = t1 - t0
    d = lambda m1, m0, k: m1.get(k, 0) - m0.get(k, 0)
    states = d(m1, m0, 'ccx_sim_replication_states_total{direction="sent"}')
    sent = d(m1, m0, 'ccx_sim_replication_bytes_total{direction="sent"}')
    applied = d(n1, n0, 'ccx_sim_replication_states_total{direction="applied"}')
    snap = d(m1, m0, 'ccx_sim_replication_loop_seconds_total{work="snapshot"}')
    apply_s = d(n1, n0, 'ccx_sim_replication_loop_seconds_total{work="apply"}')
    msgs = d(m1, m0, 'ccx_sim_messages_total{direction="in"}') + d(m1, m0, 'ccx_sim_messages_total{direction="out"}')

    # Side A dies with its phones on it; side B must become master with their state.
    last = scrape(a_metrics)
    a.send_signal(signal.SIGKILL)
    killed = time.time()
    took = None
    while time.time() < killed + 10:
        if scrape(b_metrics).get("ccx_sim_master", 0) == 1:
            took = time.time() - killed
            break
        time.sleep(0.01)
    after = scrape(b_metrics)
    own = find(b_lines, "failover ", 5)
    before_states, after_states = agents_by_state(last), agents_by_state(after)
    logged_in = lambda s: sum(v for k, v in s.items() if k not in ("Logout", "Login") and not k.startswith("Unknown"))
    row = {
        "agents": agents,
        "logged_in_a": logged_in(before_states),
        "logged_in_b": logged_in(after_states),
        "calls_a": int(last.get("ccx_sim_calls_active", 0)),
        "calls_b": int(after.get("ccx_sim_calls_active", 0)),
        "messages_s": msgs / dt,
        "states_s": states / dt,
        "applied_s": applied / dt,
        "state_kb": sent / max(states, 1) / 1024,
        "link_kb_s": sent / dt / 1e3,
        "snap_pct": 100 * snap / dt,
        "apply_pct": 100 * apply_s / dt,
        "failover_ms": int(own),
        "master_after_s": took,
        "loadavg": " ".join(loadavg),
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    print(row)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()

begin, end_m = "<!-- ha-scale:begin -->", "<!-- ha-scale:end -->"
r = row
took = "not within 10 s" if r["master_after_s"] is None else f"{r['master_after_s']*1000:.0f} ms"
# Shares of the loop as small as a few thousandths of a percent still say something.
share = lambda pct: f"{pct:.1f}" if pct >= 0.1 else f"{pct:.2g}"
block = f"""{begin}
Measured by `scripts/ha-scale.sh` on {r['when']}, load average {r['loadavg']} (2 cores shared by
both simulators and the {r['agents']} phones of `ccx load`; release build; {window:.0f} s window):

| agents | logged in / calls on A | messages/s on A | updates/s sent / applied | one update (mean) | link traffic | A's loop taking states | B's loop applying them | failover (B's own) | kill → B master | logged in / calls on B after |
|---|---|---|---|---|---|---|---|---|---|---|
| {r['agents']} | {r['logged_in_a']} / {r['calls_a']} | {r['messages_s']:.0f} | {r['states_s']:.1f} / {r['applied_s']:.1f} | {r['state_kb']:.1f} KiB | {r['link_kb_s']:.1f} kB/s | {share(r['snap_pct'])} % | {share(r['apply_pct'])} % | {r['failover_ms']} ms | {took} | {r['logged_in_b']} / {r['calls_b']} |
{end_m}"""
text = open(readme).read()
if begin in text:
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end_m), lambda _: block, text, flags=re.S)
else:
    sys.exit(f"README.md has no {begin} … {end_m}")
open(readme, "w").write(text)
print(block)
PY
