#!/usr/bin/env bash
# gru-gen under stress (stress.test): limits, output directories it cannot write, writes that
# fail, interruptions, concurrent runs. Prints one line per property; exits non-zero when one
# fails. Usage: stress.sh GRU_GEN WORK_DIR
set -uo pipefail
gru_gen=$1
work=$2
rm -rf "$work" && mkdir -p "$work/tmp"
export TMPDIR="$work/tmp" # gru-gen's scratch directories, to check that none is left
cd "$work"
failures=0
say() { echo "$*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
spec=(--input-size 7 --hidden-size 13 --batch 3 --name st -q)
# No staging directory (.gru-gen-*) beside outputs, no scratch directory left in $TMPDIR.
leftovers() { find "$work" -maxdepth 3 -name '.gru-gen-*' | grep -v "^$work/keep" ; ls -A "$work/tmp"; }
check_clean() {
  local what=$1 dir=$2
  if [ -e "$dir" ]; then fail "$what: $dir exists"; fi
  if [ -n "$(leftovers)" ]; then
    fail "$what: left $(leftovers | tr '\n' ' ')"
    rm -rf "$work"/.gru-gen-* "$work"/tmp/.gru-gen-*
  fi
}

# A reference output, written alone.
"$gru_gen" "${spec[@]}" -o ref || fail "reference run"
"$gru_gen" --input-size 9 --hidden-size 13 --batch 3 --name st -q -o ref9 || fail "reference run (D=9)"

# 1. Sizes at the limits are accepted; one past them, refused before anything is written.
"$gru_gen" --input-size 16384 --hidden-size 1 --name at_d -q -o at_d && [ -f at_d/host/libat_d.a ] \
  && say "limits: D=16384 compiles" || fail "D=16384"
for bad in "--input-size 16385 --hidden-size 1" "--input-size 1 --hidden-size 8193" \
           "--input-size 1 --hidden-size 1 --batch 4097" "--input-size 16384 --hidden-size 8192" \
           "--input-size 0 --hidden-size 1" "--input-size -1 --hidden-size 1" \
           "--input-size 99999999999999999999 --hidden-size 1" "--input-size 1 --hidden-size 1 --batch 0"; do
  # shellcheck disable=SC2086
  if "$gru_gen" $bad --name past -q -o past 2>err; then fail "accepted $bad"; fi
  grep -q '^gru-gen: error: ' err && [ "$(wc -l <err)" = 1 ] || fail "$bad: not one error line"
  check_clean "past a limit ($bad)" past
done
say "limits: 8 specs past the limits refused with one line, nothing written"

# 2. Output directories that cannot be written.
mkdir -p ro && chmod 555 ro
if [ "$(id -u)" != 0 ]; then
  if "$gru_gen" "${spec[@]}" -o ro/out 2>err; then fail "wrote into a read-only directory"; fi
  grep -q "cannot write" err || fail "read-only: $(cat err)"
  check_clean "read-only directory" ro/out
  say "unwritable directory: refused cleanly"
else
  say "unwritable directory: skipped (root ignores modes; see the read-only mount below)"
fi
chmod 755 ro
echo x >file
if "$gru_gen" "${spec[@]}" -o file 2>err; then fail "-o a regular file"; fi
if "$gru_gen" "${spec[@]}" -o file/sub 2>err; then fail "-o below a regular file"; fi
[ "$(cat file)" = x ] || fail "the regular file changed"
say "output path through a regular file: refused"
mkfifo fifo
if timeout 20 "$gru_gen" --weights fifo --name w -q -o fromfifo 2>err; then fail "--weights a FIFO"; fi
grep -q "not a regular file" err || fail "--weights a FIFO: $(cat err)"
check_clean "--weights a FIFO" fromfifo
say "--weights a FIFO: refused without blocking"

# Writes that fail (EFBIG): a file-size limit of 64 KiB, with SIGXFSZ ignored as gru-gen does.
if (ulimit -f 64; "$gru_gen" "${spec[@]}" -o big 2>err); then fail "wrote past ulimit -f"; fi
grep -q '^gru-gen: error: ' err || fail "ulimit -f: $(head -c 300 err)"
check_clean "ulimit -f" big
say "file size limit (EFBIG): one error line, nothing written"

# A full and a read-only file system: small tmpfs mounts, where mounting is allowed.
if mkdir -p full && mount -t tmpfs -o size=256k tmpfs full 2>/dev/null; then
  if "$gru_gen" "${spec[@]}" -o full/out 2>err; then fail "wrote more than fits"; fi
  grep -q '^gru-gen: error: .*No space left on device' err || fail "full: $(head -c 300 err)"
  [ -z "$(ls -A full)" ] || fail "full file system: left $(ls -A full)"
  check_clean "full file system" full/out
  mkdir -p rofs && mount -t tmpfs -o ro,size=1m tmpfs rofs
  if "$gru_gen" "${spec[@]}" -o rofs/out 2>err; then fail "wrote into a read-only fs"; fi
  grep -q 'Read-only file system' err || fail "read-only fs: $(cat err)"
  umount full rofs
  say "full file system: refused cleanly"
  say "read-only file system: refused cleanly"
else
  say "full file system: skipped (no permission to mount a tmpfs)"
  say "read-only file system: skipped (no permission to mount a tmpfs)"
fi

# 3. Interruptions at various moments: SIGINT and SIGTERM leave nothing (no output, no staging,
# no scratch); gru-gen dies of the signal. SIGKILL cannot be caught: no output either, but a
# staging directory may remain (documented).
slow=(--input-size 7 --hidden-size 13 --batch 3 --name st -q --target host,opencl,arm64-linux)
# gru-gen leaves a signal ignored when it starts ignored (nohup); background commands of a
# script, and whatever runs under a parent that ignores SIGINT (a CI runner, lit started in the
# background), start so. `default_signals` execs gru-gen with SIGINT and SIGTERM at their defaults.
default_signals() {
  exec python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
for sig in INT TERM; do
  interrupted=0
  for delay in 0.05 0.3 0.8 1.5 2.5; do
    default_signals "$gru_gen" "${slow[@]}" -o "int_$sig" & pid=$!
    sleep "$delay"
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    status=$?
    if [ "$status" = 0 ]; then
      # Finished before the signal: the output must then be complete.
      [ -f "int_$sig/st.h" ] && [ -f "int_$sig/arm64-linux/libst.a" ] || fail "$sig: finished incomplete"
      rm -rf "int_$sig"
    else
      [ "$status" -gt 128 ] || fail "SIG$sig after ${delay}s: exit status $status, not a signal"
      interrupted=$((interrupted + 1))
      check_clean "SIG$sig after ${delay}s" "int_$sig"
    fi
  done
  say "SIG$sig at 5 moments ($interrupted interrupted, the rest finished): nothing left behind"
done
# A C compiler stopped mid-way can leave files and processes behind (gcc's driver, stopped while
# cc1 writes its ccXXXXXX.s into $TMPDIR): gru-gen stops the compiler's process group, waits for
# every process in it, and gives it a TMPDIR inside its own scratch directory. It does not wait
# for a daemon the compiler started in a session of its own (sccache's server): it exits at once.
cat >fake_cc <<'EOF'
#!/bin/sh
echo partial >"${TMPDIR:-/tmp}/fake-cc-temp.$$"
(sleep 1; echo late >"${TMPDIR:-/tmp}/fake-cc-late.$$") &
if [ -n "${FAKE_CC_DAEMON:-}" ]; then  # a compiler cache's server: a session of its own
  setsid sleep 30 </dev/null >/dev/null 2>&1 &
  echo $! >"$FAKE_CC_DAEMON"
fi
: >"$FAKE_CC_STARTED"
sleep 30
EOF
chmod +x fake_cc
# Waits (30 s at most) until the fake C compiler of the run just started says it runs.
wait_for_fake_cc() {
  for _ in $(seq 600); do [ -e cc_started ] && return; sleep 0.05; done
  fail "$1: the fake C compiler never started"
}
rm -f cc_started
FAKE_CC_STARTED="$work/cc_started" FAKE_CC_DAEMON="$work/cc_daemon" CC="$work/fake_cc" \
  default_signals "$gru_gen" "${spec[@]}" -o fake_cc_out & pid=$!
wait_for_fake_cc SIGTERM
stopping=$(date +%s)
kill -s TERM "$pid"; wait "$pid"; status=$?
[ $(($(date +%s) - stopping)) -le 10 ] || fail "SIGTERM during the C compiler: waited for its daemon"
[ -s cc_daemon ] && kill "$(cat cc_daemon)"
[ "$status" -gt 128 ] || fail "SIGTERM during the C compiler: exit status $status, not a signal"
sleep 1.5  # past the grandchild's write, had it survived
check_clean "SIGTERM during the C compiler" fake_cc_out
if [ -n "$(find "$work" -name 'fake-cc-*')" ]; then
  fail "the C compiler's files survived: $(find "$work" -name 'fake-cc-*' | tr '\n' ' ')"
  find "$work" -name 'fake-cc-*' -delete
fi
say "SIGTERM during the C compiler: its temporary files and processes gone"
# SIGKILL: gru-gen's forked compiler processes get SIGTERM and clean up after themselves, C
# compilers included (working in scratch directories under $TMPDIR); once while compiling, once
# while the fake C compiler sleeps.
survivors() {
  grep -lsa -- keep/ /proc/[0-9]*/cmdline
  for cwd in /proc/[0-9]*/cwd; do
    case "$(readlink "$cwd" 2>/dev/null)" in "$work/tmp/"*) echo "$cwd" ;; esac
  done
}
mkdir -p keep
"$gru_gen" "${slow[@]}" -o keep/killed & pid=$!
sleep 1
kill -KILL "$pid"; wait "$pid" 2>/dev/null
rm -f cc_started
FAKE_CC_STARTED="$work/cc_started" CC="$work/fake_cc" "$gru_gen" "${spec[@]}" -o keep/killed_cc &
pid=$!
wait_for_fake_cc SIGKILL
kill -KILL "$pid"; wait "$pid" 2>/dev/null
[ -e keep/killed ] || [ -e keep/killed_cc ] && fail "SIGKILL left a partial output"
for _ in $(seq 20); do [ -z "$(survivors)" ] && break; sleep 0.1; done
[ -z "$(survivors)" ] || fail "SIGKILL: processes outlived gru-gen by 2 s: $(survivors | tr '\n' ' ')"
scratch_left=$(find "$work/tmp" -maxdepth 1 -name '.gru-gen-*' | wc -l)
[ "$scratch_left" -le 2 ] || fail "SIGKILL: $scratch_left scratch directories left in \$TMPDIR, not at most each gru-gen's own"
say "SIGKILL: no output directory, no process left (staging left: $(find keep -maxdepth 1 -name '.gru-gen-*' | wc -l), scratch left: $scratch_left)"
rm -rf keep "$work"/tmp/.gru-gen-*

# 4. Concurrent runs: into different directories (each equals the reference), and into one
# directory, new or existing, with the same spec and with two specs (the result is one run's
# complete output, file for file).
same_as() { diff -r "$1" "$2" >/dev/null; }
for i in 1 2 3; do "$gru_gen" "${spec[@]}" -o "par$i" & done; wait
for i in 1 2 3; do same_as "par$i" ref || fail "par$i differs from the reference"; done
say "3 concurrent runs into different directories: each identical to a run alone"
for round in 1 2 3; do
  rm -rf shared; [ "$round" = 3 ] && mkdir shared && cp -r ref9/. shared/
  "$gru_gen" "${spec[@]}" -o shared 2>err1 & a=$!
  "$gru_gen" --input-size 9 --hidden-size 13 --batch 3 --name st -q -o shared 2>err2 & b=$!
  "$gru_gen" "${spec[@]}" -o shared 2>err3 & c=$!
  wait $a || fail "concurrent run a: $(cat err1)"
  wait $b || fail "concurrent run b: $(cat err2)"
  wait $c || fail "concurrent run c: $(cat err3)"
  if ! same_as shared ref && ! same_as shared ref9; then
    fail "round $round: the shared directory is a mix: $(diff -rq shared ref | head -3 | tr '\n' ' ')"
  fi
  check_clean "concurrent round $round" nonexistent
done
say "3 concurrent runs into one directory (new, new, existing), 2 specs: one complete output each time"

if [ "$failures" = 0 ]; then say "stress: all passed"; else say "stress: $failures failures"; fi
exit $((failures != 0))
