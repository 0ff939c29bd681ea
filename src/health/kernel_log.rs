//! XID errors from the kernel log (`/dev/kmsg`): the record since boot that a one-shot check
//! reads, since NVML only tells a listener of the events after it registered. The driver
//! writes one line per XID: `NVRM: Xid (PCI:0000:3b:00): 79, pid=…, GPU has fallen off the bus.`
//! Reading needs root (CAP_SYSLOG) unless `kernel.dmesg_restrict` is 0.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use crate::sample::{EventSource, GpuEvent, GpuEventKind, GpuEvents};

/// The XIDs of the log, by the GPU's PCI address (domain, bus, device).
#[derive(Debug, Default)]
pub struct KernelXids {
    pub boot: DateTime<Utc>,
    by_address: BTreeMap<(u32, u32, u32), Vec<GpuEvent>>,
}

impl KernelXids {
    /// Reads the whole log without waiting for more: `/dev/kmsg` (one record per read, until
    /// it would block) or a plain file holding its records.
    pub fn read(path: &Path) -> Result<Self, Unreadable> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| read_error(path, &e))?;
        let mut text = Vec::new();
        let mut record = vec![0u8; 16 * 1024];
        loop {
            match file.read(&mut record) {
                Ok(0) => break,
                Ok(n) => text.extend_from_slice(&record[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // Records overwritten while we read (EPIPE): the next read goes on after them.
                Err(e) if e.kind() == ErrorKind::BrokenPipe => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(path, &e)),
            }
        }
        Ok(Self::parse(&String::from_utf8_lossy(&text), boot_time()))
    }

    /// Parses `/dev/kmsg` records (`PRIO,SEQ,MICROSECONDS,FLAGS;MESSAGE`, continuation lines
    /// starting with a space), dating them from `boot`.
    pub fn parse(text: &str, boot: DateTime<Utc>) -> Self {
        let mut xids = Self { boot, by_address: BTreeMap::new() };
        for line in text.lines().filter(|l| !l.starts_with(' ')) {
            let Some((header, message)) = line.split_once(';') else { continue };
            let Some(micros) = header.split(',').nth(2).and_then(|t| t.parse::<i64>().ok()) else {
                continue;
            };
            let Some((address, xid)) = parse_xid(message) else { continue };
            xids.by_address.entry(address).or_default().push(GpuEvent {
                at: boot + Duration::microseconds(micros),
                kind: GpuEventKind::Xid,
                xid: Some(xid),
                message: Some(message.trim().to_string()),
            });
        }
        xids
    }

    /// Gives each NVIDIA GPU its XIDs from the log, matched by bus id (a GPU without one gets
    /// none). XIDs are NVIDIA's driver's: another vendor's GPU keeps its own `events`.
    pub fn attach(&self, gpus: &mut [crate::sample::GpuSample]) {
        for g in gpus.iter_mut().filter(|g| g.vendor == crate::sample::Vendor::Nvidia) {
            if let Some(bus) = g.pci_bus_id.as_deref() {
                g.events = Some(self.for_gpu(bus));
            }
        }
    }

    /// The events of the GPU at `pci_bus_id` (NVML's `00000000:3B:00.0`), none if it had none.
    pub fn for_gpu(&self, pci_bus_id: &str) -> GpuEvents {
        let mut events = GpuEvents::new(EventSource::KernelLog, self.boot);
        let found = pci_address(pci_bus_id).and_then(|a| self.by_address.get(&a));
        for event in found.into_iter().flatten() {
            events.add(event.clone());
        }
        events
    }
}

/// Why the log could not be read: one line, and whether it was for lack of permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// What went wrong and what to do, for a line of its own.
    pub message: String,
    /// What went wrong alone, for a line that says what to do itself.
    pub cause: String,
    pub permission: bool,
}

fn read_error(path: &Path, e: &std::io::Error) -> Unreadable {
    let permission = e.kind() == ErrorKind::PermissionDenied;
    let hint = if permission { " (run as root, or sysctl kernel.dmesg_restrict=0)" } else { "" };
    let reason = e.to_string();
    let reason = reason.split(" (os error").next().unwrap_or(&reason).to_lowercase();
    let cause = format!("cannot read the kernel log {}: {reason}", path.display());
    Unreadable { message: format!("{cause}{hint}"), cause, permission }
}

/// `NVRM: Xid (PCI:0000:3b:00): 79, …` → ((0, 0x3b, 0), 79).
fn parse_xid(message: &str) -> Option<((u32, u32, u32), u32)> {
    let rest = message.split_once("NVRM: Xid (")?.1;
    let (inside, after) = rest.split_once("): ")?;
    let address = pci_address(inside.strip_prefix("PCI:").unwrap_or(inside))?;
    let number = after.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some((address, number))
}

/// `0000:3b:00`, `0000:3b:00.0` or `00000000:3B:00.0` → (domain, bus, device).
fn pci_address(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().split(':');
    let domain = u32::from_str_radix(parts.next()?, 16).ok()?;
    let bus = u32::from_str_radix(parts.next()?, 16).ok()?;
    let device = parts.next()?.split('.').next()?;
    Some((domain, bus, u32::from_str_radix(device, 16).ok()?))
}

/// When the kernel's clock started: the log's timestamps count from there (CLOCK_MONOTONIC).
fn boot_time() -> DateTime<Utc> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let up = Duration::seconds(ts.tv_sec) + Duration::nanoseconds(ts.tv_nsec);
    Utc::now() - up
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xid_lines_are_found_and_matched_to_their_gpu() {
        let log = "6,100,5000000,-;NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.15\n\
                   4,200,7000000,-;NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.\n \
                   SUBSYSTEM=pci\n \
                   DEVICE=+pci:0000:3b:00.0\n\
                   4,201,8000000,-,caller=T1;NVRM: Xid (PCI:0000:3b:00): 13, Graphics Exception: ESR 0x5\n\
                   4,202,9000000,-;NVRM: Xid (PCI:0001:af:00): 48, An uncorrectable double bit error\n\
                   4,203,9500000,-;NVRM: Xid (garbage\n";
        let boot = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let xids = KernelXids::parse(log, boot);
        let gpu = xids.for_gpu("00000000:3B:00.0");
        assert_eq!(gpu.xid_counts, BTreeMap::from([(13, 1), (79, 1)]));
        assert_eq!(gpu.recent[0].at, boot + Duration::seconds(7));
        assert!(gpu.recent[0].message.as_deref().unwrap().ends_with("fallen off the bus."));
        assert_eq!(xids.for_gpu("00000001:AF:00.0").xid_counts, BTreeMap::from([(48, 1)]));
        assert!(xids.for_gpu("00000000:01:00.0").recent.is_empty());
    }

    #[test]
    fn a_plain_file_reads_like_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kmsg");
        std::fs::write(&path, "4,1,1,-;NVRM: Xid (PCI:0000:01:00): 94, Contained\n").unwrap();
        let xids = KernelXids::read(&path).unwrap();
        assert_eq!(xids.for_gpu("00000000:01:00.0").xid_counts, BTreeMap::from([(94, 1)]));
        let missing = KernelXids::read(&dir.path().join("none")).unwrap_err();
        assert!(missing.message.starts_with("cannot read the kernel log"), "{missing:?}");
        assert!(!missing.permission);
    }
}
