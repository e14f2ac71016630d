#!/bin/sh
# Runs a command that should be refused; prints its stderr, then one summary line:
#   -- stdout N lines, stderr M lines, exit S
out=$(mktemp) err=$(mktemp)
"$@" >"$out" 2>"$err"
status=$?
cat "$err"
echo "-- stdout $(wc -l <"$out") lines, stderr $(wc -l <"$err") lines, exit $status"
rm -f "$out" "$err"
