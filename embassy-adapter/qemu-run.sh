#!/bin/bash
# Cargo runner: boot the ELF on qemu's mps2-an386 (Cortex-M4) and decode its defmt output.
# The exit status is the firmware's (semihosting exit), or 124 when it hangs past QEMU_TIMEOUT.
set -o pipefail
elf="$1"
timeout "${QEMU_TIMEOUT:-60}" qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
  -semihosting-config enable=on,target=native -kernel "$elf" \
  | defmt-print -e "$elf"
