//! Is each GPU healthy? What `gputop health` judges from one sample with the board details
//! and the GPU's events: a GPU that cannot be reached, XID errors, memory rows that failed to
//! remap or wait for a reset, pages waiting to be retired, uncorrected ECC errors, a PCIe link
//! narrower than it can be, and hardware slowdowns. Each finding says what to do. An AMD or
//! Intel GPU is judged by what its kernel driver gives (AMD's RAS error counts as its ECC);
//! the checks its driver gives nothing for are listed as not examined, with why, never ok.

pub mod kernel_log;
pub mod run;
pub mod xid;

use serde::Serialize;

use crate::sample::{
    EventSource, FieldKey, GpuSample, GpuStatus, MissingReason, ThrottleReason, Vendor,
};
use crate::text::sanitize::sanitize;

/// A verdict, least to most serious: a known failure outranks what could not be examined,
/// which outranks a warning (something unseen may be worse than what was seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    Warning,
    /// Not examined: no GPU found, a GPU whose state could not be read, a check that could
    /// not run. Never reported as ok.
    Unknown,
    Failure,
}

impl Severity {
    /// 0 healthy, 1 warnings, 2 failures, 3 unknown: what a probe or a job prolog checks (the
    /// codes of Nagios-style checks).
    pub fn exit_code(self) -> i32 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Failure => 2,
            Severity::Unknown => 3,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Unknown => "unknown",
            Severity::Failure => "failure",
        }
    }
}

/// A check that could not run, with what would let it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotExamined {
    pub check: &'static str,
    pub why: String,
    pub fix: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub what: String,
    pub fix: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuHealth {
    pub index: u32,
    pub vendor: Vendor,
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub pci_bus_id: Option<String>,
    pub status: Severity,
    pub problems: Vec<Problem>,
    /// Checks that could not run on this GPU: the verdict is then at best unknown.
    pub not_examined: Vec<NotExamined>,
    /// Checks an AMD or Intel GPU's driver gives nothing for (clock slowdown reasons, …): said,
    /// in the line and here, and like a property an NVIDIA GPU lacks (NOT_SUPPORTED) they leave
    /// the verdict to what could be examined. Left out of JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_available: Vec<NotExamined>,
}

/// The problems of one GPU, worst first, with the checks that could not run on it (the
/// kernel's XID history, read elsewhere).
pub fn judge(g: &GpuSample, not_examined: Vec<NotExamined>) -> GpuHealth {
    let mut problems = Vec::new();
    match g.status {
        GpuStatus::Lost => problems.push(Problem {
            severity: Severity::Failure,
            what: "fallen off the bus (GPU is lost)".into(),
            fix: "check power and seating; reset the GPU or reboot",
        }),
        GpuStatus::Error => problems.push(Problem {
            severity: Severity::Unknown,
            what: format!(
                "its state could not be read: {}",
                sanitize(g.error.as_deref().unwrap_or("NVML error"))
            ),
            fix: kernel_log_hint(g.vendor),
        }),
        GpuStatus::Ok => {}
    }
    problems.extend(xid_problems(g));
    problems.extend(memory_problems(g));
    if let Some(n) = g.ecc.uncorrected.filter(|&n| n > 0) {
        problems.push(Problem {
            severity: Severity::Warning,
            what: format!("{n} uncorrected ECC error(s) since the driver loaded"),
            fix: "check that the jobs on it finished correctly; a reset clears the count",
        });
    }
    problems.extend(link_problems(g));
    problems.extend(nvlink_problems(g));
    let hardware = [
        (ThrottleReason::HwSlowdown, "hardware slowdown"),
        (ThrottleReason::HwThermalSlowdown, "hardware thermal slowdown"),
        (ThrottleReason::HwPowerBrakeSlowdown, "hardware power brake slowdown"),
    ];
    // Reasons the driver refused: none found here, and the check is listed as not examined
    // (`REFUSABLE`'s "throttle"), never passed.
    let active = g.throttle.reasons.as_deref().unwrap_or_default();
    for (reason, what) in hardware {
        if active.contains(&reason) {
            problems.push(Problem {
                severity: Severity::Warning,
                what: format!("{what} active"),
                fix: "check cooling and the power supply",
            });
        }
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    let mut not_examined = not_examined;
    let mut not_available = Vec::new();
    if g.status == GpuStatus::Ok {
        for check in refused_checks(g) {
            if check.driver_lacks {
                not_available.push(check.entry);
            } else {
                not_examined.push(check.entry);
            }
        }
        not_available.extend(unread_checks(g));
    }
    let seen = problems.first().map_or(Severity::Ok, |p| p.severity);
    let unseen = if not_examined.is_empty() { Severity::Ok } else { Severity::Unknown };
    GpuHealth {
        index: g.index,
        vendor: g.vendor,
        uuid: g.uuid.clone(),
        name: g.name.clone(),
        pci_bus_id: g.pci_bus_id.clone(),
        status: seen.max(unseen),
        problems,
        not_examined,
        not_available,
    }
}

/// A check whose values are missing, and whether that is the GPU's driver having none (which
/// does not make the verdict unknown) rather than a refusal or a failure (which does).
struct Missed {
    entry: NotExamined,
    driver_lacks: bool,
}

/// The checks above that read a value the driver can refuse, by the fields they read. A GPU
/// without the value (NOT_SUPPORTED: no NVLink, no row remapping before Ampere) has nothing
/// to check; a value refused (no permission, an error) is a check not examined.
const REFUSABLE: [(&str, &[FieldKey]); 5] = [
    ("hardware slowdowns", &[FieldKey::Throttle]),
    // NVML refuses the uncorrected count; the DRM source files a card without RAS under `ecc`.
    ("ECC errors", &[FieldKey::Ecc, FieldKey::EccUncorrected]),
    ("memory rows and pages", &[FieldKey::RemappedRows, FieldKey::RetiredPagesPending]),
    ("PCIe link", &[FieldKey::PcieLinkWidthCurrent, FieldKey::PcieLinkWidthMax]),
    (
        "NVLink",
        &[
            FieldKey::Nvlink,
            FieldKey::NvlinkRecoveryErrors,
            FieldKey::NvlinkCrcFlitErrors,
            FieldKey::NvlinkCrcDataErrors,
        ],
    ),
];

/// The checks whose values the driver refused on `g` (never counted as passed), or that its
/// kernel driver does not give (AMD's and Intel's).
fn refused_checks(g: &GpuSample) -> Vec<Missed> {
    REFUSABLE
        .iter()
        .filter_map(|(check, fields)| {
            let missing = fields
                .iter()
                .filter_map(|f| g.missing.get(*f))
                .find(|m| m.reason != MissingReason::NotSupported)?;
            let (why, fix) = match missing.reason {
                MissingReason::NoPermission => {
                    ("no permission to read it".to_string(), "run as root")
                }
                MissingReason::NotExported => {
                    ("its exporter does not export it".into(), "check the exporter's version")
                }
                MissingReason::NotRecorded => ("not recorded".into(), "check the live GPU"),
                MissingReason::Simulated => ("simulated".into(), "check a real GPU"),
                MissingReason::NotProvidedByAmdgpu
                | MissingReason::NotProvidedByI915
                | MissingReason::NotProvidedByXe => (missing.describe(), kernel_log_hint(g.vendor)),
                _ => (
                    match missing.nvml_code {
                        Some(code) => format!("the driver failed to give it (NVML error {code})"),
                        None => "the driver failed to give it".into(),
                    },
                    kernel_log_hint(g.vendor),
                ),
            };
            let driver_lacks = matches!(
                missing.reason,
                MissingReason::NotProvidedByAmdgpu
                    | MissingReason::NotProvidedByI915
                    | MissingReason::NotProvidedByXe
            );
            Some(Missed { entry: NotExamined { check, why, fix }, driver_lacks })
        })
        .collect()
}

/// On an AMD or Intel GPU, the checks whose values its source reads nowhere and files no
/// reason for (a simulated one's board details): not available there, never passed.
/// NVLink is NVIDIA's: there is nothing of it to check on another vendor's GPU.
fn unread_checks(g: &GpuSample) -> Vec<NotExamined> {
    if g.vendor == Vendor::Nvidia {
        return Vec::new();
    }
    let d = g.details.as_deref();
    let read = |check: &str| match check {
        "hardware slowdowns" => g.throttle.reasons.is_some(),
        "ECC errors" => g.ecc.uncorrected.is_some(),
        "memory rows and pages" => {
            d.is_some_and(|d| d.remapped_rows.is_some() || d.retired_pages_pending.is_some())
        }
        "PCIe link" => d.is_some_and(|d| {
            d.pcie_link_width_current.is_some() && d.pcie_link_width_max.is_some()
        }),
        _ => true,
    };
    REFUSABLE
        .iter()
        .filter(|(check, fields)| {
            !read(check) && fields.iter().all(|f| g.missing.get(*f).is_none())
        })
        .map(|(check, _)| NotExamined {
            check,
            why: format!("not read on {} GPUs", g.vendor.label()),
            fix: kernel_log_hint(g.vendor),
        })
        .collect()
}

/// Where a GPU's driver says what went wrong.
fn kernel_log_hint(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Nvidia => "run `gputop doctor`; check `sudo dmesg | grep -i nvrm`",
        Vendor::Amd => "run `gputop doctor`; check `sudo dmesg | grep -i amdgpu`",
        Vendor::Intel => "run `gputop doctor`; check `sudo dmesg | grep -iE 'i915|xe'`",
    }
}

/// The XID errors the GPU raised that speak of its health (an application's own faults do
/// not), each with how many, when the last came, and what to do.
pub fn xid_problems(g: &GpuSample) -> Vec<Problem> {
    let Some(events) = g.events.as_ref() else { return Vec::new() };
    let since = match events.source {
        EventSource::KernelLog => "since boot",
        EventSource::Nvml => "since gputop started",
        EventSource::Exporter => "since its exporter started",
    };
    let mut problems: Vec<Problem> = events
        .xid_counts
        .iter()
        .map(|(&number, &count)| (xid::describe(number), count))
        .filter(|(x, _)| x.severity > Severity::Ok)
        .map(|(x, count)| {
            let last = events.recent.iter().rev().find(|e| e.xid == Some(x.number));
            let when = last.map_or(String::new(), |e| {
                format!(", last {}", e.at.with_timezone(&chrono::Local).format("%b %d %H:%M:%S"))
            });
            Problem {
                severity: x.severity,
                what: format!("XID {}: {} ({count} {since}{when})", x.number, x.meaning),
                fix: x.action,
            }
        })
        .collect();
    if events.xid_unknown > 0 {
        problems.push(Problem {
            severity: Severity::Warning,
            what: format!(
                "XID of unknown number: the driver did not say which ({} {since})",
                events.xid_unknown
            ),
            fix: "read the driver's line in the kernel log: `sudo dmesg | grep -i xid`",
        });
    }
    problems
}

/// What the board's memory says: rows that could not be remapped, a remapping waiting for a
/// reset, pages waiting to be retired.
pub fn memory_problems(g: &GpuSample) -> Vec<Problem> {
    let mut problems = Vec::new();
    let details = g.details.as_ref();
    if let Some(rows) = details.and_then(|d| d.remapped_rows) {
        if rows.failed {
            problems.push(Problem {
                severity: Severity::Failure,
                what: "a memory row could not be remapped (no spare row left)".into(),
                fix: "take the GPU out of service and have it replaced",
            });
        }
        if rows.pending {
            problems.push(Problem {
                severity: Severity::Warning,
                what: format!("row remapping pending ({} uncorrectable)", rows.uncorrectable),
                fix: "reset the GPU (nvidia-smi -r) or reboot to apply it",
            });
        }
    }
    if details.and_then(|d| d.retired_pages_failed) == Some(true) {
        problems.push(Problem {
            severity: Severity::Failure,
            what: "memory pages with errors could not be retired (still in use)".into(),
            fix: "take the GPU out of service; check `sudo dmesg | grep -i amdgpu`",
        });
    }
    if details.and_then(|d| d.retired_pages_pending) == Some(true) {
        problems.push(Problem {
            severity: Severity::Warning,
            what: "memory pages waiting to be retired".into(),
            fix: "reboot to retire them",
        });
    }
    problems
}

/// A PCIe link trained narrower than the card and slot allow.
pub fn link_problems(g: &GpuSample) -> Vec<Problem> {
    let Some(d) = g.details.as_ref() else { return Vec::new() };
    match (d.pcie_link_width_current, d.pcie_link_width_max) {
        (Some(now), Some(max)) if now < max => vec![Problem {
            severity: Severity::Warning,
            what: format!("PCIe link x{now} of x{max}"),
            fix: "check the card's seating and the slot or riser",
        }],
        _ => Vec::new(),
    }
}

/// NVLink links that had to be retrained or saw CRC errors (replays alone are corrected in
/// flight and not reported). A counter the driver refused is left out, never read as 0: the
/// check is then listed as not examined (`REFUSABLE`).
pub fn nvlink_problems(g: &GpuSample) -> Vec<Problem> {
    let Some(n) = g.details.as_ref().and_then(|d| d.nvlink) else { return Vec::new() };
    let crc = match (n.crc_flit_errors, n.crc_data_errors) {
        (None, None) => None,
        // The counter that was read is a finding; the refused one is listed as not examined.
        (flit, data) => Some(flit.unwrap_or(0) + data.unwrap_or(0)),
    };
    let mut found = Vec::new();
    if let Some(recoveries) = n.recovery_errors.filter(|&c| c > 0) {
        found.push(format!("{recoveries} recoveries"));
    }
    if let Some(crc) = crc.filter(|&c| c > 0) {
        found.push(format!("{crc} CRC errors"));
    }
    if found.is_empty() {
        return Vec::new();
    }
    vec![Problem {
        severity: Severity::Warning,
        what: format!("NVLink: {} since the driver loaded", found.join(" and ")),
        fix: "check the NVLink bridges or the NVSwitch; reset the GPU if they keep growing",
    }]
}

/// "GPU 0 (NVIDIA H100 80GB HBM3, 00000000:17:00.0) ok", or with what was found and what
/// could not be examined: "GPU 1 (…) warning: row remapping pending (1 uncorrectable) (reset
/// the GPU …)". The GPU is named so that a line in a log can be acted on.
pub fn line(h: &GpuHealth) -> String {
    let mut said: Vec<String> =
        h.problems.iter().map(|p| format!("{} ({})", p.what, p.fix)).collect();
    said.extend(
        h.not_examined.iter().map(|n| format!("{} not examined: {} ({})", n.check, n.why, n.fix)),
    );
    said.extend(h.not_available.iter().map(|n| format!("{} not checked ({})", n.check, n.why)));
    let name = [h.name.as_deref(), h.pci_bus_id.as_deref().or(h.uuid.as_deref())]
        .into_iter()
        .flatten()
        .map(|s| sanitize(s).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    let gpu = if name.is_empty() {
        format!("GPU {}", h.index)
    } else {
        format!("GPU {} ({name})", h.index)
    };
    if said.is_empty() {
        format!("{gpu} {}", h.status.word())
    } else {
        format!("{gpu} {}: {}", h.status.word(), said.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Details, RemappedRows};

    #[test]
    fn each_sign_is_judged_worst_first() {
        let mut g = GpuSample::empty(0);
        assert_eq!(line(&judge(&g, vec![])), "GPU 0 ok");
        g.name = Some("NVIDIA H100 80GB HBM3".into());
        g.pci_bus_id = Some("00000000:17:00.0".into());
        assert_eq!(line(&judge(&g, vec![])), "GPU 0 (NVIDIA H100 80GB HBM3, 00000000:17:00.0) ok");
        g.throttle = crate::sample::Throttle::from_mask(0x40 | 0x4);
        g.details = Some(Box::new(Details {
            remapped_rows: Some(RemappedRows {
                correctable: 0,
                uncorrectable: 1,
                pending: true,
                failed: true,
            }),
            pcie_link_width_current: Some(8),
            pcie_link_width_max: Some(16),
            ..Details::default()
        }));
        let h = judge(&g, vec![]);
        assert_eq!(h.status, Severity::Failure);
        let what: Vec<&str> = h.problems.iter().map(|p| p.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "a memory row could not be remapped (no spare row left)",
                "row remapping pending (1 uncorrectable)",
                "PCIe link x8 of x16",
                "hardware thermal slowdown active",
            ]
        );
        assert_eq!(Severity::Warning.exit_code(), 1);
        let lost = GpuSample::unavailable(3, GpuStatus::Lost, "GPU is lost");
        assert!(line(&judge(&lost, vec![])).starts_with("GPU 3 failure: fallen off the bus"));
    }

    #[test]
    fn what_could_not_be_examined_is_never_ok() {
        let unreadable = GpuSample::unavailable(2, GpuStatus::Error, "Unknown Error");
        let h = judge(&unreadable, vec![]);
        assert_eq!((h.status, h.status.exit_code()), (Severity::Unknown, 3));
        assert!(line(&h).starts_with("GPU 2 unknown: its state could not be read: Unknown Error"));
        let unseen = NotExamined { check: "XID history", why: "no permission".into(), fix: "x" };
        let h = judge(&GpuSample::empty(0), vec![unseen.clone()]);
        assert_eq!(line(&h), "GPU 0 unknown: XID history not examined: no permission (x)");
        // A failure seen outranks what was not seen; what was not seen, a warning.
        assert!(Severity::Failure > Severity::Unknown && Severity::Unknown > Severity::Warning);
        let mut warned = GpuSample::empty(0);
        warned.details = Some(Box::new(crate::sample::Details {
            retired_pages_pending: Some(true),
            ..Default::default()
        }));
        assert_eq!(judge(&warned, vec![unseen]).status, Severity::Unknown);
    }

    #[test]
    fn a_value_the_driver_refused_is_a_check_not_examined_one_it_lacks_is_none() {
        use crate::sample::Missing;
        let mut g = GpuSample::empty(0);
        let refused = Missing { reason: MissingReason::Error, nvml_code: Some(999) };
        let lacking = Missing { reason: MissingReason::NotSupported, nvml_code: Some(3) };
        g.missing.insert(FieldKey::Nvlink, lacking);
        assert_eq!(judge(&g, vec![]).status, Severity::Ok, "no NVLink: nothing to check");
        g.missing.insert(FieldKey::Throttle, refused);
        g.missing.insert(
            FieldKey::EccUncorrected,
            Missing { reason: MissingReason::NoPermission, nvml_code: None },
        );
        let h = judge(&g, vec![]);
        assert_eq!(h.status, Severity::Unknown);
        assert_eq!(
            line(&h),
            "GPU 0 unknown: hardware slowdowns not examined: the driver failed to give it (NVML \
             error 999) (run `gputop doctor`; check `sudo dmesg | grep -i nvrm`); ECC errors not \
             examined: no permission to read it (run as root)"
        );
    }

    /// An AMD GPU as the DRM source gives it: no clock event reasons, no board details, and
    /// its ECC from the RAS counts where the card has them.
    fn amd_gpu(ras: Option<(u64, u64)>) -> GpuSample {
        use crate::sample::Missing;
        let mut g = GpuSample::empty(1);
        g.vendor = Vendor::Amd;
        g.name = Some("AMD Instinct MI210".into());
        g.pci_bus_id = Some("0000:03:00.0".into());
        let lacking = Missing { reason: MissingReason::NotProvidedByAmdgpu, nvml_code: None };
        g.missing.insert(FieldKey::Throttle, lacking);
        g.missing.insert(FieldKey::Events, lacking);
        match ras {
            Some((corrected, uncorrected)) => {
                (g.ecc.corrected, g.ecc.uncorrected) = (Some(corrected), Some(uncorrected));
            }
            None => g.missing.insert(FieldKey::Ecc, lacking),
        }
        g
    }

    #[test]
    fn an_amd_gpu_is_judged_by_what_its_driver_gives_and_says_what_it_lacks() {
        let h = judge(&amd_gpu(Some((4, 0))), vec![]);
        // What amdgpu has no file for is said, and like an NVIDIA GPU's NOT_SUPPORTED does not
        // make the verdict unknown; ECC from RAS is examined; NVLink is NVIDIA's.
        assert_eq!((h.status, h.vendor), (Severity::Ok, Vendor::Amd));
        assert!(h.not_examined.is_empty(), "{:?}", h.not_examined);
        let lacking: Vec<&str> = h.not_available.iter().map(|n| n.check).collect();
        assert_eq!(lacking, ["hardware slowdowns", "memory rows and pages", "PCIe link"]);
        assert_eq!(
            line(&h),
            "GPU 1 (AMD Instinct MI210, 0000:03:00.0) ok: hardware slowdowns not checked (not \
             provided by the amdgpu driver); memory rows and pages not checked (not read on AMD \
             GPUs); PCIe link not checked (not read on AMD GPUs)"
        );
        // A refusal on an AMD GPU is still a check not examined: unknown, never ok.
        let mut refused = amd_gpu(Some((4, 0)));
        refused.missing.insert(
            FieldKey::EccUncorrected,
            crate::sample::Missing { reason: MissingReason::NoPermission, nvml_code: None },
        );
        refused.ecc.uncorrected = None;
        assert_eq!(judge(&refused, vec![]).status, Severity::Unknown);
        // RAS counted uncorrected errors: a finding, as NVIDIA's ECC.
        let h = judge(&amd_gpu(Some((4, 2))), vec![]);
        assert_eq!(h.problems[0].what, "2 uncorrected ECC error(s) since the driver loaded");
        // A card without RAS: its ECC is not checked, with the driver's reason.
        let h = judge(&amd_gpu(None), vec![]);
        let ecc = h.not_available.iter().find(|n| n.check == "ECC errors").unwrap();
        assert_eq!(ecc.why, "not provided by the amdgpu driver");
        // XIDs are NVIDIA's: the kernel log's are not given to an AMD GPU at the same address.
        let xids = kernel_log::KernelXids::parse(
            "3,1,5000000,-;NVRM: Xid (PCI:0000:03:00): 79, pid=1, GPU has fallen off the bus.\n",
            chrono::DateTime::UNIX_EPOCH,
        );
        let mut nvidia = GpuSample::empty(0);
        nvidia.pci_bus_id = Some("00000000:03:00.0".into());
        let mut gpus = [nvidia, amd_gpu(None)];
        xids.attach(&mut gpus);
        assert_eq!(gpus[0].events.as_ref().map(|e| e.xid_counts.len()), Some(1));
        assert_eq!(gpus[1].events, None);
    }
}
