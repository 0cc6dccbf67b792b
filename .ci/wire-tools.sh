#!/usr/bin/env bash
# The tools for captures and logs: the Wireshark dissector generated from the protocol table
# (tools/wireshark/ccxcti.lua) is run by tshark over captures the tests make from the simulator
# (the demo story, every preview answer, an inbound call with hold and transfer; versions 10,
# 17 and 18; frames split across segments), and every message, label and value of its
# `tshark -T json` must equal what `ccx decode --pcap --json` gives (tools/wireshark/crosscheck.py).
# Installs Debian's tshark when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tshark >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tshark
fi
tshark --version | sed -n 1p

# The plugin is what the table says, and it loads: its fields are registered.
python3 core/codegen/generate.py --check
fields=$(tshark -G fields -X lua_script:tools/wireshark/ccxcti.lua 2>/dev/null | grep -c $'\tccxcti\\.' || true)
if [ "$fields" -lt 50 ]; then
  echo "the Lua dissector did not load (only $fields ccxcti fields registered)" >&2
  exit 1
fi
echo "dissector loaded: $fields fields"

# The cross-check, required here (without tshark the test would only skip it).
CCX_REQUIRE_TSHARK=1 cargo test -p ccx-cti-std --test wire_tools --test wire_logs -- --nocapture
