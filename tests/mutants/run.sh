#!/bin/sh
# Mutation run: applies each mutant of tests/mutants/mutants.tsv alone to a
# private copy of the tree, rebuilds what changed, runs the tests the table
# names and reports, one line per mutant:
#	killed ID by TEST...	a named test failed (or did not pass)
#	SURVIVED ID		every named test passed: a missing test
#	n/a ID			a named test skipped here (no root, no tool)
#	ERROR ID: why		original text not found exactly once, the mutant
#				does not build, or a named test fails unmutated
# Exits 1 unless every mutant was killed.  Run from the top of the tree:
#	sh tests/mutants/run.sh [ID...]
# MACE_MUTANTS_KEEP=1 keeps the private copy (its path is printed).
table=${MACE_MUTANTS_TABLE:-tests/mutants/mutants.tsv}
case $table in /*) ;; *) table=$(pwd)/$table ;; esac
if [ ! -f "$table" ]; then
	echo "mutants: run from the top of the tree ($table not found)" >&2
	exit 2
fi
top=$(pwd)
work=$(mktemp -d /tmp/mace-mutants.XXXXXX)
[ "${MACE_MUTANTS_KEEP:-0}" = 1 ] && echo "mutants: private copy in $work" ||
	trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TAB=$(printf '\t')
MAKE_J="nice -n 10 ${MAKE:-make} -j2 --no-print-directory"

# The table without comments and blank lines, restricted to the IDs asked for.
rows() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$table" | while IFS="$TAB" read -r id rest; do
		if [ $# -eq 0 ]; then printf '%s\t%s\n' "$id" "$rest"; continue; fi
		for want; do [ "$want" = "$id" ] && printf '%s\t%s\n' "$id" "$rest"; done
	done
}

# A copy of the sources (no build/, no .git): mutants never touch the tree.
tar -C "$top" --exclude=./build --exclude=./.git -cf - . | tar -C "$work" -xf - || exit 2
cd "$work" || exit 2

# targets TEST...: what make builds for these tests.  A unit test is its own
# binary; a script needs the CLI, the examples and the integration programs.
targets() {
	for t; do
		case ${t%%:*} in
		*.sh) echo all; for c in tests/integration/*.c; do
			[ -f "$c" ] || continue; c=${c##*/}; echo "build/itests/${c%.c}"; done ;;
		*) echo "build/tests/${t%%:*}" ;;
		esac
	done | sort -u | tr '\n' ' '
}

# run_tests TEST...: runs each named program once; prints "TEST RESULT" per
# test, RESULT one of PASS FAIL SKIP MISSING.
run_tests() {
	progs=$(for t; do echo "${t%%:*}"; done | sort -u)
	for p in $progs; do
		case $p in
		*.sh) B=build sh "tests/integration/$p" ;;
		*) "build/tests/$p" ;;
		esac </dev/null >"$work/out.$p" 2>&1
		echo $? >"$work/rc.$p"
	done
	for t; do
		p=${t%%:*} n=${t#*:}
		if [ "$n" = "*" ]; then	# any test of the program
			r=$(grep -oE '^(PASS|FAIL|SKIP) ' "$work/out.$p" | sort -u | tr '\n' ' ')
			[ "$(cat "$work/rc.$p")" = 0 ] || r="$r FAIL"
		else
			r=$(grep -E "^(PASS|FAIL|SKIP) $n( |:|\$)" "$work/out.$p" | cut -d' ' -f1 |
				sort -u | tr '\n' ' ')
		fi
		case $r in
		*FAIL*) r=FAIL ;;
		*SKIP*) r=SKIP ;;
		PASS*) r=PASS ;;
		*) r=MISSING ;;
		esac
		echo "$t $r"
	done
}

# Unescapes \n, \t and \\ of a table field (for perl, from the environment).
apply() {	# apply FILE ORIG REPL: prints how often ORIG occurs; replaces it if once
	MUT_O=$2 MUT_R=$3 perl -0777 -i -pe '
		BEGIN { for my $k (qw(MUT_O MUT_R)) { my $v = $ENV{$k};
			$v =~ s/\\(n|t|\\)/$1 eq "n" ? "\n" : $1 eq "t" ? "\t" : "\\"/ge;
			$m{$k} = $v } }
		my $n = () = /\Q$m{MUT_O}\E/g;
		print STDERR "$n\n";
		s/\Q$m{MUT_O}\E/$m{MUT_R}/ if $n == 1;' "$1" 2>&1
}

start=$(date +%s)
all_tests=$(rows "$@" | cut -f5 | tr ' ' '\n' | grep . | sort -u | tr '\n' ' ')
if [ -z "$all_tests" ]; then
	echo "mutants: no mutant matches: $*" >&2
	exit 2
fi
echo "mutants: building the unmutated copy"
if ! $MAKE_J $(targets $all_tests) </dev/null >"$work/build.log" 2>&1; then
	tail -20 "$work/build.log"
	echo "mutants: the unmutated tree does not build" >&2
	exit 2
fi
# Unmutated, every named test must pass: otherwise a "kill" means nothing.
run_tests $all_tests >"$work/baseline"
killed=0 survived=0 na=0 errors=0
while IFS="$TAB" read -r id file orig repl tests; do
	t0=$(date +%s)
	bad=$(awk -v t=" $tests " 'index(t, " " $1 " ") && $2 != "PASS" { printf " %s %s", $1, $2 }' \
		"$work/baseline")
	if [ -n "$bad" ]; then
		echo "ERROR $id: unmutated:$bad"
		errors=$((errors + 1))
		continue
	fi
	if [ ! -f "$file" ]; then
		echo "ERROR $id: no file $file"
		errors=$((errors + 1))
		continue
	fi
	cp -p "$file" "$work/saved"
	n=$(apply "$file" "$orig" "$repl")
	if [ "$n" != 1 ]; then
		echo "ERROR $id: original text found $n times in $file (want 1): $orig"
		errors=$((errors + 1))
		cp -p "$work/saved" "$file"
		continue
	fi
	if ! $MAKE_J $(targets $tests) </dev/null >"$work/build.log" 2>&1; then
		echo "ERROR $id: does not build: $(grep -m1 -i error "$work/build.log")"
		errors=$((errors + 1))
	else
		res=$(run_tests $tests)
		by=$(echo "$res" | awk '$2 == "FAIL" || $2 == "MISSING" { printf "%s%s", s, $1; s = "," }')
		skipped=$(echo "$res" | awk '$2 == "SKIP" { printf " %s", $1 }')
		if [ -n "$by" ]; then
			echo "killed $id by $by ($(($(date +%s) - t0)) s)"
			killed=$((killed + 1))
		elif [ -n "$skipped" ]; then
			echo "n/a $id: skipped here:$skipped"
			na=$((na + 1))
		else
			echo "SURVIVED $id: $file: '$orig' -> '$repl' passes$(echo " $tests")"
			survived=$((survived + 1))
		fi
	fi
	# Restored with a new time stamp, so the next build recompiles it.
	cp "$work/saved" "$file"
done <<ROWS
$(rows "$@")
ROWS
echo "mutants: $killed killed, $survived survived, $na n/a, $errors errors" \
	"($(($(date +%s) - start)) s)"
[ $survived -eq 0 ] && [ $na -eq 0 ] && [ $errors -eq 0 ]
