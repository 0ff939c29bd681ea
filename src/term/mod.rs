//! The terminal layer: what reaches the terminal, in the fewest bytes. `screen` writes the
//! monitor's full-screen frames (one buffer compared with what the terminal shows); `inplace`
//! rewrites the `--watch` table where it stands, below the shell's scrollback; both move the
//! cursor with `cursor`'s shortest sequences. Widths are terminal cells throughout.

pub mod cursor;
pub mod inplace;
pub mod screen;
