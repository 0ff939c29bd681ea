//! The `/proc` files of a GPU process: `stat` on first sight, `statm` on every sample.

/// The fields of `/proc/PID/stat` that the process table shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The kernel's 15-byte `comm`; raw, so sanitize before display.
    pub comm: String,
    /// User plus system time, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks: with the PID, it identifies a process.
    pub start_ticks: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

/// Parses one `stat` line. `comm` may hold spaces and parentheses, so the numeric fields are
/// counted from the last `)`.
pub fn parse(line: &[u8]) -> Option<Stat> {
    let open = line.iter().position(|&b| b == b'(')?;
    let close = line.iter().rposition(|&b| b == b')')?;
    let comm = String::from_utf8_lossy(line.get(open + 1..close)?).into_owned();
    // After ") ": field 3 (state) is index 0, so field N is index N - 3.
    let mut fields = line.get(close + 2..)?.split(|&b| b == b' ');
    let mut nth = |skip: usize| -> Option<u64> {
        std::str::from_utf8(fields.nth(skip)?).ok()?.trim_end().parse().ok()
    };
    let utime = nth(14 - 3)?;
    let stime = nth(0)?;
    let start_ticks = nth(22 - 16)?;
    let rss_pages = nth(24 - 23)?;
    Some(Stat { comm, cpu_ticks: utime + stime, start_ticks, rss_pages })
}

/// The resident set in pages: the second field of `/proc/PID/statm`.
pub fn rss_pages(statm: &[u8]) -> Option<u64> {
    let field = statm.split(|b| b.is_ascii_whitespace()).nth(1)?;
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// The real UID from `/proc/PID/status` (its `Uid:` line: real, effective, saved, fs).
pub fn real_uid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Boot time in seconds since the epoch, from the `btime` line of `/proc/stat`.
pub fn boot_time(proc_stat: &str) -> Option<u64> {
    proc_stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

/// A command line from `/proc/PID/cmdline` (NUL-separated arguments), joined by spaces;
/// `None` when empty (kernel threads, zombies).
pub fn command_line(raw: &[u8]) -> Option<String> {
    let args: Vec<_> =
        raw.split(|&b| b == 0).filter(|a| !a.is_empty()).map(String::from_utf8_lossy).collect();
    (!args.is_empty()).then(|| args.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = b"4242 (python3 (a) b) S 1 4242 4242 0 -1 4194560 80000 0 12 0 \
        1500 250 0 0 20 0 9 0 987654 4000000000 123456 18446744073709551615 1 1 0 0 0 0 0 \
        16781312 1073743106 0 0 0 17 3 0 0 0 0 0\n";

    #[test]
    fn parses_fields_after_a_comm_with_spaces_and_parentheses() {
        let s = parse(LINE).unwrap();
        assert_eq!(s.comm, "python3 (a) b");
        assert_eq!(s.cpu_ticks, 1750);
        assert_eq!(s.start_ticks, 987654);
        assert_eq!(s.rss_pages, 123456);
    }

    #[test]
    fn rejects_truncated_lines() {
        assert_eq!(parse(b"4242 (x) S 1 2 3"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"4242 x S"), None);
    }

    #[test]
    fn reads_the_resident_set_from_statm() {
        assert_eq!(rss_pages(b"1000 256 100 1 0 500 0\n"), Some(256));
        assert_eq!(rss_pages(b"1000\n"), None);
        assert_eq!(rss_pages(b"1000 x 1"), None);
    }

    #[test]
    fn reads_uid_boot_time_and_command_line() {
        assert_eq!(real_uid("Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t5\n"), Some(1000));
        assert_eq!(real_uid("Name:\tx\n"), None);
        assert_eq!(boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"), Some(1_700_000_000));
        assert_eq!(
            command_line(b"python\0train.py\0--lr\x000.1\0"),
            Some("python train.py --lr 0.1".into())
        );
        assert_eq!(command_line(b""), None);
    }
}
