//! One part of the screen per file.

pub mod footer;
pub mod gpus;
pub mod header;
pub mod overlays;
pub mod processes;
pub mod timeline;
