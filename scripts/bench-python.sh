#!/usr/bin/env bash
# The Python package against gpustat, in one venv on the fake NVML library (4 GPUs × 2 real
# processes): `gputop.query()` against `gpustat.new_query()` in the same process, the cost of
# `import gputop`, whole `python -c '…; print(new_query())'` processes (hyperfine), and the size
# of the release wheel (`maturin build --release`). Budgets (issue 15): query ≥ 20x faster,
# import ≤ 20 ms, whole process ≤ 1/5 of gpustat's, wheel ≤ 10 MiB.
#
#   scripts/bench-python.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
RUNS=${1:-30}

command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
build_release
install_peers
if [ ! -x target/python-venv/bin/maturin ]; then
  python3 -m venv target/python-venv
  target/python-venv/bin/pip install --quiet -r python/requirements-test.txt
fi
rm -rf "$BENCH/wheels"
target/python-venv/bin/maturin build --release --locked --quiet -m python/Cargo.toml --out "$BENCH/wheels" >/dev/null
wheel=$(ls "$BENCH"/wheels/gputop-*.whl)
"$PEERS/pip" install --quiet --force-reinstall --no-deps "$wheel"
PY="$PEERS/python"
# Both load the fake library by its driver name from LD_LIBRARY_PATH (build_release).
unset GPUTOP_NVML_LIB

# In one process: each warmed up once, then the median of many calls. gpustat sleeps 0.1 s per
# GPU whose processes NVML can list (to measure their CPU use), even when there are none; it is
# timed as users get it, and again with its sleeps taken out (its NVML and /proc work alone).
inprocess() {
  "$PY" - "$RUNS" <<'PY'
import statistics, sys, time
runs = int(sys.argv[1]) * 10
import gpustat, gputop
def median_us(f, n):
    f()
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6
q = median_us(gputop.query, runs)
n = median_us(gputop.new_query, runs)
g = median_us(gpustat.new_query, max(5, runs // 20))
# gpustat's NVML and /proc work alone, its 0.1 s sleeps taken out.
gpustat.core.time.sleep = lambda seconds: None
w = median_us(gpustat.new_query, runs)
print(f"{q:.0f}\t{n:.0f}\t{g:.0f}\t{w:.0f}")
PY
}
write_scenario 4 0 "$BENCH/python-scenario-idle.toml"
inprocess > "$BENCH/python-inprocess-idle.txt"
write_scenario 4 2 "$BENCH/python-scenario.toml"
inprocess > "$BENCH/python-inprocess.txt"

# `import gputop` in a fresh interpreter, the median of RUNS (the interpreter's own start left out).
import_ms=$(for _ in $(seq "$RUNS"); do
  "$PY" -c 'import time; t = time.perf_counter(); import gputop; print((time.perf_counter() - t) * 1000)'
done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$BENCH/python-process.json" \
  "$PY -c 'import gputop; print(gputop.new_query())'" \
  "$PY -c 'import gpustat; print(gpustat.new_query())'" >/dev/null

wheel_bytes=$(stat -c %s "$wheel")
python3 - "$BENCH/python-inprocess.txt" "$BENCH/python-inprocess-idle.txt" "$BENCH/python-process.json" "$import_ms" "$wheel_bytes" "$(basename "$wheel")" <<'PY'
import json, sys
q, n, g, w = map(float, open(sys.argv[1]).read().split())
qi, ni, gi, wi = map(float, open(sys.argv[2]).read().split())
procs = json.load(open(sys.argv[3]))["results"]
ours, theirs = (r["median"] * 1000 for r in procs)
import_ms, wheel = float(sys.argv[4]), int(sys.argv[5])
ok = lambda good: "ok" if good else "OVER BUDGET"
print("in one process, median of calls     4 GPUs x 2 processes        4 GPUs, no processes")
print(f"  gputop.query()      {q:9.0f} µs {g / q:7.1f}x faster   {qi:9.0f} µs {gi / qi:6.1f}x faster")
print(f"  gputop.new_query()  {n:9.0f} µs {g / n:7.1f}x faster   {ni:9.0f} µs {gi / ni:6.1f}x faster")
print(f"  gpustat.new_query() {g:9.0f} µs                   {gi:9.0f} µs")
print(f"   … without sleeping {w:9.0f} µs {w / q:7.1f}x gputop's  {wi:9.0f} µs {wi / qi:6.1f}x gputop's")
print(f"  budget: query() ≥ 20x faster than gpustat.new_query(): {ok(min(g / q, gi / qi) >= 20)}")
print(f"import gputop         {import_ms:8.1f} ms   (budget ≤ 20 ms: {ok(import_ms <= 20)})")
print(f"whole process, python -c 'import …; print(….new_query())' (median):")
print(f"  gputop              {ours:8.1f} ms   {ours / theirs:5.2f} of gpustat's  (budget ≤ 0.20: {ok(ours / theirs <= 0.2)})")
print(f"  gpustat             {theirs:8.1f} ms")
print(f"wheel {sys.argv[6]}: {wheel / 2**20:.1f} MiB   (budget ≤ 10 MiB: {ok(wheel <= 10 * 2**20)})")
PY
