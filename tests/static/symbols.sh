#!/bin/sh
# The exported ABI said three times must agree: the symbols libmace.so
# exports (nm -D), the names lib/libmace.map lists under their versions, and
# the functions include/mace.h declares.  A symbol missing from any one of
# them, or exported under another version than the map's, fails.
. tests/lib.sh
B=${B:-build}
SO=${MACE_SO:-$B/libmace.so}
MAP=${MACE_MAP:-lib/libmace.map}
HDR=${MACE_HDR:-include/mace.h}
W=$(mktemp -d /tmp/mace-symbols.XXXXXX)
trap 'rm -rf "$W"' EXIT

if [ ! -f "$SO" ]; then
	fail abi_symbols "$SO not built"
	exit 1
fi
# "name version" of each exported function or object
nm -D --defined-only "$SO" | awk '$2 != "A" { split($3, s, "@"); print s[1], s[length(s)] }' |
	sort >"$W/lib" || { fail abi_symbols "nm -D $SO failed"; exit 1; }
# "name version" of each name the map lists, by the node it stands in
sed -e 's|/\*.*\*/||g' "$MAP" | awk '
	/^[A-Za-z_][A-Za-z0-9_.]* *\{/ { node = $1; next }
	/^[ \t]*[A-Za-z_][A-Za-z0-9_]*;/ { gsub(/[ \t;]/, ""); print $0, node }' | sort >"$W/map"
# Function names the header declares (comments gone through cpp; typedefs
# of function pointers do not match "name(")
${CC:-cc} -E -P -D_GNU_SOURCE "$HDR" | grep -oE '(^|[^A-Za-z0-9_])mace_[a-z0-9_]*\(' |
	sed 's/^[^m]*//; s/($//' | sort -u >"$W/hdr"
cut -d' ' -f1 "$W/lib" >"$W/lib.names"
cut -d' ' -f1 "$W/map" >"$W/map.names"

ok=1
if [ ! -s "$W/lib" ] || [ ! -s "$W/map" ] || [ ! -s "$W/hdr" ]; then
	fail abi_symbols "an empty list: lib $(wc -l <"$W/lib"), map $(wc -l <"$W/map"), header $(wc -l <"$W/hdr")"
	exit 1
fi
check() {	# check WHAT NAMES-A NAMES-B: names in A that B lacks
	missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
	if [ -n "$missing" ]; then
		fail abi_symbols "$1: $missing"
		ok=0
	fi
}
check "exported by $SO but not in $MAP" "$W/lib.names" "$W/map.names"
check "in $MAP but not exported by $SO" "$W/map.names" "$W/lib.names"
check "exported by $SO but not declared in $HDR" "$W/lib.names" "$W/hdr"
check "declared in $HDR but not exported by $SO" "$W/hdr" "$W/lib.names"
wrong=$(join "$W/lib" "$W/map" | awk '$2 != $3 { print $1 "@" $2 " (map: " $3 ")" }' | tr '\n' ' ')
if [ -n "$wrong" ]; then
	fail abi_symbols "exported under another version than the map's: $wrong"
	ok=0
fi
[ $ok = 1 ] && pass "abi_symbols ($(wc -l <"$W/lib") symbols)"

# The soname of this release's layouts (docs/DESIGN.md, ABI): 0.2's structs
# begin with sz, so a program built for libmace.so.0 must not load this one.
want=libmace.so.1
soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
if [ "$soname" != "$want" ]; then
	fail abi_soname "$SO has soname '$soname', want $want"
elif [ ! -e "$(dirname "$SO")/$want" ]; then
	fail abi_soname "no $want beside $SO"
else
	pass "abi_soname ($want)"
fi
lib_status
