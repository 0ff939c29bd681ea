//! The checks a scenario passes after parsing: values a GPU could report, named with their
//! line in the file.

use crate::{EventKindSpec, Scenario, Signal, VendorSpec};

impl Scenario {
    /// Values outside what a GPU can report, named with their line in `text`.
    pub(crate) fn validate(&self, text: &str) -> Result<(), String> {
        for (i, g) in self.gpus.iter().enumerate() {
            let bad = |key: &str, value: String, range: &str| {
                let line = line_of(text, i, key).map_or(String::new(), |n| format!("line {n}: "));
                Err(format!("{line}{key} = {value} is out of range ({range})"))
            };
            if let Some(vendor) = g.vendor.as_deref() {
                if VendorSpec::from_key(vendor).is_none() {
                    let line =
                        line_of(text, i, "vendor").map_or(String::new(), |n| format!("line {n}: "));
                    return Err(format!(
                        "{line}vendor = {vendor:?} is not a vendor gputop knows (one of: {})",
                        VendorSpec::KEYS.join(", ")
                    ));
                }
            }
            if !(1..=1 << 20).contains(&g.memory_total_mib) {
                return bad("memory_total_mib", g.memory_total_mib.to_string(), "1 to 1048576 MiB");
            }
            if g.memory_reserved_mib > g.memory_total_mib {
                return bad(
                    "memory_reserved_mib",
                    g.memory_reserved_mib.to_string(),
                    "at most memory_total_mib",
                );
            }
            let total = g.memory_total_mib as f64;
            let signals: [(&str, &Option<Signal>, f64, f64, &str); 11] = [
                ("temperature_c", &g.temperature_c, 0.0, 150.0, "0 to 150 °C"),
                ("power_w", &g.power_w, 0.0, 3000.0, "0 to 3000 W"),
                ("memory_used_mib", &g.memory_used_mib, 0.0, total, "0 to memory_total_mib"),
                ("utilization_gpu", &g.utilization_gpu, 0.0, 100.0, "0 to 100 %"),
                ("utilization_memory", &g.utilization_memory, 0.0, 100.0, "0 to 100 %"),
                ("fan_pct", &g.fan_pct, 0.0, 100.0, "0 to 100 %"),
                ("encoder_pct", &g.encoder_pct, 0.0, 100.0, "0 to 100 %"),
                ("decoder_pct", &g.decoder_pct, 0.0, 100.0, "0 to 100 %"),
                ("clock_sm_mhz", &g.clock_sm_mhz, 0.0, 10_000.0, "0 to 10000 MHz"),
                ("clock_mem_mhz", &g.clock_mem_mhz, 0.0, 50_000.0, "0 to 50000 MHz"),
                ("pcie_tx_kbps", &g.pcie_tx_kbps, 0.0, 1e9, "0 to 10^9 KB/s"),
            ];
            for (key, signal, low, high, range) in signals {
                let Some(signal) = signal else { continue };
                if let Signal::Steps(steps) = signal {
                    if !steps.is_well_formed() {
                        let rule =
                            "steps as [offset_s, value] rising from offset 0 within period_s";
                        return bad(key, signal.describe(), rule);
                    }
                }
                let (min, max) = signal.bounds();
                if min < low || max > high || !min.is_finite() || !max.is_finite() {
                    return bad(key, signal.describe(), range);
                }
            }
            let fixed = [
                (
                    "temperature_slowdown_c",
                    g.temperature_slowdown_c.map(f64::from),
                    150.0,
                    "0 to 150 °C",
                ),
                (
                    "temperature_shutdown_c",
                    g.temperature_shutdown_c.map(f64::from),
                    150.0,
                    "0 to 150 °C",
                ),
                ("power_limit_w", g.power_limit_w, 3000.0, "0 to 3000 W"),
                ("pstate", g.pstate.map(f64::from), 15.0, "0 to 15"),
            ];
            for event in &g.events {
                if !(event.at_s.is_finite() && event.at_s >= 0.0) {
                    return bad("events", format!("at_s {}", event.at_s), "0 s or later");
                }
                if (event.kind == EventKindSpec::Xid) != event.xid.is_some() {
                    return bad(
                        "events",
                        format!("{event:?}"),
                        "an XID event needs `xid`, only it",
                    );
                }
            }
            for (key, value, high, range) in fixed {
                if let Some(v) = value.filter(|v| !(0.0..=high).contains(v)) {
                    return bad(key, v.to_string(), range);
                }
            }
        }
        Ok(())
    }
}

/// The line (1-based) of `key = …` in the `index`-th `[[gpus]]` section of `text`.
fn line_of(text: &str, index: usize, key: &str) -> Option<usize> {
    let mut gpu = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line == "[[gpus]]" {
            gpu = Some(gpu.map_or(0, |g| g + 1));
        } else if line.starts_with('[') {
            // A process or another table: its keys are not the GPU's.
            if gpu == Some(index) && !line.starts_with("[[gpus.processes]]") {
                return None;
            }
        } else if gpu == Some(index)
            && line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(n + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected_with_the_line() {
        let err = Scenario::from_toml("[[gpus]]\nname = \"x\"\nfan = 3\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn an_unknown_vendor_is_one_line_naming_the_known_ones() {
        let text = "[[gpus]]\nname = \"a\"\n[[gpus]]\nname = \"b\"\nvendor = \"matrox\"\n";
        assert_eq!(
            Scenario::from_toml(text).unwrap_err(),
            "line 5: vendor = \"matrox\" is not a vendor gputop knows (one of: nvidia, amd, intel)"
        );
        let ok = Scenario::from_toml("[[gpus]]\nname = \"a\"\nvendor = \"amd\"\n").unwrap();
        assert_eq!(ok.gpus[0].vendor(), VendorSpec::Amd);
        assert_eq!(ok.nvidia_only().gpus.len(), 0);
    }

    #[test]
    fn impossible_values_are_rejected_with_their_line() {
        let text = "[[gpus]]\nname = \"a\"\ntemperature_c = 60\n\
                    [[gpus]]\nname = \"b\"\ntemperature_c = 900\n";
        let err = Scenario::from_toml(text).unwrap_err();
        assert_eq!(err, "line 6: temperature_c = 900 is out of range (0 to 150 °C)");
        let wave = "[[gpus]]\nname = \"a\"\nutilization_gpu = { base = 90, amplitude = 20 }\n";
        assert!(Scenario::from_toml(wave).unwrap_err().starts_with("line 3: utilization_gpu"));
        let memory = "[[gpus]]\nname = \"a\"\nmemory_total_mib = 1024\nmemory_used_mib = 4096\n";
        assert!(Scenario::from_toml(memory).unwrap_err().starts_with("line 4: memory_used_mib"));
        assert!(Scenario::from_toml("[[gpus]]\nname = \"a\"\npower_w = -5\n").is_err());
    }
}
