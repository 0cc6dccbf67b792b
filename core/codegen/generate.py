#!/usr/bin/env python3
"""Generate core/src/wire/generated.rs from the protocol table.

Inputs (both in core/spec/): messages.toml (the protocol digest as one table: tags, messages,
enumerations) and project-layouts.toml (layouts the project chose for messages the digest leaves
without one). The output is the only place where per-message knowledge lives in Rust: static
message, tag and enumeration tables that drive decode, encode, trace text and field lookup,
typed handles for every fixed field, and a Rust enum with an `Unknown` arm per enumeration.

Usage: python3 core/codegen/generate.py           write the file
       python3 core/codegen/generate.py --check   exit 1 if the file is not up to date
Needs Python 3.11+ (tomllib) and nothing else.
"""
import os
import re
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.dirname(HERE)
SPEC = os.path.join(CORE, "spec", "messages.toml")
OVERLAY = os.path.join(CORE, "spec", "project-layouts.toml")
OUT = os.path.join(CORE, "src", "wire", "generated.rs")
LUA_OUT = os.path.join(os.path.dirname(CORE), "tools", "wireshark", "ccxcti.lua")

FIXED_TYPES = {"UCHAR": ("Uchar", 1), "USHORT": ("Ushort", 2), "SHORT": ("Short", 2),
               "UINT": ("Uint", 4), "INT": ("Int", 4), "BOOL": ("Bool", 2), "TIME": ("Time", 4)}
RUST_OF = {"UCHAR": "u8", "USHORT": "u16", "SHORT": "i16", "UINT": "u32", "INT": "i32",
           "BOOL": "bool", "TIME": "u32"}
TAG_TYPES = {"STRING": "String", "UNSPEC": "Unspec", "UCHAR": "Uchar", "USHORT": "Ushort",
             "SHORT": "Short", "UINT": "Uint", "INT": "Int", "BOOL": "Bool", "TIME": "Time",
             "NAMEDVAR": "NamedVariable", "NAMEDARRAY": "NamedArray", None: "Opaque"}
# Enumerations whose values trace text prints as plain numbers (FORMAT.md §1).
NUMERIC_ENUMS = {"EventReasonCode"}


def screaming(name):
    s = re.sub(r"[^0-9A-Za-z]+", "_", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.strip("_").upper()


def snake(name):
    return screaming(name).lower()


def camel(name):
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    out = "".join(p[:1].upper() + p[1:].lower() for p in parts)
    if not out or out[0].isdigit():
        out = "V" + out
    return out


def doc_links(text):
    """Wraps bare URLs in <> so rustdoc makes them links (it warns on bare ones)."""
    return re.sub(r"(?<!<)(https?://[^\s;,)]+)", r"<\1>", text)


def rstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rstrs(xs):
    return "&[" + ", ".join(rstr(x) for x in xs) + "]"


def variant_names(enum):
    """Rust variant names: the value names without the prefix most of them share."""
    names = [v["name"] for v in enum["values"]]
    prefix = ""
    heads = {}
    for n in names:
        if "_" in n:
            head = n.split("_")[0] + "_"
            heads[head] = heads.get(head, 0) + 1
    if heads:
        head, count = max(heads.items(), key=lambda kv: kv[1])
        if count * 10 >= len(names) * 6 and len(names) > 1:
            prefix = head
            # a longer shared prefix such as E_CTI_
            while True:
                longer = {}
                for n in names:
                    if n.startswith(prefix) and "_" in n[len(prefix):]:
                        h = prefix + n[len(prefix):].split("_")[0] + "_"
                        longer[h] = longer.get(h, 0) + 1
                if not longer:
                    break
                h, c = max(longer.items(), key=lambda kv: kv[1])
                if c * 10 >= len(names) * 6:
                    prefix = h
                else:
                    break
    out, seen = [], set()
    for v in enum["values"]:
        n = v["name"]
        if prefix and n.startswith(prefix) and len(n) > len(prefix):
            n = n[len(prefix):]
        c = camel(n)
        if c == "Unknown" or c in seen:
            c = c + str(v["value"])
        seen.add(c)
        out.append(c)
    return out


def load():
    with open(SPEC, "rb") as f:
        table = tomllib.load(f)
    with open(OVERLAY, "rb") as f:
        overlay = tomllib.load(f)
    by_id = {m["id"]: m for m in table["message"]}
    for lay in overlay.get("layout", []):
        m = by_id[lay["id"]]
        assert m["name"] == lay["name"], lay["name"]
        m["layout_known"] = True
        m["fixed_size"] = lay["fixed_size"]
        m["fixed"] = lay["fixed"]
        m["floating"] = lay["floating"]
        m["project_layout"] = lay["source"]
    return table


# Fields that only trace text and lookup by name read: left out without the `names` feature.
NAMES = '#[cfg(feature = "names")] '
# Enumerations with at least this many values convert through tables (less code than a match).
TABLE_ENUM_MIN = 12
# Most counts one layout may carry (decode keeps a counter per count while it walks).
MAX_COUNTS = 8
# Bits of a packed tag entry (TAG_PACKED): the data length limit in the low 16 bits, then:
TAG_NUMERIC_SHIFT = 16   # 3 bits: exact size of a numeric type (1, 2, 4), 0 otherwise
TAG_STRING = 1 << 19
TAG_UNSPEC = 1 << 20
TAG_NAMED = 1 << 21      # NamedVariable / NamedArray: structure checked, counted in the total
TAG_COUNTED = 1 << 22    # some layout counts it in its fixed part
NUMERIC_SIZE = {"UCHAR": 1, "USHORT": 2, "SHORT": 2, "BOOL": 2, "UINT": 4, "INT": 4, "TIME": 4}


def fixed_size_for(fixed, version):
    """The fixed part's size under `version`: the same rule as spec::Layout (end of the last
    field present)."""
    ends = [f["offset"] + f["size"] for f in fixed if f.get("since_version", 0) <= version]
    return max(ends, default=0)


def count_plans(m, tag_by_name):
    """One entry per count in the fixed part: the tag of the first field it counts (a group is
    counted by its first field), where the count is, and its label for the error."""
    fixed = m["fixed"]
    labels = [f["label"] for f in fixed]
    plans, groups_seen = [], set()
    for fl in m.get("floating", []):
        rep = fl.get("repeat")
        if not (isinstance(rep, str) and rep in labels):
            continue
        g = fl.get("group")
        if g:
            if g in groups_seen:
                continue
            groups_seen.add(g)
        c = fixed[labels.index(rep)]
        assert c["type"] in NUMERIC_SIZE, (m["name"], c)
        plans.append((tag_by_name[fl["tag"]]["id"], c["offset"], c["size"], c.get("since_version", 0), c["label"]))
    assert len(plans) <= MAX_COUNTS, m["name"]
    return plans


def defaults_template(m):
    """The fixed part under the newest version as an encoder starts it: each reserved slot's
    constant (a byte slot all ones when its constant is not 0), 0 elsewhere."""
    out = bytearray(m["fixed_size"])
    for f in m["fixed"]:
        v = f.get("value", 0)
        at, n = f["offset"], f["size"]
        if f["type"] == "UNSPEC":
            out[at:at + n] = bytes([0xFF if v else 0] * n)
        else:
            out[at:at + n] = (v & ((1 << (8 * n)) - 1)).to_bytes(n, "big")
    return bytes(out)


def layout_plan(w, m, tag_by_name):
    fixed = m["fixed"]
    versions = sorted({0} | {f.get("since_version", 0) for f in fixed})
    sizes = [(v, fixed_size_for(fixed, v)) for v in versions]
    # An older version's fixed part must be a prefix of the newest one, so the encoder can copy
    # a prefix of one template.
    for v, size in sizes:
        for f in fixed:
            if f.get("since_version", 0) > v:
                assert f["offset"] >= size, (m["name"], f["label"])
    first = fixed[0] if fixed else None
    invoke = bool(first and first["label"] == "InvokeID" and first["offset"] == 0 and first["size"] == 4)
    template = defaults_template(m)
    assert len(template) == fixed_size_for(fixed, 255), m["name"]
    const = "PLAN_" + screaming(m["name"])
    w(f"static {const}: LayoutPlan = LayoutPlan {{")
    w("    fixed_sizes: &[" + ", ".join(f"({v}, {n})" for v, n in sizes) + "],")
    w("    defaults: &[" + ", ".join(str(b) for b in template) + "],")
    slots = []
    for f in fixed:
        kind = f["size"]
        if f["type"] == "UNSPEC":
            assert f["size"] < 0x80, (m["name"], f)
            kind |= 0x80
        slots.append(f"FieldSlot {{ offset: {f['offset']}, since_version: {f.get('since_version', 0)}, kind: {kind:#x} }}")
    w("    fields: &[" + ", ".join(slots) + "],")
    w("    counts: &[")
    for tag, off, size, since, label in count_plans(m, tag_by_name):
        w(f"        CountPlan {{ tag: {tag}, offset: {off}, size: {size}, since_version: {since}, field: {rstr(label)} }},")
    w("    ],")
    w(f"    invoke_id: {'true' if invoke else 'false'},")
    w("};")
    w("")


def tag_tables(w, tags, msgs, tag_by_name):
    """Direct tag tables: TAG_INDEX (tag number -> position in TAGS + 1) and TAG_PACKED (what
    decode and encode check of each tag, one word)."""
    counted = set()
    for m in msgs:
        if m.get("layout_known"):
            counted |= {p[0] for p in count_plans(m, tag_by_name)}
    top = max(t["id"] for t in tags)
    index = [0] * (top + 1)
    for i, t in enumerate(tags):
        index[t["id"]] = i + 1
    assert len(tags) < 256
    w(f"/// Position + 1 in [`TAGS`] of every tag number up to {top} (0: not in the table).")
    w(f"pub(crate) static TAG_INDEX: [u8; {top + 1}] = [" + ", ".join(map(str, index)) + "];")
    w("")
    w("/// The name of every tag, in the order of [`TAGS`].")
    w(NAMES.strip())
    w(f"pub(crate) static TAG_NAMES: [&str; {len(tags)}] = [" + ", ".join(rstr(t["name"]) for t in tags) + "];")
    w("")
    w("/// What decode and encode check of each tag of [`TAGS`], packed in one word (same order).")
    w(f"pub(crate) static TAG_PACKED: [u32; {len(tags)}] = [")
    for t in tags:
        ty = t.get("type")
        word = t.get("max", 0)
        assert word < 1 << 16
        word |= NUMERIC_SIZE.get(ty, 0) << TAG_NUMERIC_SHIFT
        if ty == "STRING":
            word |= TAG_STRING
        if ty == "UNSPEC":
            word |= TAG_UNSPEC
        if ty in ("NAMEDVAR", "NAMEDARRAY"):
            word |= TAG_NAMED
        if t["id"] in counted:
            word |= TAG_COUNTED
        w(f"    {word:#x}, // {t['id']}")
    w("];")
    w("")


def message_tables(w, msgs):
    """The packed message table decode and encode read (no names, no per-field entries) and a
    direct index from message number to position."""
    top = max(m["id"] for m in msgs)
    index = [0] * (top + 1)
    for i, m in enumerate(msgs):
        index[m["id"]] = i + 1
    assert len(msgs) < 256
    w(f"/// Position + 1 in [`MESSAGES`] and [`PLANS`] of every message number up to {top} (0: unknown).")
    w(f"pub(crate) static MESSAGE_INDEX: [u8; {top + 1}] = [" + ", ".join(map(str, index)) + "];")
    w("")
    w("/// The name of every message, in the order of [`MESSAGES`] (errors and events name messages")
    w("/// through it without linking the rest of the table).")
    w(NAMES.strip())
    w(f"pub(crate) static MESSAGE_NAMES: [&str; {len(msgs)}] = [" + ", ".join(rstr(m["name"]) for m in msgs) + "];")
    w("")
    w("/// What decode and encode need of every message, in the order of [`MESSAGES`].")
    w("pub static PLANS: &[MessagePlan] = &[")
    for m in msgs:
        direction = "ToServer" if m["direction"] == "to_server" else "ToClient"
        lay = f"Some(&PLAN_{screaming(m['name'])})" if m.get("layout_known") else "None"
        w(f"    MessagePlan {{ id: {m['id']}, direction: Direction::{direction}, layout: {lay} }},")
    w("];")
    w("")
    w(f"/// Most counts one layout carries.")
    w(f"pub(crate) const MAX_COUNTS: usize = {MAX_COUNTS};")
    w(f"pub(crate) const TAG_NUMERIC_SHIFT: u32 = {TAG_NUMERIC_SHIFT};")
    w(f"pub(crate) const TAG_STRING: u32 = {TAG_STRING:#x};")
    w(f"pub(crate) const TAG_UNSPEC: u32 = {TAG_UNSPEC:#x};")
    w(f"pub(crate) const TAG_NAMED: u32 = {TAG_NAMED:#x};")
    w(f"pub(crate) const TAG_COUNTED: u32 = {TAG_COUNTED:#x};")
    w("")


def generate(table):
    enums = {e["name"]: e for e in table["enum"]}
    tags = sorted(table["tag"], key=lambda t: t["id"])
    tag_by_name = {}
    for t in tags:
        tag_by_name[t["name"]] = t
        for a in t.get("aliases", []):
            tag_by_name[a] = t
    msgs = sorted(table["message"], key=lambda m: m["id"])
    L = []
    w = L.append
    w("// @generated by core/codegen/generate.py from core/spec/messages.toml and")
    w("// core/spec/project-layouts.toml. Do not edit by hand: change the table and regenerate.")
    w("")
    w("use super::spec::{")
    w("    CountPlan, Direction, EnumDef, EnumKind, EnumValue, FieldSlot, FixedDef, FixedType, FloatDef,")
    w("    Layout, LayoutPlan, MessageDef, MessagePlan, Support, TagDef, TagType,")
    w("};")
    w("use super::{Fixed, FixedValue};")
    w("")

    # ---- enumerations ----
    w("// ---- enumerations ----")
    w("")
    for e in table["enum"]:
        const = "ENUM_" + screaming(e["name"])
        kind = "Bits" if e["kind"] == "bits" else "Values"
        numeric = "true" if e["name"] in NUMERIC_ENUMS else "false"
        w(f"pub(crate) static {const}: EnumDef = EnumDef {{")
        w(f"    {NAMES}name: {rstr(e['name'])},")
        w(f"    kind: EnumKind::{kind},")
        w(f"    print_numeric: {numeric},")
        w(f"    {NAMES}values: &[")
        for v in e["values"]:
            w(f"        EnumValue {{ value: {v['value']:#x}, name: {rstr(v['name'])}, aliases: {rstrs(v.get('aliases', []))} }},")
        w("    ],")
        w("};")
        w("")
    w("/// Every enumeration of the protocol table, for lookup by name.")
    w(NAMES.strip())
    w("pub static ENUMS: &[&EnumDef] = &[")
    for e in table["enum"]:
        w(f"    &ENUM_{screaming(e['name'])},")
    w("];")
    w("")

    for e in table["enum"]:
        if e["kind"] == "bits":
            mod = snake(e["name"])
            w(f"/// Bits of the `{e['name']}` mask ({doc_links(e.get('source', ''))}).")
            w(f"pub mod {mod} {{")
            for v in e["values"]:
                w(f"    /// `{v['name']}`")
                w(f"    pub const {screaming(v['name'])}: u32 = {v['value']:#x};")
            w("}")
            w("")
            continue
        rt = RUST_OF[e["width"]]
        name = e["name"]
        variants = variant_names(e)
        w(f"/// The `{name}` enumeration ({doc_links(e.get('source', ''))}, confidence {e['confidence']}).")
        w("///")
        w("/// Values the table does not know decode as `Unknown(n)` and print as numbers.")
        w("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]")
        w('#[cfg_attr(feature = "defmt", derive(defmt::Format))]')
        w(f"pub enum {name} {{")
        for v, var in zip(e["values"], variants):
            w(f"    /// `{v['name']}` ({v['value']})")
            w(f"    {var},")
        w("    /// A value the protocol table does not name.")
        w(f"    Unknown({rt}),")
        w("}")
        w("")
        w(f"impl {name} {{")
        w("    /// The table this enumeration is generated from (names, aliases).")
        w(f"    pub const DEF: &'static EnumDef = &ENUM_{screaming(name)};")
        w("")
        if len(e["values"]) < TABLE_ENUM_MIN:
            w("    /// The numeric wire value.")
            w(f"    pub const fn value(self) -> {rt} {{")
            w("        match self {")
            for v, var in zip(e["values"], variants):
                w(f"            Self::{var} => {v['value']:#x},")
            w("            Self::Unknown(n) => n,")
            w("        }")
            w("    }")
            w("")
            w("    /// The value for a wire number.")
            w(f"    pub const fn from_value(n: {rt}) -> Self {{")
            w("        match n {")
            for v, var in zip(e["values"], variants):
                w(f"            {v['value']:#x} => Self::{var},")
            w("            n => Self::Unknown(n),")
            w("        }")
            w("    }")
            w("")
        else:
            # Long enumerations go through tables: a variant's position is its discriminant
            # (the matches compile to nothing) and a wire number is found in a table, which
            # takes far less code on a microcontroller than a long match.
            count = len(e["values"])
            firsts = {}
            for i, v in enumerate(e["values"]):
                firsts.setdefault(v["value"], i)
            order = sorted(firsts.items())
            w(f"    const VALUES: [{rt}; {count}] = [" + ", ".join(f"{v['value']:#x}" for v in e["values"]) + "];")
            # Values below 256 through a position table indexed by the value; larger ones
            # (sparse, few) by a scan of a sorted table.
            small = {v: i for v, i in firsts.items() if v < 256}
            large = [(v, i) for v, i in order if v >= 256]
            if small:
                top = max(small)
                pos = [0] * (top + 1)
                for v, i in small.items():
                    pos[v] = i + 1
                w(f"    const POSITIONS: [u8; {top + 1}] = [" + ", ".join(map(str, pos)) + "];")
            if large:
                w(f"    const SORTED: [({rt}, u8); {len(large)}] = [" + ", ".join(f"({v:#x}, {i})" for v, i in large) + "];")
            w("")
            w("    /// The numeric wire value.")
            w("    #[allow(clippy::indexing_slicing)]")
            w(f"    pub const fn value(self) -> {rt} {{")
            w("        let i = match self {")
            for i, var in enumerate(variants):
                w(f"            Self::{var} => {i},")
            w("            Self::Unknown(n) => return n,")
            w("        };")
            w("        Self::VALUES[i]")
            w("    }")
            w("")
            w("    /// The value for a wire number.")
            w("    #[allow(clippy::indexing_slicing)]")
            w(f"    pub const fn from_value(n: {rt}) -> Self {{")
            if small:
                w(f"        if n as usize <= {top} {{")
                w("            let p = Self::POSITIONS[n as usize];")
                w("            if p > 0 {")
                w("                return Self::at(p - 1, n);")
                w("            }")
                w("        }")
            if large:
                type_max = {"u8": 0xFF, "u16": 0xFFFF, "u32": 0xFFFF_FFFF}[rt]
                outside = [f"n < {large[0][0]:#x}"]
                if large[-1][0] < type_max:
                    outside.append(f"n > {large[-1][0]:#x}")
                w(f"        if {' || '.join(outside)} {{")
                w("            return Self::Unknown(n);")
                w("        }")
                # A scan bounded by the table's length: the compiler sees every index in range
                # (a binary search's it cannot, and would keep a panic path).
                w("        let mut i = 0;")
                w(f"        while i < {len(large)} {{")
                w("            let (v, at) = Self::SORTED[i];")
                w("            if v == n {")
                w("                return Self::at(at, n);")
                w("            }")
                w("            if v > n {")
                w("                break;")
                w("            }")
                w("            i += 1;")
                w("        }")
            w("        Self::Unknown(n)")
            w("    }")
            w("")
            w(f"    const fn at(i: u8, n: {rt}) -> Self {{")
            w("        match i {")
            for i, var in enumerate(variants):
                w(f"            {i} => Self::{var},")
            w("            _ => Self::Unknown(n),")
            w("        }")
            w("    }")
            w("")
        # Former Rust names of renamed values (`rust_aliases`), so code written against the
        # old name keeps compiling while it moves to the new one.
        for v, var in zip(e["values"], variants):
            for a in v.get("rust_aliases", []):
                w(f"    /// `{v['name']}` under its former name.")
                w("    #[allow(non_upper_case_globals)]")
                w(f"    pub const {a}: Self = Self::{var};")
                w("")
        w("    /// The name trace text prints, or `None` for an unknown value.")
        w("    pub fn name(self) -> Option<&'static str> {")
        w("        Self::DEF.name_of(u32::from(self.value()))")
        w("    }")
        w("}")
        w("")
        w(f"impl From<{rt}> for {name} {{")
        w(f"    fn from(n: {rt}) -> Self {{")
        w("        Self::from_value(n)")
        w("    }")
        w("}")
        w("")
        w(f"impl From<{name}> for {rt} {{")
        w(f"    fn from(v: {name}) -> {rt} {{")
        w("        v.value()")
        w("    }")
        w("}")
        w("")
        if rt != "u32":
            # Numbers such as FailureCode travel on as u32 next to UINT codes (Status).
            w(f"impl From<{name}> for u32 {{")
            w(f"    fn from(v: {name}) -> u32 {{")
            w("        u32::from(v.value())")
            w("    }")
            w("}")
            w("")
        w(f"impl FixedValue for {name} {{")
        w(f"    const TYPE: FixedType = FixedType::{FIXED_TYPES[e['width']][0]};")
        w("    fn from_raw(raw: u32) -> Self {")
        if rt == "u32":
            w("        Self::from_value(raw)")
        else:
            w(f"        Self::from_value({rt}::try_from(raw).unwrap_or({rt}::MAX))")
        w("    }")
        w("    fn to_raw(self) -> u32 {")
        w("        u32::from(self.value())")
        w("    }")
        w("}")
        w("")
        w(f"impl core::fmt::Display for {name} {{")
        w("    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {")
        w("        match self.name() {")
        w("            Some(n) => f.write_str(n),")
        w("            None => write!(f, \"{}\", self.value()),")
        w("        }")
        w("    }")
        w("}")
        w("")

    # ---- tags ----
    w("// ---- floating-field tags ----")
    w("")
    w("/// Every floating-field tag (FieldDataID) of the protocol table, sorted by number.")
    w("pub static TAGS: &[TagDef] = &[")
    for t in tags:
        ty = TAG_TYPES[t.get("type")]
        mx = t.get("max", 0)
        en = f"Some(&ENUM_{screaming(t['enum'])})" if "enum" in t else "None"
        w(f"    TagDef {{ id: {t['id']}, {NAMES}name: {rstr(t['name'])}, {NAMES}aliases: {rstrs(t.get('aliases', []))}, ty: TagType::{ty}, max: {mx}, enumeration: {en} }},")
    w("];")
    w("")
    tag_tables(w, tags, msgs, tag_by_name)
    w("/// Every alias of a tag name (lookup by label compares with these only when it must).")
    w(NAMES.strip())
    w("pub(crate) static TAG_ALIAS_NAMES: &[&str] = " + rstrs([a for t in tags for a in t.get("aliases", [])]) + ";")
    w("")
    w("/// Floating-field tag numbers (FieldDataID), by the guide's field name.")
    w("pub mod tag {")
    for t in tags:
        w(f"    /// `{t['name']}` ({t.get('type', 'type not documented')})")
        w(f"    pub const {screaming(t['name'])}: u16 = {t['id']};")
    w("}")
    w("")

    # ---- messages ----
    w("// ---- messages ----")
    w("")
    for m in msgs:
        if not m.get("layout_known"):
            continue
        fixed = m["fixed"]
        labels = [f["label"] for f in fixed]
        groups = []
        for fl in m.get("floating", []):
            g = fl.get("group")
            if g and g not in groups:
                groups.append(g)
        const = "LAYOUT_" + screaming(m["name"])
        fmin = m.get("fixed_size_min", m["fixed_size"])
        w(f"static {const}: Layout = Layout {{")
        w(f"    fixed_size: {m['fixed_size']},")
        w(f"    fixed_size_min: {fmin},")
        w("    fixed: &[")
        for f in fixed:
            if f["type"] == "UNSPEC":
                ty = f"FixedType::Bytes({f['size']})"
            else:
                ty = "FixedType::" + FIXED_TYPES[f["type"]][0]
                assert FIXED_TYPES[f["type"]][1] == f["size"], (m["name"], f)
            res = f"Some({f['value']:#x})" if "value" in f else "None"
            en = f"Some(&ENUM_{screaming(f['enum'])})" if "enum" in f else "None"
            label = "" if f["label"] == "Reserved" else f["label"]
            w(f"        FixedDef {{ {NAMES}label: {rstr(label)}, {NAMES}aliases: {rstrs(f.get('aliases', []))}, ty: {ty}, offset: {f['offset']}, since_version: {f.get('since_version', 0)}, reserved: {res}, enumeration: {en} }},")
        w("    ],")
        w("    floating: &[")
        for fl in m.get("floating", []):
            t = tag_by_name[fl["tag"]]
            label = fl.get("label", t["name"])
            rep = fl.get("repeat")
            if isinstance(rep, str) and rep in labels:
                count = f"Some({labels.index(rep)})"
            else:
                count = "None"
            g = fl.get("group")
            grp = f"Some({groups.index(g)})" if g else "None"
            w(f"        FloatDef {{ tag: {t['id']}, {NAMES}label: {rstr(label)}, required: {'true' if fl.get('required') else 'false'}, count_field: {count}, group: {grp}, since_version: {fl.get('since_version', 0)} }},")
        w("    ],")
        w(f"    plan: &PLAN_{screaming(m['name'])},")
        w("};")
        w("")
        layout_plan(w, m, tag_by_name)

    w("/// Every message of the protocol table, sorted by message type number.")
    w("pub static MESSAGES: &[MessageDef] = &[")
    for m in msgs:
        direction = "ToServer" if m["direction"] == "to_server" else "ToClient"
        support = {"yes": "Yes", "likely": "Likely", "no": "No"}[m["uccx"]]
        lay = f"Some(&LAYOUT_{screaming(m['name'])})" if m.get("layout_known") else "None"
        w(f"    MessageDef {{ id: {m['id']}, {NAMES}name: {rstr(m['name'])}, {NAMES}aliases: {rstrs(m.get('aliases', []))}, direction: Direction::{direction}, support: Support::{support}, layout: {lay} }},")
    w("];")
    w("")
    message_tables(w, msgs)

    # MessageType enum
    w("/// The message type (MessageTypeID) of a frame.")
    w("///")
    w("/// Numbers the protocol table does not know decode as `Unknown(n)`.")
    w("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]")
    w('#[cfg_attr(feature = "defmt", derive(defmt::Format))]')
    w("pub enum MessageType {")
    for m in msgs:
        w(f"    /// `{m['name']}` ({m['id']})")
        w(f"    {camel(m['name'])},")
    w("    /// A message type number the protocol table does not know.")
    w("    Unknown(u32),")
    w("}")
    w("")
    # id and from_id go through tables in table order: the position of a variant is its
    # discriminant, so the matches below compile to nothing and the code stays small.
    top = max(m["id"] for m in msgs)
    w("/// The wire number of every message, in the order of [`MESSAGES`] (and of the variants).")
    w(f"const MESSAGE_IDS: [u32; {len(msgs)}] = [" + ", ".join(str(m["id"]) for m in msgs) + "];")
    w("")
    w("impl MessageType {")
    w("    /// The wire number.")
    w("    #[allow(clippy::indexing_slicing)]")
    w("    pub const fn id(self) -> u32 {")
    w("        let i = match self {")
    for i, m in enumerate(msgs):
        w(f"            Self::{camel(m['name'])} => {i},")
    w("            Self::Unknown(n) => return n,")
    w("        };")
    w("        MESSAGE_IDS[i]")
    w("    }")
    w("")
    w("    /// The message type of a wire number.")
    w("    #[allow(clippy::indexing_slicing)]")
    w("    pub const fn from_id(n: u32) -> Self {")
    w(f"        let at = if n <= {top} {{ MESSAGE_POSITIONS[n as usize] }} else {{ 0 }};")
    w("        match at {")
    for i, m in enumerate(msgs):
        w(f"            {i + 1} => Self::{camel(m['name'])},")
    w("            _ => Self::Unknown(n),")
    w("        }")
    w("    }")
    w("}")
    w("")
    index = [0] * (top + 1)
    for i, m in enumerate(msgs):
        index[m["id"]] = i + 1
    w(f"/// Position + 1 of every message number up to {top} (0: unknown), for `from_id`.")
    w(f"const MESSAGE_POSITIONS: [u8; {top + 1}] = [" + ", ".join(map(str, index)) + "];")
    w("")

    # typed field handles
    w("/// Typed handles of every fixed field, one module per message.")
    w("///")
    w("/// A handle names its message, offset and type, so `Message::get` and `Encoder::set`")
    w("/// need no lookup and cannot read a field of another message.")
    w("pub mod fields {")
    w("    #[allow(unused_imports)]")
    w("    use super::*;")
    for m in msgs:
        if not m.get("layout_known"):
            continue
        w(f"    /// Fixed fields of `{m['name']}` ({m['id']}).")
        w(f"    pub mod {snake(m['name'])} {{")
        w("        #[allow(unused_imports)]")
        w("        use super::*;")
        for f in m["fixed"]:
            if f["label"] == "Reserved" or f["type"] == "UNSPEC":
                continue
            if "enum" in f and enums[f["enum"]]["kind"] == "values":
                rt = f["enum"]
            else:
                rt = RUST_OF[f["type"]]
            since = f.get("since_version", 0)
            w(f"        /// `{f['label']}` at body offset {f['offset']} ({f['type']}{', from v' + str(since) if since else ''})")
            w(f"        pub const {screaming(f['label'])}: Fixed<{rt}> = Fixed::new({m['id']}, {f['offset']}, {since});")
        w("    }")
    w("}")
    w("")
    return "\n".join(L)


def write_or_check(path, text, script):
    """Write `text` to `path`, or with --check exit 1 when the file differs from it."""
    if "--check" in sys.argv:
        with open(path) as f:
            if f.read() != text:
                print(f"{path} is out of date: run python3 {script}", file=sys.stderr)
                sys.exit(1)
        return
    with open(path, "w") as f:
        f.write(text)


def main():
    table = load()
    write_or_check(OUT, generate(table), "core/codegen/generate.py")
    # The Wireshark plugin is one more output of the same table (core/codegen/dissector.py).
    sys.path.insert(0, HERE)
    import dissector
    write_or_check(LUA_OUT, dissector.lua(table, NUMERIC_ENUMS), "core/codegen/generate.py")


if __name__ == "__main__":
    main()
