#!/usr/bin/env bash
# Runs a command while every core is kept busy by a CPU hog, the way a
# shared or loaded machine would be: the check that no test depends on the
# machine's speed. The hogs are this script's children and are stopped
# when the command ends, fails or is interrupted.
#
#   scripts/busy.sh [-n ROUNDS] COMMAND...
#
# With -n ROUNDS the command runs that many times in a row under the load
# and the script stops at the first failure. BUSY_HOGS sets the number of
# hogs (default: one per core).
set -euo pipefail

rounds=1
if [ "${1:-}" = "-n" ]; then rounds=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-n ROUNDS] COMMAND..." >&2; exit 2; }

hogs=${BUSY_HOGS:-$(nproc)}
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM
for _ in $(seq "$hogs"); do
  # A busy loop in a shell of its own: 100% of a core, no memory, no I/O.
  bash -c 'while :; do :; done' &
  pids+=($!)
done
echo "busy: $hogs CPU hogs running (pids ${pids[*]}), $rounds round(s) of: $*"
for i in $(seq "$rounds"); do
  start=$(date +%s)
  # In the foreground: Ctrl-C reaches the command (the whole process
  # group gets it), which ends; then the traps stop the hogs, which as
  # background jobs of a script ignore SIGINT.
  status=0
  "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "busy: round $i of $rounds FAILED after $(( $(date +%s) - start )) s" >&2
    exit 1
  fi
  echo "busy: round $i of $rounds passed in $(( $(date +%s) - start )) s"
done
