#!/usr/bin/env python3
"""Write core/tests/data/vectors.txt: one byte-level vector per message and protocol version.

An encoder independent of the Rust one: it lays out every message of core/spec/messages.toml
(and project-layouts.toml) straight from the table's offsets and sizes, with distinct values in
every field, and writes the expected trace text next to the frame's hex. The Rust tests check
that encoding the text gives exactly these bytes and decoding the bytes gives exactly this text.

Usage: python3 core/codegen/vectors.py [--check]
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import load, write_or_check  # noqa: E402  (the table loader, not the encoder)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "tests", "data", "vectors.txt")
VERSIONS = [10, 17, 18]
SIZES = {"UCHAR": 1, "USHORT": 2, "SHORT": 2, "UINT": 4, "INT": 4, "BOOL": 2, "TIME": 4}
NUMERIC_ENUMS = {"EventReasonCode"}


def be(value, size):
    return value.to_bytes(size, "big")


def vector(m, version, tags, enums):
    tag_w, len_w = (2, 1) if version >= 18 else (1, 1)
    lines = [f"MsgType: {m['name']}"]
    fixed = [f for f in m["fixed"] if f.get("since_version", 0) <= version]
    size = max((f["offset"] + f["size"] for f in fixed), default=0)
    body = bytearray(size)
    labels = [f["label"] for f in m["fixed"]]
    floating = [fl for fl in m.get("floating", []) if fl.get("since_version", 0) <= version]
    counts = {}
    for fl in floating:
        rep = fl.get("repeat")
        if isinstance(rep, str) and rep in labels:
            counts[rep] = 1

    for f in fixed:
        off, sz, ty = f["offset"], f["size"], f["type"]
        if ty == "UNSPEC":
            body[off:off + sz] = bytes([0xFF if f.get("value", 0) else 0] * sz)
            continue
        if f["label"] == "Reserved":
            body[off:off + sz] = be(f.get("value", 0), sz)
            continue
        en = enums.get(f.get("enum"))
        if f["label"] in counts:
            value, text = counts[f["label"]], str(counts[f["label"]])
        elif en and en["kind"] == "values" and en["name"] not in NUMERIC_ENUMS:
            v = en["values"][off % len(en["values"])]
            value, text = v["value"], v["name"]
        elif ty == "BOOL":
            value, text = 1, "1"
        elif ty == "UCHAR":
            value = 1 + off
            text = str(value)
        elif sz == 2:
            value = 100 + off
            text = str(value)
        else:
            value = 100000 + off
            text = str(value)
        body[off:off + sz] = be(value, sz)
        lines.append(f"  {f['label']}: {text}")

    fixed_labels = {f["label"] for f in m["fixed"] if f["label"] != "Reserved"}
    for f in m["fixed"]:
        fixed_labels.update(f.get("aliases", []))
    first_def = {}
    for fl in m.get("floating", []):
        t = tags[fl["tag"]]
        first_def.setdefault(t["id"], fl)
    named_total = 0
    named_lines = []
    float_bytes = bytearray()
    float_lines = []
    context_at = None
    seen = {}
    for fl in floating:
        t = tags[fl["tag"]]
        tid, ty = t["id"], t.get("type")
        if ty == "NAMEDVAR":
            data = b"Var%d\x00v1\x00" % len(named_lines)
            text_line = f"  Var{len(named_lines)}: v1"
        elif ty == "NAMEDARRAY":
            data = b"\x03Arr\x00a1\x00"
            text_line = "  Arr[3]: a1"
        else:
            first = first_def[tid]
            label = first.get("label", tags[first["tag"]]["name"])
            if first.get("group"):
                label = f"{label}[{seen.get(tid, 0)}]"
            elif label in fixed_labels:
                label = f"Tag<{tid}>"
            if ty == "STRING" or ty is None:
                s = f"S{tid}"
                if t.get("max"):
                    s = s[:max(1, t["max"] - 1)]
                data, value_text = s.encode() + b"\x00", s
            elif ty == "UNSPEC":
                data, value_text = bytes([0xAB, tid & 0xFF]), f"0xab{tid & 0xFF:02x}"
            else:
                sz = SIZES[ty]
                en = enums.get(t.get("enum"))
                if en and en["kind"] == "values" and en["name"] not in NUMERIC_ENUMS:
                    v = en["values"][tid % len(en["values"])]
                    data, value_text = be(v["value"], sz), v["name"]
                elif ty == "BOOL":
                    data, value_text = be(1, sz), "1"
                else:
                    data, value_text = be(tid, sz), str(tid)
            text_line = f"  {label}: {value_text}"
            seen[tid] = seen.get(tid, 0) + 1
        float_bytes += be(tid, tag_w) + be(len(data), len_w) + data
        if ty in ("NAMEDVAR", "NAMEDARRAY"):
            named_total += tag_w + len_w + len(data)
            if context_at is None:
                context_at = len(float_lines)
            named_lines.append(text_line)
        float_lines.append(text_line)
    if context_at is not None:
        float_lines.insert(context_at, f"  ExpandedCallContxt: <TotalBytes: {named_total}>")
    body += float_bytes
    lines += float_lines
    frame = be(len(body), 4) + be(m["id"], 4) + bytes(body)
    return "\n".join(lines), frame.hex()


def main():
    table = load()
    tags = {}
    for t in table["tag"]:
        tags[t["name"]] = t
        tags[t["id"]] = t
    enums = {e["name"]: e for e in table["enum"]}
    out = ["# Byte-level vectors: one per message with a layout and protocol version.",
           "# Written by core/codegen/vectors.py, an encoder independent of the Rust one, from",
           "# the offsets and sizes of core/spec/messages.toml. `@version N` starts a version;",
           "# each vector is trace text followed by `= HEX` (the whole frame). Secrets are shown.",
           ""]
    for version in VERSIONS:
        out.append(f"@version {version}")
        for m in sorted(table["message"], key=lambda m: m["id"]):
            if not m.get("layout_known"):
                continue
            text, hexframe = vector(m, version, tags, enums)
            out.append(text)
            out.append(f"= {hexframe}")
            out.append("")
    write_or_check(OUT, "\n".join(out), "core/codegen/vectors.py")

if __name__ == "__main__":
    main()
