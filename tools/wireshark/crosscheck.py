#!/usr/bin/env python3
"""Cross-check the generated Wireshark dissector against `ccx decode --pcap --json`.

Usage: crosscheck.py CAPTURE CCX_JSON [--lua tools/wireshark/ccxcti.lua] [--version N]

Runs `tshark -X lua_script:ccxcti.lua -r CAPTURE -T json` and compares, packet by packet and
in order, every CTI message: its name, length, and every field's label and value (numbers as
the wire holds them, text as trace text prints it, named variables by name and value). Prints
what differs and exits 1 if anything does; exits 0 with a count when all agree.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def pairs_hook(pairs):
    return pairs  # keep order and duplicate keys: a list of (key, value)


def walk(pairs, out):
    """Fields of one ccxcti layer in tree order."""
    pending_tag = None
    for key, value in pairs:
        if isinstance(value, list) and key.endswith("_tree"):
            walk(value, out)
            continue
        if key.startswith("ccxcti.field."):
            label = key[len("ccxcti.field."):].split(".")[0]
            out.append((label, value))
        elif key == "ccxcti.namedvar.name":
            out.append(["named", value, None])
        elif key == "ccxcti.namedvar.value":
            out[-1][2] = value
        elif key == "ccxcti.namedvar.index":
            out[-1][1] = f"{out[-1][1]}[{value}]"
        elif key == "ccxcti.tag":
            pending_tag = value
        elif key == "ccxcti.tag.value":
            out.append((f"Tag<{pending_tag}>", value))
        elif key == "ccxcti.reserved":
            off, _, v = value.partition(": ")
            out.append((f"Reserved@{off}", v))
        elif key == "ccxcti.body":
            out.append(("Body", "0x" + value.replace(":", "")))
    return [(f[1], f[2]) if isinstance(f, list) else f for f in out]


def tshark_messages(capture, lua, version, ports):
    cmd = ["tshark", "-X", f"lua_script:{lua}", "-o", f"ccxcti.version:{version}",
           "-r", capture, "-T", "json"]
    for port in sorted(ports):
        cmd += ["-d", f"tcp.port=={port},ccxcti"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"tshark failed ({res.returncode}): {res.stderr}")
    packets = json.loads(res.stdout, object_pairs_hook=pairs_hook)
    out = []
    for packet in packets:
        source = dict(packet)["_source"]
        layers = dict(source)["layers"]
        frame = None
        for key, value in layers:
            if key == "frame":
                frame = int(dict(value)["frame.number"])
            if key == "ccxcti":
                d = dict(value)
                out.append({
                    "frame": frame,
                    "msgtype": d.get("ccxcti.msgtype"),
                    "length": int(d.get("ccxcti.length", "-1")),
                    "fields": walk(value, []),
                })
    return out


def ccx_messages(path):
    with open(path) as f:
        report = json.load(f)
    out = []
    for m in report["messages"]:
        fields = []
        for f in m["fields"]:
            value = str(f["raw"]) if "raw" in f else f["value"]
            fields.append((f["label"], value))
        out.append({"frame": m["frame"], "msgtype": m["msgtype"], "length": m["length"],
                    "fields": fields})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("ccx_json")
    ap.add_argument("--lua", default=os.path.join(HERE, "ccxcti.lua"))
    ap.add_argument("--version", default="17")
    a = ap.parse_args()
    cx = ccx_messages(a.ccx_json)
    # The simulator listens on a free port: tell tshark which ports are the servers'.
    with open(a.ccx_json) as f:
        ports = {m["dst"].rsplit(":", 1)[1] for m in json.load(f)["messages"]
                 if m["direction"] == "to_server"}
    ws = tshark_messages(a.capture, a.lua, a.version, ports)
    problems = []
    if len(ws) != len(cx):
        problems.append(f"tshark found {len(ws)} messages, ccx {len(cx)}")
    for i, (w, c) in enumerate(zip(ws, cx)):
        where = f"message {i + 1} (packet {c['frame']}, {c['msgtype']})"
        for key in ("frame", "msgtype", "length"):
            if w[key] != c[key]:
                problems.append(f"{where}: {key}: tshark {w[key]!r}, ccx {c[key]!r}")
        if w["fields"] != c["fields"]:
            problems.append(f"{where}: fields differ\n  tshark: {w['fields']}\n  ccx:    {c['fields']}")
    if problems:
        print(f"{a.capture}: the dissector and ccx disagree:")
        for p in problems[:20]:
            print("  " + p)
        sys.exit(1)
    nfields = sum(len(m["fields"]) for m in cx)
    print(f"{a.capture}: {len(cx)} messages, {nfields} fields: tshark and ccx agree")


if __name__ == "__main__":
    main()
