//! The variables that pick which AMD or Intel GPUs a program sees (`ROCR_VISIBLE_DEVICES`,
//! `HIP_VISIBLE_DEVICES`, `ZE_AFFINITY_MASK`): set but empty hides them all; an index past the
//! GPUs there are, or an entry that is not an index, hides what follows it.

use crate::doctor::{Finding, Status};

/// One variable to judge.
pub struct Spec<'a> {
    pub check: &'static str,
    pub var: &'static str,
    /// As set, empty or not.
    pub value: &'a str,
    /// How many devices its indices count.
    pub count: usize,
    /// What `count` counts, for the evidence ("AMD GPU(s) on this machine").
    pub counted: &'a str,
    /// Entries may name a sub-device as `DEVICE.SUBDEVICE` (Level Zero's tiles).
    pub subdevices: bool,
}

pub fn check(spec: Spec<'_>) -> Finding {
    let value = spec.value.trim();
    let title = format!("{}={value}", spec.var);
    if value.is_empty() || value == "-1" {
        return Finding::new(spec.check, Status::Warning, format!("{title} hides every GPU"))
            .fix(format!("unset {} (or list the GPUs to use, e.g. 0,1)", spec.var));
    }
    let mut bad = Vec::new();
    let mut missing = Vec::new();
    for entry in value.split(',').map(str::trim) {
        // A UUID (ROCm's GPU-…) is taken as given: only the driver's tools can tell it.
        if entry.starts_with("GPU-") && !spec.subdevices {
            continue;
        }
        let device = if spec.subdevices { entry.split('.').next().unwrap_or("") } else { entry };
        let sub_ok = !spec.subdevices
            || entry.split('.').skip(1).all(|s| s.parse::<usize>().is_ok())
                && entry.split('.').count() <= 2;
        match device.parse::<usize>() {
            Ok(i) if sub_ok && i < spec.count => {}
            Ok(_) if sub_ok => missing.push(entry),
            _ => bad.push(entry),
        }
    }
    let last = spec.count.saturating_sub(1);
    if !bad.is_empty() {
        let form =
            if spec.subdevices { "DEVICE or DEVICE.SUBDEVICE" } else { "an index or a GPU- UUID" };
        return Finding::new(
            spec.check,
            Status::Failure,
            format!("{title} has entries that are not devices: {}", bad.join(", ")),
        )
        .evidence(format!("each entry is {form}"))
        .fix(format!("use indices 0 to {last}, separated by commas"));
    }
    if !missing.is_empty() {
        return Finding::new(
            spec.check,
            Status::Failure,
            format!("{title} names GPUs that do not exist: {}", missing.join(", ")),
        )
        .evidence(format!("{} {}", spec.count, spec.counted))
        .fix(format!("use indices 0 to {last}"));
    }
    Finding::new(spec.check, Status::Ok, title)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(value: &str, count: usize, subdevices: bool) -> (Status, String) {
        let f = check(Spec { check: "x", var: "V", value, count, counted: "GPU(s)", subdevices });
        (f.status, f.title)
    }

    #[test]
    fn entries_are_judged_against_the_devices_there_are() {
        assert_eq!(status("0,1", 2, false).0, Status::Ok);
        assert_eq!(status("GPU-4fd4cbc2d39f", 1, false).0, Status::Ok);
        assert_eq!(status("", 2, false).0, Status::Warning);
        assert_eq!(status("-1", 2, false).0, Status::Warning);
        assert!(status("0,2", 2, false).1.ends_with("do not exist: 2"));
        assert!(status("0.1", 2, false).1.ends_with("not devices: 0.1"));
        assert_eq!(status("0.1,1", 2, true).0, Status::Ok);
        assert!(status("0.1.2", 2, true).1.ends_with("not devices: 0.1.2"));
        assert!(status("2.0", 2, true).1.ends_with("do not exist: 2.0"));
    }
}
