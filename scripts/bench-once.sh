#!/usr/bin/env bash
# Times `gputop --once` against a bare C program making the same NVML calls, `nvitop --once`
# and `gpustat`, all on the fake NVML library with one scenario (4 GPUs × 2 real processes),
# and prints median wall time, peak RSS and the ratios. Needs hyperfine, cc and python3.
# `gputop --version` is the binary's own start-up with no NVML (loading, relocating, the command
# line): the floor under every gputop command. With strace, the memory at exit of --once and
# of the C program is split into the pages mapped from their files (code and read-only data,
# shared through the page cache with every process running them) and their own (heap, stacks,
# relocated data).
#
#   scripts/bench-once.sh [RUNS]
#   BEFORE=path/to/old/gputop scripts/bench-once.sh [RUNS]   # also that binary's --once, side by side
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
RUNS=${1:-40}

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
build_release
install_peers
cc -O2 -o "$BENCH/nvml-baseline" scripts/bench/nvml-baseline.c -ldl
write_scenario 4 2 "$BENCH/once-scenario.toml"

# gputop select makes the same one-sample decision (plus the driver's utilization samples and
# a look at the claims): its budget is 2x --once.
mkdir -p "$BENCH/locks"
names=("C baseline (same NVML calls)" "gputop --once" "nvitop --once" "gpustat" "gputop select"
       "gputop --version")
cmds=("$BENCH/nvml-baseline" "$GPUTOP_BIN --once --color never" "$PEERS/nvitop --once" "$PEERS/gpustat --no-color"
      "$GPUTOP_BIN select --max-util 100 --max-procs 9 --lock-dir $BENCH/locks" "$GPUTOP_BIN --version")

if [ -n "${BEFORE:-}" ]; then
  names+=("gputop --once (BEFORE)")
  cmds+=("$BEFORE --once --color never")
fi

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$BENCH/once.json" "${cmds[@]}" >/dev/null

: > "$BENCH/once-rss.txt"
for i in "${!cmds[@]}"; do
  peak=0
  for _ in 1 2 3 4 5; do
    kb=$(/usr/bin/time -f %M ${cmds[$i]} 2>&1 >/dev/null | tail -1)
    (( kb > peak )) && peak=$kb
  done
  printf '%s\t%s\n' "${names[$i]}" "$peak" >> "$BENCH/once-rss.txt"
done

python3 - "$BENCH/once.json" "$BENCH/once-rss.txt" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[2])]
base = results[0]["median"]
print(f"{'command':<30} {'median':>10} {'vs C':>7} {'peak RSS':>10}")
for (name, kb), r in zip(rows, results):
    print(f"{name:<30} {r['median']*1000:>8.2f}ms {r['median']/base:>6.1f}x {int(kb)/1024:>7.1f}MiB")
gputop = results[1]["median"]
print(f"\ngputop is {results[2]['median']/gputop:.0f}x faster than nvitop --once and {results[3]['median']/gputop:.0f}x faster than gpustat")
print(f"gputop select takes {results[4]['median']/gputop:.2f}x the time of gputop --once")
if len(results) > 6:
    print(f"gputop --once takes {gputop/results[6]['median']:.2f}x the time of the BEFORE binary's")
PY

# memory_at_exit CMD...: the command's resident memory (KiB) just before it exits, while strace
# holds its exit_group: file-backed and anonymous, from /proc/PID/smaps_rollup.
memory_at_exit() {
  strace -f -qq -o /dev/null -e trace=exit_group -e inject=exit_group:delay_enter=1000000 "$@" \
    >/dev/null 2>&1 &
  local tracer=$! pid="" i exit_group
  case $(uname -m) in aarch64) exit_group=94 ;; *) exit_group=231 ;; esac
  for i in $(seq 50); do
    sleep 0.02
    pid=$(pgrep -P "$tracer" | head -1)
    [ -n "$pid" ] && [ "$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)" = "$exit_group" ] && break
  done
  awk '/^Rss:/ {r=$2} /^Anonymous:/ {a=$2} END {printf "%d\t%d\n", r - a, a}' "/proc/$pid/smaps_rollup"
  wait "$tracer"
}
if command -v strace >/dev/null; then
  echo
  printf '%-30s %12s %12s\n' "memory at exit" "from files" "own"
  for i in 0 1; do
    read -r file own < <(memory_at_exit ${cmds[$i]})
    printf '%-30s %9.1fMiB %9.1fMiB\n' "${names[$i]}" "$(echo "$file / 1024" | bc -l)" "$(echo "$own / 1024" | bc -l)"
  done
fi
