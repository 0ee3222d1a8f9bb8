#!/bin/sh
# lib/bpf/vmlinux.h is what tools/gen-vmlinux.sh makes from this kernel's BTF:
# every field the BPF programs read exists, declared as the kernel does.
. tests/lib.sh
if out=$(sh tools/gen-vmlinux.sh --check 2>&1); then
	pass vmlinux_header_matches_btf
else
	fail vmlinux_header_matches_btf "$(printf '%s\n' "$out" | tail -3 | tr '\n' ' ')"
fi
lib_status
