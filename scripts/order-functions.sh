#!/usr/bin/env bash
# Lists the functions gputop runs, for release builds to lay out together (see build.rs), into
# assets/link-order.txt: the monitor on 8 GPUs x 8 processes for 20 s, then --once and
# --watch, each under valgrind's callgrind. Rerun it after large changes (names that no
# longer exist are ignored; new functions fall where the linker puts them).
#
#   scripts/order-functions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 2; }
build_release
write_scenario 8 8 "$BENCH/order.toml"
runs="$BENCH/callgrind"
rm -rf "$runs"
mkdir -p "$runs"
grind="valgrind --tool=callgrind --demangle=no --callgrind-out-file=$runs/%p.out"

sock="order-$$"
tmux -L "$sock" -f /dev/null new-session -d -x 200 -y 60 \
  "env LD_LIBRARY_PATH=$LD_LIBRARY_PATH GPUTOP_FAKE_NVML_SCENARIO=$GPUTOP_FAKE_NVML_SCENARIO XDG_CONFIG_HOME=/nonexistent LC_ALL=C.UTF-8 $grind $GPUTOP_BIN --interval 1 2>/dev/null"
sleep 20
tmux -L "$sock" send-keys q
sleep 5
tmux -L "$sock" kill-server 2>/dev/null || true
$grind "$GPUTOP_BIN" --once >/dev/null 2>&1
$grind "$GPUTOP_BIN" --watch 0.2 --count 3 >/dev/null 2>&1

python3 - "$runs" "$(basename "$GPUTOP_BIN")" assets/link-order.txt <<'PY'
import pathlib, re, sys
runs, binary, out = sys.argv[1], sys.argv[2], sys.argv[3]
names = re.compile(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$")
order = []
for run in sorted(pathlib.Path(runs).glob("*.out")):
    objects, functions, current = {}, {}, None
    for line in run.open():
        m = names.match(line.rstrip("\n"))
        if not m:
            continue
        kind, key, name = m.groups()
        table = objects if kind in ("ob", "cob") else functions
        if name:
            table[key] = name
        if kind == "ob":
            current = objects[key]
        elif kind == "fn" and current and current.endswith("/" + binary):
            # callgrind marks recursion levels as NAME'2; valgrind's own entries are not symbols.
            symbol = re.sub(r"'\d+$", "", functions[key])
            if not symbol.startswith("0x") and " " not in symbol and symbol not in order:
                order.append(symbol)
pathlib.Path(out).write_text("\n".join(order) + "\n")
print(f"{out}: {len(order)} functions")
PY
# The list is a link input cargo does not track: relink with it.
touch build.rs
