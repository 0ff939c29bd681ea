//! A GPU's past values, as a source that keeps history gives them (the `Source` trait's
//! `past`), for the charts to start full.

/// A GPU's past values, oldest first, one per refresh interval, ending just before the first
/// sample: what a source that keeps history (`--prometheus`) has from before gputop started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PastGpu {
    pub host: Option<String>,
    pub index: u32,
    pub uuid: Option<String>,
    pub utilization: Vec<Option<f32>>,
    /// Empty where the source gave only utilization (a large fleet).
    pub memory_percent: Vec<Option<f32>>,
    pub power_watts: Vec<Option<f32>>,
    pub temperature: Vec<Option<f32>>,
}
