#!/bin/sh
# The tracepoint list (lib/bpf/mace_tracepoints.h) against what is not made
# from it: the numbers raw-event files already hold, the manual page's lists,
# and the built BPF object that tests and benchmarks find programs in.
. tests/lib.sh
B=${B:-build}
LIST=${MACE_TP_LIST:-lib/bpf/mace_tracepoints.h}
MAN=${MACE_TP_MAN:-man/mace-paths.5}
OBJ=${MACE_BPF_OBJ:-$B/bpf/mace.bpf.o}
W=$(mktemp -d /tmp/mace-tracepoints.XXXXXX)
trap 'rm -rf "$W"' EXIT

# "ID name system kind side args" per tracepoint, in enum order, as the compiler
# reads the list.
printf '#include "%s"\n#define X(ID, name, system, kind, side, args) ID name system kind side args;\n%s\n' \
	"$(basename "$LIST")" 'MACE_TRACEPOINTS(X)' |
	${CC:-cc} -E -P -I"$(dirname "$LIST")" - | tr ';' '\n' | sed 's/^ *//; /^$/d' >"$W/list"
if [ ! -s "$W/list" ]; then
	fail tracepoint_list "no tracepoints read from $LIST"
	exit 1
fi
n=$(wc -l <"$W/list")

# Each enum name is MACE_TP_ and the tracepoint's name in capitals; a send
# call is a transmit, a receive call a receive.
bad=$(awk '$1 != toupper($2) { printf " %s is not %s in capitals;", $1, $2 }
	   $4 == "SYS_ENTER" && $5 != "tx" || $4 == "SYS_EXIT" && $5 != "rx" {
		printf " %s is %s but side %s;", $2, $4, $5 }' "$W/list")
if [ -n "$bad" ]; then
	fail tracepoint_ids "$LIST:$bad"
else
	pass "tracepoint_ids ($n tracepoints)"
fi

# Raw-event files store enum mace_tp: the released numbers (1, 2, ...) keep
# their tracepoints; new ones go after them.
released='net_dev_queue net_dev_start_xmit net_dev_xmit netif_receive_skb
netif_receive_skb_entry netif_receive_skb_list_entry netif_rx netif_rx_entry
napi_gro_receive_entry napi_gro_frags_entry sys_enter_sendto sys_enter_sendmsg
sys_enter_sendmmsg sys_enter_write sys_exit_recvfrom sys_exit_recvmsg
sys_exit_recvmmsg sys_exit_read'
printf '%s\n' $released >"$W/released"
awk '{ print $2 }' "$W/list" | head -n "$(wc -l <"$W/released")" >"$W/first"
bad=$(paste -d' ' "$W/released" "$W/first" |
	awk '$1 != $2 { printf " MACE_TP %d is %s, was %s;", NR, ($2 == "" ? "gone" : $2), $1 }')
if [ -n "$bad" ]; then
	fail tracepoint_numbers_kept "raw-event files' numbers changed:$bad"
else
	pass tracepoint_numbers_kept
fi

# man/mace-paths.5 lists the packet tracepoints (".It Li name" in the list
# after "Packet tracepoints"), then the syscall ones: those before "may only
# be an egress" are sends, those before "may only be an ingress" receives.
awk '/^Packet tracepoints/ { s = "PACKET"; next }
     /^Syscall tracepoints/ { s = "SYS_ENTER"; next }
     s == "PACKET" && /^\.El/ { s = ""; next }
     s == "PACKET" && /^\.It Li / { print s, $3 }
     s ~ /^SYS_/ && /^\.Li [a-z_]+/ { print s, $2 }
     s == "SYS_ENTER" && /^may only be an egress/ { s = "SYS_EXIT"; next }
     s == "SYS_EXIT" && /^may only be an ingress/ { s = ""; next }' "$MAN" | sort >"$W/man"
awk '{ print $4, $2 }' "$W/list" | sort >"$W/want"
if diff "$W/want" "$W/man" >"$W/diff"; then
	pass "tracepoints_in_man ($MAN)"
else
	fail tracepoints_in_man "$MAN differs from $LIST (< list only, > man only): $(grep '^[<>]' \
		"$W/diff" | tr '\n' ' ')"
fi

# The object holds each tracepoint's program, tp_<name>, in the section
# libbpf attaches by: tp_btf/<name> (packet), tracepoint/<system>/<name>.
if [ ! -f "$OBJ" ]; then
	fail tracepoint_programs "$OBJ not built"
else
	objdump -t "$OBJ" | awk '$2 == "g" && $3 == "F" && $4 != ".text" { print $6, $4 }' |
		sort >"$W/obj"
	awk '{ print "tp_" $2, ($4 == "PACKET" ? "tp_btf/" : "tracepoint/" $3 "/") $2 }' \
		"$W/list" | sort >"$W/progs"
	missing=$(comm -23 "$W/progs" "$W/obj" | tr '\n' ' ')
	if [ -n "$missing" ]; then
		fail tracepoint_programs "not in $OBJ: $missing"
	else
		pass tracepoint_programs
	fi
fi
lib_status
