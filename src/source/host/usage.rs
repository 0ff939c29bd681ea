//! Host-wide CPU and memory use, for the monitor's header: the first line of `/proc/stat` and
//! two lines of `/proc/meminfo`, each read with one `pread` through a descriptor kept open.
//! (`sysinfo` opened both files on every refresh and parsed a line per CPU.)

use std::fs::File;

use super::read_from_start;
use crate::sample::Snapshot;
use crate::source::{Source, SourceError};

/// A source whose snapshots carry this machine's CPU and memory use, filled on the sampling
/// thread: what `gputop serve` exports for `--remote`, and the `local` entry of `--remote`.
pub struct WithHostUsage {
    inner: Box<dyn Source>,
    usage: HostUsage,
}

impl WithHostUsage {
    pub fn wrap(inner: Box<dyn Source>) -> Box<dyn Source> {
        Box::new(Self { inner, usage: HostUsage::new() })
    }
}

impl Source for WithHostUsage {
    fn sample(&mut self) -> Result<Snapshot, SourceError> {
        let mut snapshot = self.inner.sample()?;
        snapshot.host.fill_usage(self.usage.refresh());
        Ok(snapshot)
    }

    fn wrapped(&mut self) -> Option<&mut dyn Source> {
        Some(self.inner.as_mut())
    }
}

pub struct HostUsage {
    stat: Option<File>,
    meminfo: Option<File>,
    /// The CPU times of the previous refresh: usage is the share not idle since then.
    previous: Option<CpuTimes>,
    buf: Vec<u8>,
}

/// Jiffies since boot, all CPUs together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CpuTimes {
    busy: u64,
    idle: u64,
}

impl Default for HostUsage {
    fn default() -> Self {
        Self::new()
    }
}

impl HostUsage {
    /// Opens the files and takes the first CPU reading, so the first refresh has a baseline.
    pub fn new() -> Self {
        let mut usage = Self {
            stat: File::open("/proc/stat").ok(),
            meminfo: File::open("/proc/meminfo").ok(),
            previous: None,
            buf: Vec::new(),
        };
        usage.previous = usage.cpu_times();
        usage
    }

    /// CPU use (percent of all CPUs) since the previous refresh, and memory (used, total) in
    /// bytes; `None` for what cannot be read.
    pub fn refresh(&mut self) -> (Option<f32>, Option<(u64, u64)>) {
        let now = self.cpu_times();
        let cpu = match (self.previous, now) {
            (Some(before), Some(now)) => cpu_percent(before, now),
            _ => None,
        };
        self.previous = now.or(self.previous);
        let memory = self
            .meminfo
            .as_ref()
            .and_then(|f| read_from_start(f, &mut self.buf))
            .and_then(parse_meminfo);
        (cpu, memory)
    }

    fn cpu_times(&mut self) -> Option<CpuTimes> {
        self.stat.as_ref().and_then(|f| read_from_start(f, &mut self.buf)).and_then(parse_cpu)
    }
}

/// The `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal (guest time
/// is already in user). Waiting for I/O counts as idle, as `top` counts it.
fn parse_cpu(stat: &[u8]) -> Option<CpuTimes> {
    let line = stat.split(|&b| b == b'\n').next()?.strip_prefix(b"cpu ")?;
    let fields: Vec<u64> = std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = fields[..] else {
        return None;
    };
    Some(CpuTimes { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait })
}

fn cpu_percent(before: CpuTimes, now: CpuTimes) -> Option<f32> {
    let busy = now.busy.checked_sub(before.busy)?;
    let total = busy + now.idle.checked_sub(before.idle)?;
    (total > 0).then(|| (busy as f64 * 100.0 / total as f64) as f32)
}

/// Used and total memory in bytes: used is what is not available, as `free` and `sysinfo`
/// count it.
fn parse_meminfo(meminfo: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(meminfo).ok()?;
    let kib = |name: &str| -> Option<u64> {
        let line = text.lines().find_map(|l| l.strip_prefix(name))?;
        line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok().map(|k| k * 1024)
    };
    let (total, available) = (kib("MemTotal:")?, kib("MemAvailable:")?);
    Some((total.saturating_sub(available), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_use_is_the_busy_share_since_the_previous_reading() {
        let before = parse_cpu(b"cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!(before, CpuTimes { busy: 150, idle: 850 });
        let now = parse_cpu(b"cpu  160 0 70 860 60 5 5 0 0 0\n").unwrap();
        // 90 busy of 160 jiffies.
        assert_eq!(cpu_percent(before, now), Some(56.25));
        assert_eq!(cpu_percent(now, now), None);
        // A counter going backwards (a restored VM) is no reading, not a huge one.
        assert_eq!(cpu_percent(now, before), None);
        assert_eq!(parse_cpu(b"cpu0 1 2 3 4 5 6 7 8\n"), None);
        assert_eq!(parse_cpu(b"cpu  1 2 3\n"), None);
    }

    #[test]
    fn memory_used_is_what_is_not_available() {
        let meminfo = b"MemTotal:       16000000 kB\nMemFree:         1000000 kB\n\
            MemAvailable:   12000000 kB\nBuffers:          100 kB\n";
        assert_eq!(parse_meminfo(meminfo), Some((4_000_000 * 1024, 16_000_000 * 1024)));
        assert_eq!(parse_meminfo(b"MemTotal:       16000000 kB\n"), None);
    }

    #[test]
    fn reads_this_machine() {
        let mut usage = HostUsage::new();
        // Keep one CPU busy for a few clock ticks: the machine cannot have been idle.
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(150) {
            std::hint::black_box(started.elapsed());
        }
        let (cpu, memory) = usage.refresh();
        let (used, total) = memory.unwrap();
        assert!(total > 0 && used <= total);
        let cpu = cpu.expect("CPU use over 150 ms");
        assert!(cpu > 0.0 && cpu <= 100.0, "{cpu}");
    }
}
