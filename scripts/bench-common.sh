# Shared by the bench scripts: release builds, the fake NVML library as libnvidia-ml.so.1,
# the peers (gpustat, nvitop) in a venv under target/, and real processes for the scenario.
# Source it from the repository root.

BENCH=target/bench
mkdir -p "$BENCH/lib"

build_release() {
  cargo build --release --quiet -p gputop -p fake-nvml
  ln -sf "$PWD/target/release/libfake_nvml.so" "$BENCH/lib/libnvidia-ml.so.1"
  export LD_LIBRARY_PATH="$PWD/$BENCH/lib"
  export GPUTOP_BIN="$PWD/target/release/gputop"
}

install_peers() {
  local venv=target/peers-venv
  if [ ! -x "$venv/bin/nvitop" ] || [ ! -x "$venv/bin/gpustat" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet gpustat nvitop
  fi
  export PEERS="$PWD/$venv/bin"
}

# nvtop (C, ncurses) from Debian's package. It is in contrib, which the machine's sources
# leave out: apt-get reads a private copy of those sources with contrib added (lists and cache
# under target/), downloads the package and it is unpacked under target/, nothing installed.
# Sets NVTOP, empty where it cannot be had (no Debian sources, offline).
install_nvtop() {
  local dir=$PWD/target/peers-nvtop
  NVTOP=""
  if [ ! -x "$dir/root/usr/bin/nvtop" ]; then
    mkdir -p "$dir/sources.list.d" "$dir/lists/partial" "$dir/archives/partial" "$dir/root"
    local f found=0
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      sed -E 's/^(Components:.*\bmain\b.*)$/\1 contrib/' "$f" > "$dir/sources.list.d/$(basename "$f")"
      found=1
    done
    if [ -f /etc/apt/sources.list ]; then
      sed -E '/^deb /s/ main( |$)/ main contrib\1/' /etc/apt/sources.list > "$dir/sources.list.d/main.list"
      found=1
    fi
    local apt=(apt-get -qq -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$dir/sources.list.d"
      -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::archives=$dir/archives")
    if [ $found = 0 ] || ! "${apt[@]}" update >/dev/null 2>&1 ||
      ! (cd "$dir" && "${apt[@]}" download nvtop >/dev/null 2>&1) ||
      ! dpkg-deb -x "$(ls "$dir"/nvtop_*.deb | head -1)" "$dir/root"; then
      echo "nvtop: could not be had from the machine's Debian sources with contrib, left out" >&2
      return 0
    fi
  fi
  NVTOP="$dir/root/usr/bin/nvtop"
}

# cpu_ns PID: the CPU time a process has used, all its threads (ended ones too), in ns, from
# its CPU-time clock: /proc/PID/stat counts in 10 ms ticks, coarse for a monitor's 0.2 %.
cpu_ns() {
  python3 -c 'import sys, time; print(time.clock_gettime_ns((~int(sys.argv[1]) << 3) | 2))' "$1"
}

SLEEPERS=()
stop_sleepers() { [ ${#SLEEPERS[@]} -eq 0 ] || kill "${SLEEPERS[@]}" 2>/dev/null || true; }
trap stop_sleepers EXIT

# write_scenario GPUS PROCS_PER_GPU FILE [LOAD]: GPUs with real `sleep` processes (gpustat drops
# PIDs that do not exist on the host). LOAD "moving" (the default) moves every metric every
# second with wide swings, the worst case for a monitor; "training" is a steady training job:
# utilization in the 90s, memory allocated once, power wobbling, temperature drifting slowly.
write_scenario() {
  local gpus=$1 procs=$2 file=$3 load=${4:-moving}
  : > "$file"
  local g p mem util umem temp power sm pmem psm
  for ((g = 0; g < gpus; g++)); do
    if [ "$load" = training ]; then
      mem="{ base = 71000, amplitude = 0 }"
      util="{ base = 96, amplitude = 3, period_s = 7, phase = 0.$g }"
      umem="{ base = 45, amplitude = 5, period_s = 11, phase = 0.$g }"
      temp="{ base = 66, amplitude = 2, period_s = 120, phase = 0.$g }"
      power="{ base = 560, amplitude = 40, period_s = 5, phase = 0.$g }"
      sm=1980
    else
      mem="{ base = 2000, amplitude = 1500, period_s = 7, phase = 0.$g }"
      util="{ base = 50, amplitude = 45, period_s = 5, phase = 0.$g }"
      umem="{ base = 30, amplitude = 25, period_s = 9 }"
      temp="{ base = 60, amplitude = 15, period_s = 13, phase = 0.$g }"
      power="{ base = 350, amplitude = 300, period_s = 3, phase = 0.$g }"
      sm="{ base = 1500, amplitude = 400, period_s = 4 }"
    fi
    cat >> "$file" <<TOML
[[gpus]]
name = "NVIDIA H100 80GB HBM3"
memory_total_mib = 81559
memory_used_mib = $mem
utilization_gpu = $util
utilization_memory = $umem
temperature_c = $temp
temperature_slowdown_c = 87
temperature_shutdown_c = 92
power_w = $power
power_limit_w = 700
clock_sm_mhz = $sm
clock_mem_mhz = 2619
clock_sm_max_mhz = 1980
clock_mem_max_mhz = 2619
pstate = 0
encoder_pct = 0
decoder_pct = 0
throttle_reasons = 4
ecc_corrected = 0
ecc_uncorrected = 0
mig_enabled = false
energy_mj = 1000000
TOML
    for ((p = 0; p < procs; p++)); do
      sleep 3600 &
      SLEEPERS+=($!)
      if [ "$load" = training ]; then
        pmem="{ base = $((8000 + 100 * p)), amplitude = 0 }"
        psm="{ base = 88, amplitude = 6, period_s = 7, phase = 0.$p }"
      else
        pmem="{ base = 4000, amplitude = 1000, period_s = 6, phase = 0.$p }"
        psm="{ base = 40, amplitude = 30, period_s = 5, phase = 0.$p }"
      fi
      cat >> "$file" <<TOML
[[gpus.processes]]
pid = $!
used_memory_mib = $pmem
sm_util = $psm
mem_util = 10
TOML
    done
  done
  export GPUTOP_FAKE_NVML_SCENARIO="$PWD/$file"
}

# measure_tui NAME SCENARIO PROCESS-NAME CMD...: a monitor in a 200x60 tmux pane on the fake
# NVML library; prints its CPU (% of one core) over SECS, peak RSS and bytes to the terminal.
measure_tui() {
  local name=$1 scenario=$2 comm=$3; shift 3
  local sock="bench-tui-$$" bytes="$BENCH/tui-bytes.bin"
  : > "$bytes"
  tmux -L "$sock" -f /dev/null new-session -d -x 200 -y 60 \
    "sleep 0.5; exec env LD_LIBRARY_PATH=$LD_LIBRARY_PATH GPUTOP_FAKE_NVML_SCENARIO=$scenario XDG_CONFIG_HOME=/nonexistent LC_ALL=C.UTF-8 $*"
  tmux -L "$sock" pipe-pane -o "cat >> '$bytes'"
  sleep 4 # start-up and the first frames are not counted
  local pid
  pid=$(pgrep -n -f "$comm") || { echo "$name did not start" >&2; tmux -L "$sock" kill-server; return; }
  local b0 c0 c1 b1
  b0=$(stat -c %s "$bytes")
  c0=$(cpu_ns "$pid")
  sleep "$SECS"
  c1=$(cpu_ns "$pid")
  b1=$(stat -c %s "$bytes")
  local hwm
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  tmux -L "$sock" kill-server
  printf '%-44s %6.3f %% CPU  %6.1f MiB peak RSS  %6d B/s to the terminal\n' "$name" \
    "$(echo "($c1 - $c0) * 100 / 10^9 / $SECS" | bc -l)" "$(echo "$hwm / 1024" | bc -l)" $(( (b1 - b0) / SECS ))
  sleep 1
}
