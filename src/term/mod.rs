//! The terminal layer: what reaches the terminal, in the fewest bytes. One writer, `screen`,
//! compares each frame with what the terminal shows and writes only the cells that differ: the
//! monitor's frames on the alternate screen, and the `--watch` table inline, where it stands
//! below the shell's scrollback. `styled` is the tables' text with its colours, written as SGR
//! codes (`--once`) or set into a frame's cells (`--watch`). `cursor` has the shortest cursor
//! moves, and `writer` writes on a thread of its own, so that a terminal that stops reading
//! stops only that thread. Widths are terminal cells throughout. `caps` is what the terminal
//! can do, decided once at the start.

pub mod caps;
pub mod cursor;
pub mod screen;
pub mod styled;
pub mod writer;
