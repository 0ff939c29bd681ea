#!/usr/bin/env bash
# The real-GPU check: runs `gputop --once --json` and nvidia-smi's queries while a PyTorch
# process holds GPU memory, compares every shared field, prints a PASS/FAIL table, and writes
# what it saw to $OUT (a fixture to commit). Also: the PCIe link and row remapping as
# `gputop health` and `--query-gpu` see them against `nvidia-smi -q -d ECC,PCIE,ROW_REMAPPER`;
# and, with PyTorch, GPM activity against `nvidia-smi dmon --gpm-metrics` under a matmul load
# (tensor cores busy) and a copy load (DRAM busy, tensor idle). Needs only bash, python3 and
# nvidia-smi on the machine; the gputop binary is built elsewhere and carried. Every
# `--query-gpu` property both tools know goes through both, cell by cell (DIFF rows to learn
# from), and nvidia-smi's property lists, answers and `-L` are kept in $OUT/properties as
# fixtures; `missing-in-gputop.txt` lists what nvidia-smi has that gputop lacks.
#
#   OUT=/some/dir scripts/gpu-check.sh [path/to/gputop]
#
# GPU_CHECK_HOLDER overrides the command that holds GPU memory (default: PyTorch allocating
# 1 GiB on every GPU); it must print "ready" once it holds it.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/gputop}
OUT=${OUT:-target/gpu-check}
mkdir -p "$OUT"

HOLDER_DEFAULT='import time, torch
xs = [torch.empty(1 << 30, dtype=torch.uint8, device=f"cuda:{i}") for i in range(torch.cuda.device_count())]
torch.cuda.synchronize()
print("ready", flush=True)
time.sleep(300)'

holder_pid=""
if [ -n "${GPU_CHECK_HOLDER:-}" ]; then
  bash -c "$GPU_CHECK_HOLDER" > "$OUT/holder.log" 2>&1 &
  holder_pid=$!
elif python3 -c 'import torch' 2>/dev/null; then
  python3 -c "$HOLDER_DEFAULT" > "$OUT/holder.log" 2>&1 &
  holder_pid=$!
else
  echo "note: PyTorch is not installed here; checking without a process holding GPU memory"
fi
trap '[ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null' EXIT
if [ -n "$holder_pid" ]; then
  for _ in $(seq 1 120); do
    grep -q ready "$OUT/holder.log" 2>/dev/null && break
    kill -0 "$holder_pid" 2>/dev/null || { echo "memory holder exited:"; cat "$OUT/holder.log"; holder_pid=""; break; }
    sleep 0.5
  done
fi

GPU_FIELDS=index,name,uuid,pci.bus_id,driver_version,memory.total,memory.used,memory.free,temperature.gpu,utilization.gpu,power.limit,pstate,clocks.max.sm,clocks.max.memory
APP_FIELDS=pid,process_name,used_memory,gpu_uuid

# nvidia-smi and gputop back to back, so volatile values have little time to move.
nvidia-smi --query-gpu=$GPU_FIELDS --format=csv,noheader,nounits > "$OUT/nvidia-smi-gpus.csv" || echo "nvidia-smi --query-gpu failed"
"$BIN" --once --json > "$OUT/gputop.json" || echo "gputop --once --json failed"
nvidia-smi --query-compute-apps=$APP_FIELDS --format=csv,noheader,nounits > "$OUT/nvidia-smi-apps.csv" || echo "nvidia-smi --query-compute-apps failed"
# The nvidia-smi compatible output, byte for byte on the stable fields.
nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total,power.limit --format=csv > "$OUT/nvidia-smi-stable.csv"
"$BIN" --query-gpu=index,name,uuid,pci.bus_id,driver_version,memory.total,power.limit --format=csv > "$OUT/gputop-stable.csv"
"$BIN" --once --color never > "$OUT/gputop-table.txt" 2>&1
nvidia-smi -q > "$OUT/nvidia-smi-q.txt" 2>&1

# Health: the link and the row remapper, as each tool sees them.
LINK=pcie.link.gen.current,pcie.link.gen.max,pcie.link.width.current,pcie.link.width.max
nvidia-smi --query-gpu=$LINK --format=csv,noheader,nounits > "$OUT/nvidia-smi-link.csv" 2>&1
"$BIN" --query-gpu=$LINK --format=csv,noheader,nounits > "$OUT/gputop-link.csv" 2>&1
nvidia-smi -q -d ECC,PCIE,ROW_REMAPPER > "$OUT/nvidia-smi-health.txt" 2>&1
"$BIN" health --json > "$OUT/gputop-health.json" 2> "$OUT/gputop-health.stderr"

# Every property: each tool's list, then every property both know through both tools in one
# query each (both --format=csv, units and all). nvidia-smi's side is kept as fixtures.
PROPS="$OUT/properties"
mkdir -p "$PROPS"
nvidia-smi --help-query-gpu > "$PROPS/nvidia-smi-help-query-gpu.txt" 2>&1
"$BIN" --help-query-gpu > "$PROPS/gputop-help-query-gpu.txt" 2>&1
COMMON=$(python3 - "$PROPS" <<'PY'
import re, sys
from pathlib import Path
d = Path(sys.argv[1])
def entries(name):
    text = (d / name).read_text(errors="replace")
    return [re.findall(r'"([^"]+)"', l) for l in text.splitlines() if l.startswith('"')]
ours = {n for e in entries("gputop-help-query-gpu.txt") for n in e}
theirs = [e[0] for e in entries("nvidia-smi-help-query-gpu.txt") if e]
(d / "missing-in-gputop.txt").write_text("".join(n + "\n" for n in theirs if n not in ours))
print(",".join(n for n in theirs if n in ours and n != "timestamp"))
PY
)
if [ -n "$COMMON" ]; then
  nvidia-smi --query-gpu="$COMMON" --format=csv > "$PROPS/nvidia-smi-query-gpu.csv" 2>&1
  "$BIN" --query-gpu="$COMMON" --format=csv > "$PROPS/gputop-query-gpu.csv" 2>&1
  nvidia-smi -L > "$PROPS/nvidia-smi-L.txt" 2>&1
  "$BIN" -L > "$PROPS/gputop-L.txt" 2>&1
  for q in retired-pages remapped-rows compute-apps; do
    nvidia-smi --help-query-$q > "$PROPS/nvidia-smi-help-query-$q.txt" 2>&1
  done
fi

# GPM under two loads, with PyTorch (and not with a stand-in holder): gputop's activity and
# nvidia-smi dmon's GPM metrics (2 SM activity, 5 tensor activity, 10 DRAM bandwidth) side by
# side over the same seconds.
GPM_LOAD='import sys, time, torch
kind, secs = sys.argv[1], float(sys.argv[2])
devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
if kind == "matmul":
    xs = [torch.randn(8192, 8192, dtype=torch.half, device=d) for d in devices]
    op = lambda x, y: torch.mm(x, x, out=y)
else:
    xs = [torch.empty(1 << 30, dtype=torch.uint8, device=d) for d in devices]
    op = lambda x, y: y.copy_(x)
pairs = [(x, torch.empty_like(x)) for x in xs]
end = time.time() + secs
while time.time() < end:
    for x, y in pairs:
        op(x, y)
    torch.cuda.synchronize()'
if [ -z "${GPU_CHECK_HOLDER:-}" ] && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  for load in matmul copy; do
    python3 -c "$GPM_LOAD" "$load" 12 > "$OUT/gpm-load-$load.log" 2>&1 &
    load_pid=$!
    sleep 3
    "$BIN" --watch 1 --json --count 6 > "$OUT/gpm-$load.jsonl" 2>&1 &
    watch_pid=$!
    nvidia-smi dmon --gpm-metrics 2,5,10 -c 5 > "$OUT/dmon-$load.txt" 2>&1
    wait "$watch_pid"
    wait "$load_pid"
  done
fi

python3 - "$OUT" <<'PY'
import json, re, sys
from pathlib import Path

out = Path(sys.argv[1])
rows, failed = [], False

def check(what, ours, theirs, ok=None):
    global failed
    good = (ours == theirs) if ok is None else ok
    failed |= not good
    rows.append(("PASS" if good else "FAIL", what, str(ours), str(theirs)))

try:
    doc = json.loads((out / "gputop.json").read_text())
except Exception as e:
    print(f"FAIL: gputop.json unreadable: {e}")
    sys.exit(1)
gpus = {g["index"]: g for g in doc["gpus"]}
mib = lambda b: None if b is None else b // (1 << 20)

smi = [[c.strip() for c in line.split(", ")] for line in (out / "nvidia-smi-gpus.csv").read_text().splitlines() if line.strip()]
check("GPU count", len(gpus), len(smi))
for r in smi:
    idx, name, uuid, bus, driver, total, used, free, temp, util, limit, pstate, smax, mmax = r
    g = gpus.get(int(idx), {})
    p = f"GPU {idx} "
    check(p + "name", g.get("name"), name)
    check(p + "uuid", g.get("uuid"), uuid)
    check(p + "pci.bus_id", (g.get("pci_bus_id") or "").upper(), bus.upper())
    check("driver_version", doc["host"]["driver_version"], driver)
    check(p + "memory.total MiB", mib(g["memory"]["total_bytes"]), int(total))
    ours_used = mib(g["memory"]["used_bytes"])
    check(p + "memory.used MiB (±64)", ours_used, int(used), ok=ours_used is not None and abs(ours_used - int(used)) <= 64)
    t = g["temperature"]["gpu_celsius"]
    check(p + "temperature (±3)", t, temp, ok=(t is None and temp.startswith("[")) or (t is not None and abs(t - int(temp)) <= 3))
    lim = g["power"]["limit_watts"]
    check(p + "power.limit W", None if lim is None else f"{lim:.2f}", limit)
    ps = g["performance_state"]
    check(p + "pstate", None if ps is None else f"P{ps}", pstate, ok=ps is not None and pstate.startswith("P"))
    check(p + "clocks.max.sm", g["clocks"]["sm_max_mhz"], int(smax) if smax.isdigit() else None)
    check(p + "clocks.max.memory", g["clocks"]["memory_max_mhz"], int(mmax) if mmax.isdigit() else None)

apps = [[c.strip() for c in line.split(", ")] for line in (out / "nvidia-smi-apps.csv").read_text().splitlines() if line.strip()]
ours = {(p["pid"], g["uuid"]): p for g in doc["gpus"] for p in g["processes"]}
check("compute processes (PID, GPU)", sorted(ours), sorted((int(a[0]), a[3]) for a in apps),
      ok={(int(a[0]), a[3]) for a in apps} <= set(ours))
for pid, name, used, uuid in apps:
    p = ours.get((int(pid), uuid))
    if p is None:
        continue
    check(f"PID {pid} used memory MiB", mib(p["gpu_memory_bytes"]), int(used) if used.isdigit() else None)
    check(f"PID {pid} command", (p["command"] or "").split(" ")[0], name,
          ok=bool(p["command"]) and name.split("/")[-1] in p["command"])

# Health: the link read by both; the row remapper's pending and failed flags against the
# findings of `gputop health`.
def lines(name):
    path = out / name
    return [l for l in path.read_text().splitlines() if l.strip()] if path.exists() else []
for i, (o, t) in enumerate(zip(lines("gputop-link.csv"), lines("nvidia-smi-link.csv"))):
    o, t = [c.strip() for c in o.split(",")], [c.strip() for c in t.split(",")]
    # The current generation drops when the GPU idles: only the widths and maxima must agree.
    check(f"GPU {i} PCIe link (gen max, width now, width max)", o[1:], t[1:])
try:
    health = json.loads((out / "gputop-health.json").read_text())
    smi_q = (out / "nvidia-smi-health.txt").read_text()
    sections = smi_q.split("\nGPU ")[1:]
    for i, (g, text) in enumerate(zip(health["gpus"], sections)):
        what = " ".join(p["what"] for p in g["problems"])
        for flag, words in [("Pending", "row remapping pending"), ("Remapping Failure Occurred", "could not be remapped")]:
            said = [l.split(":")[-1].strip() for l in text.splitlines() if l.strip().startswith(flag)]
            if said:
                check(f"GPU {i} row remapper {flag}", words in what, said[0] == "Yes")
except Exception as e:
    rows.append(("SKIP", "health against nvidia-smi -q", str(e), ""))

# GPM: the mean of each metric over the seconds both tools watched, within 15 points, and
# what each load must show (matmul: tensor cores busy; copy: DRAM busy, tensor idle).
for load in ["matmul", "copy"]:
    jsonl, dmon = out / f"gpm-{load}.jsonl", out / f"dmon-{load}.txt"
    if not jsonl.exists():
        continue
    docs = [json.loads(l) for l in jsonl.read_text().splitlines() if l.startswith("{")]
    theirs = {}
    for l in dmon.read_text().splitlines() if dmon.exists() else []:
        cols = l.split()
        if not cols or l.startswith("#") or not cols[0].isdigit():
            continue
        vals = [float(c) if c.replace(".", "", 1).isdigit() else None for c in cols[-3:]]
        theirs.setdefault(int(cols[0]), []).append(vals)
    for idx in sorted({g["index"] for d in docs for g in d["gpus"]}):
        acts = [g["activity"] for d in docs for g in d["gpus"] if g["index"] == idx and g.get("activity")]
        if not acts:
            rows.append(("SKIP", f"GPU {idx} GPM ({load})", "no activity (no GPM on this GPU?)", ""))
            continue
        mean = lambda k: sum(a[k] or 0 for a in acts) / len(acts)
        ours = [mean("sm_active_percent"), mean("tensor_active_percent"), mean("dram_active_percent")]
        if load == "matmul":
            check(f"GPU {idx} matmul: tensor busy", round(ours[1]), ">= 30", ok=ours[1] >= 30)
        else:
            check(f"GPU {idx} copy: DRAM busy, tensor idle", [round(ours[2]), round(ours[1])], "[>= 30, <= 10]", ok=ours[2] >= 30 and ours[1] <= 10)
        t = theirs.get(idx)
        if not t:
            rows.append(("SKIP", f"GPU {idx} GPM against dmon ({load})", "dmon gave nothing", ""))
            continue
        tm = [sum(v[k] for v in t if v[k] is not None) / max(1, sum(v[k] is not None for v in t)) for k in range(3)]
        for k, name in enumerate(["SM active", "tensor", "DRAM"]):
            check(f"GPU {idx} {name} ({load}, ±15)", round(ours[k]), round(tm[k]), ok=abs(ours[k] - tm[k]) <= 15)

# Every property both tools know, cell by cell: the same text, or numbers with the same unit
# within 10 % (clocks, power and utilization move between the two queries). A difference is
# listed (DIFF) to learn from, not failed: the fixtures in properties/ are what to commit.
props = out / "properties"
if (props / "nvidia-smi-query-gpu.csv").exists():
    def table(name):
        rows_ = [[c.strip() for c in l.split(", ")] for l in (props / name).read_text().splitlines() if l.strip()]
        return rows_[0], rows_[1:]
    head_t, body_t = table("nvidia-smi-query-gpu.csv")
    head_o, body_o = table("gputop-query-gpu.csv")
    num = lambda c: re.fullmatch(r"(-?\d+(?:\.\d+)?)( [A-Za-z%/]+)?", c)
    same = 0
    diffs = []
    for col, name in enumerate(head_t):
        agree = True
        for rt, ro in zip(body_t, body_o):
            t, o = (rt[col] if col < len(rt) else ""), (ro[col] if col < len(ro) else "")
            mt, mo = num(t), num(o)
            close = mt and mo and mt.group(2) == mo.group(2) and abs(float(mt.group(1)) - float(mo.group(1))) <= 0.1 * max(1.0, abs(float(mt.group(1))))
            if t != o and not close:
                agree = False
                diffs.append((name, o, t))
                break
        same += agree
    if head_o != head_t:
        check("--query-gpu header of every shared property", "differs", "see properties/", ok=False)
    rows.append(("INFO", f"properties both know: {len(head_t)}, agreeing: {same}", "", ""))
    missing = (props / "missing-in-gputop.txt").read_text().split()
    rows.append(("INFO", f"nvidia-smi properties gputop lacks: {len(missing)}", " ".join(missing[:8]), ""))
    for name, o, t in diffs:
        rows.append(("DIFF", name, o, t))

stable_ours = (out / "gputop-stable.csv").read_text()
stable_theirs = (out / "nvidia-smi-stable.csv").read_text()
check("--query-gpu byte-identical (stable fields)", len(stable_ours), len(stable_theirs), ok=stable_ours == stable_theirs)

w = max(len(r[1]) for r in rows)
failed = any(r[0] == "FAIL" for r in rows)
for status, what, o, t in rows:
    print(f"{status}  {what:<{w}}  gputop={o:<24} nvidia-smi={t}")
print("\nRESULT:", "FAIL" if failed else "PASS", f"({sum(r[0] == 'PASS' for r in rows)}/{len(rows)} checks passed)")
sys.exit(1 if failed else 0)
PY
