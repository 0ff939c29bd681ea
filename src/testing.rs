//! What the integration tests and benches reach inside the crate. Not a library surface: it
//! changes with the code.

pub use crate::output::{json, style::Painter, table};
pub use crate::sample::RemoteHost;
pub use crate::source::fdscan::scan_fds;
pub use crate::source::placement::{add_environ, from_cgroup};
pub use crate::source::{DemoFleet, SampleOptions, SimSource, SourceSpec};
pub use crate::term::screen::Screen;
pub use crate::tui::theme::{Theme, ThemeName};
pub use crate::tui::ui::{areas, draw, GpuLayout};
pub use crate::tui::{render, App};
pub use gputop_scenario as scenario;

/// `gputop doctor` on a machine of the test's making.
pub mod doctor {
    pub use crate::doctor::{diagnose, render_json, render_text, DoctorOptions, System};
}

/// `gputop health`'s judgement, with the kernel log of the test's making.
pub mod health {
    pub use crate::mode::health::{report, Report};
}
