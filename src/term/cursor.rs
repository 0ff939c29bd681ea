//! Cursor movement sequences, shared by the watch view's in-place refresh and the monitor's
//! screen writer: both pick the shortest move, since every byte counts over SSH.

use std::cmp::Ordering;

/// `ESC [ n X`, with a count of 1 left out (it is the default).
pub fn csi(n: usize, op: char) -> String {
    if n == 1 {
        format!("\x1b[{op}")
    } else {
        format!("\x1b[{n}{op}")
    }
}

/// From row `from` to row `to` in the same column: CUU or CUD, nothing when already there.
pub fn vertical(from: usize, to: usize) -> String {
    match to.cmp(&from) {
        Ordering::Equal => String::new(),
        Ordering::Less => csi(from - to, 'A'),
        Ordering::Greater => csi(to - from, 'B'),
    }
}
