//! Where a replay stands, shared between the replay source that moves through a recording and
//! the monitor's keys that steer it (←/→, PgUp/PgDn, `g`, space, `+`/`-`). Plain data behind a
//! lock, so the monitor steers a replay without knowing the source behind it.

use std::sync::{Arc, Mutex};

use crate::sample::PastGpu;

/// Where the playback is, shared with whoever steers it (the monitor's keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Playhead {
    /// The sample shown: its tick id and time (ms since the epoch).
    pub tick: i64,
    pub at_ms: i64,
    /// First and last sample of the recording, as of the last look.
    pub first_ms: i64,
    pub last_ms: i64,
    pub paused: bool,
    /// Samples to move on per refresh: 1 is the recording's pace (at its interval).
    pub speed: u32,
    /// A move asked for and not yet made.
    pub pending: Option<Seek>,
    /// After a move: the recorded window before the new position, for the charts.
    pub past: Option<Vec<PastGpu>>,
}

/// A move of the playhead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Seek {
    /// That many samples on (or back, when negative).
    Step(i64),
    /// By that many milliseconds of recorded time.
    By(i64),
    /// To the sample at or after this time (ms since the epoch).
    To(i64),
}

pub type SharedPlayhead = Arc<Mutex<Playhead>>;
