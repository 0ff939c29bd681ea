#!/usr/bin/env bash
# tty_bytes.sh SECONDS COLS ROWS OUTFILE CMD...: runs CMD in a tmux pane of that size (a real
# terminal that answers the queries some tools send) and records every byte it writes to the
# pane, as a slow SSH link would carry them. Prints the byte count.
set -euo pipefail
secs=$1 cols=$2 rows=$3 out=$4
shift 4
sock="bench-$$"
: > "$out"
tmux -L "$sock" -f /dev/null new-session -d -x "$cols" -y "$rows" "sleep 0.5; exec $*"
tmux -L "$sock" pipe-pane -o "cat >> '$out'"
sleep "$(echo "$secs + 0.5" | bc)"
tmux -L "$sock" kill-server
sleep 0.2
stat -c %s "$out"
