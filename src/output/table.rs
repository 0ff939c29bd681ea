//! The compact human table of `--once` (and `--watch`): a line per GPU, then the processes.
//!
//! ```text
//! gpu-box  2026-11-26 16:49:33  driver 550.54.15  CUDA 12.4
//! GPU  NAME                    TEMP  UTIL  MEMORY                  POWER        FAN
//!   0  NVIDIA H100 80GB HBM3   62°C   87%  40213 / 81559 MiB  49%  312 / 700 W  N/A
//!
//! GPU      PID  USER   TYPE  GPU MEM   SM%   CPU%  COMMAND
//!   0     4000  alice  C     3210MiB    40   98.0  python train.py
//! ```
//!
//! Rendering returns styled lines, written as SGR codes by `--once` and set into the cells of
//! the `--watch` frame, which rewrites only the cells that changed.

use std::fmt::Write;

use chrono::Local;
use unicode_width::UnicodeWidthStr;

use super::style::{self, Painter};
use crate::sample::{GpuSample, GpuStatus, PidMapping, ProcessKind, Snapshot};
use crate::term::styled::StyledLine;
use crate::text::sanitize::sanitize;
use crate::text::units::{human_bytes, mib, or_na, pad, truncate, NA};

#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    pub painter: Painter,
    /// Cut lines to this many columns (the terminal's width); `None` for pipes and files.
    pub width: Option<usize>,
    pub ascii: bool,
}

const NAME_MAX: usize = 32;

pub fn render(snapshot: &Snapshot, opts: &TableOptions) -> Vec<StyledLine> {
    let p = opts.painter;
    let mut lines = vec![header_line(snapshot)];
    if snapshot.gpus.is_empty() && snapshot.hosts.is_empty() {
        // As nvidia-smi says "No devices were found": not an empty table.
        let driver = snapshot.host.driver_version.as_deref().map(sanitize);
        let why = match driver {
            Some(v) => format!("No GPU found: the NVIDIA driver ({v}) reports no devices"),
            None => "No GPU found".into(),
        };
        lines.push(p.line(style::ALERT, format_args!("{why} (`gputop doctor` checks the stack)")));
        return lines;
    }
    let name_width = snapshot
        .gpus
        .iter()
        .map(|g| g.name.as_deref().map_or(3, |n| sanitize(n).width()))
        .max()
        .unwrap_or(4)
        .clamp(4, NAME_MAX);
    // "used / total MiB": 17 cells up to 99,999 MiB; a 141 or 192 GB GPU (H200, B200, MI300X)
    // needs more, and the columns after it stay aligned.
    let memory_width = snapshot
        .gpus
        .iter()
        .map(|g| memory_text(g.memory.used_bytes, g.memory.total_bytes).len())
        .max()
        .unwrap_or(0)
        .max(17);
    let widths = Widths { name: name_width, memory: memory_width };
    lines.push(p.line(
        style::HEADER,
        format_args!(
            "GPU  {:<name_width$}  {:>5}  UTIL  {:<w$}  {:<11}  FAN",
            "NAME",
            "TEMP",
            "MEMORY",
            "POWER",
            w = memory_width + 5
        ),
    ));
    let gpu_lines = |gpus: &mut dyn Iterator<Item = &GpuSample>, lines: &mut Vec<StyledLine>| {
        for gpu in gpus {
            lines.push(gpu_line(gpu, widths, opts));
            if let Some(alarm) = throttle_alarm(gpu, opts.ascii) {
                lines.push(p.line(style::ALERT, alarm));
            }
            lines.extend(mig_lines(gpu, widths.memory, opts));
        }
    };
    if snapshot.hosts.is_empty() {
        gpu_lines(&mut snapshot.gpus.iter(), &mut lines);
    } else {
        // Many hosts: each under its own heading, a host that did not answer as DOWN.
        for host in &snapshot.hosts {
            let url = sanitize(&host.url);
            match &host.hostname {
                Some(name) if host.up => {
                    let took = host.latency_ms.map_or(String::new(), |ms| format!(", {ms} ms"));
                    lines.push(
                        p.line(style::HEADER, format_args!("── {} ({url}{took})", sanitize(name))),
                    );
                    if host.stale {
                        let why = sanitize(host.error.as_deref().unwrap_or("stale"));
                        lines.push(p.line(style::ALERT, format_args!("   STALE ({why})")));
                    }
                    gpu_lines(
                        &mut snapshot.gpus.iter().filter(|g| g.host.as_ref() == Some(name)),
                        &mut lines,
                    );
                }
                _ => {
                    let why = sanitize(host.error.as_deref().unwrap_or("no answer"));
                    lines.push(p.line(style::ALERT, format_args!("── {url}: DOWN ({why})")));
                }
            }
        }
    }
    lines.push(StyledLine::new());
    lines.extend(process_lines(snapshot, opts));
    if let Some(width) = opts.width {
        for line in &mut lines {
            line.clip(width);
        }
    }
    lines
}

/// Plain, not bold: its clock changes every refresh, and a style would cost bytes each time.
pub(super) fn header_line(snapshot: &Snapshot) -> StyledLine {
    let host = &snapshot.host;
    // Many hosts: how many answered stands where one host's name would.
    let name = if snapshot.hosts.is_empty() {
        sanitize(host.hostname.as_deref().unwrap_or(NA)).into_owned()
    } else {
        let up = snapshot.hosts.iter().filter(|h| h.up).count();
        format!("{up}/{} hosts up", snapshot.hosts.len())
    };
    let at = snapshot.taken_at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S");
    // Many hosts and no local driver: this machine's "driver N/A" would say nothing of theirs.
    // Only AMD and Intel GPUs: no NVIDIA driver to name.
    if !snapshot.hosts.is_empty() && host.driver_version.is_none()
        || !snapshot.shows_nvidia_driver()
    {
        return format!("{name}  {at}").into();
    }
    format!(
        "{}  {}  driver {}  CUDA {}",
        name,
        at,
        sanitize(host.driver_version.as_deref().unwrap_or(NA)),
        host.cuda_driver_version.as_deref().unwrap_or(NA),
    )
    .into()
}

/// The widths of the GPU table's columns that depend on the GPUs, in cells.
#[derive(Clone, Copy)]
struct Widths {
    name: usize,
    memory: usize,
}

/// "used / total MiB", or N/A.
fn memory_text(used: Option<u64>, total: Option<u64>) -> String {
    match (used, total) {
        (Some(used), Some(total)) => format!("{} / {} MiB", mib(used), mib(total)),
        _ => NA.to_string(),
    }
}

fn gpu_line(gpu: &GpuSample, widths: Widths, opts: &TableOptions) -> StyledLine {
    let name_width = widths.name;
    let p = opts.painter;
    let name = sanitize(gpu.name.as_deref().unwrap_or(NA));
    let name = pad(&truncate(&name, name_width, opts.ascii), name_width, true);
    let mut line = StyledLine::new();
    let _ = write!(line, "{:>3}  {name}  ", gpu.index);
    if gpu.status != GpuStatus::Ok {
        let what = match gpu.status {
            GpuStatus::Lost => "LOST".to_string(),
            _ => format!("ERROR: {}", sanitize(gpu.error.as_deref().unwrap_or("unknown"))),
        };
        p.paint(&mut line, style::ALERT, what);
        return line;
    }
    let degree = if opts.ascii { "C" } else { "°C" };
    let temp = gpu.temperature.gpu_celsius.map_or(NA.to_string(), |t| format!("{t}{degree}"));
    p.paint(
        &mut line,
        style::temperature(gpu.temperature.gpu_celsius, gpu.temperature.slowdown_celsius),
        format_args!("{temp:>5}"),
    );
    let util = gpu.utilization.gpu_percent;
    let _ = write!(line, "  ");
    p.paint(
        &mut line,
        style::load(util.map(f64::from)),
        format_args!("{:>4}", util.map_or(NA.to_string(), |u| format!("{u}%"))),
    );
    let memory = memory_text(gpu.memory.used_bytes, gpu.memory.total_bytes);
    let mem_pct = gpu.memory_percent();
    let _ = write!(line, "  {memory:>w$} ", w = widths.memory);
    p.paint(
        &mut line,
        style::load(mem_pct),
        format_args!("{:>4}", mem_pct.map_or(String::new(), |m| format!("{m:.0}%"))),
    );
    let power = match (gpu.power.draw_watts, gpu.power.limit_watts) {
        (Some(draw), Some(limit)) => format!("{draw:.0} / {limit:.0} W"),
        (Some(draw), None) => format!("{draw:.0} W"),
        _ => NA.to_string(),
    };
    let fan = gpu.fan_percent.map_or(NA.to_string(), |f| format!("{f}%"));
    let _ = write!(line, "  {power:<11}  {fan:>3}");
    line
}

/// A line per MIG device under its GPU: profile, instance ids, memory. NVML gives no
/// utilization for MIG devices, which the line says rather than showing a number.
fn mig_lines(gpu: &GpuSample, memory_width: usize, opts: &TableOptions) -> Vec<StyledLine> {
    let Some(instances) = &gpu.mig_instances else { return Vec::new() };
    let branch = if opts.ascii { "`-" } else { "└" };
    let id = |v: Option<u32>| v.map_or(NA.to_string(), |v| v.to_string());
    instances
        .iter()
        .map(|m| {
            let memory = memory_text(m.memory.used_bytes, m.memory.total_bytes);
            let profile = sanitize(m.profile.as_deref().unwrap_or(NA)).into_owned();
            format!(
                "     {branch} MIG {profile:<9} GI {} CI {}  {memory:>memory_width$}  util N/A (not given for MIG)",
                id(m.gpu_instance_id),
                id(m.compute_instance_id),
            )
            .into()
        })
        .collect()
}

/// A second line under a GPU whose clocks are held down by trouble (heat, power brake).
fn throttle_alarm(gpu: &GpuSample, ascii: bool) -> Option<String> {
    let alarming = gpu.throttle.alarming();
    (!alarming.is_empty()).then(|| {
        let mark = if ascii { "!" } else { "⚠" };
        format!("     {mark} throttled: {}", alarming.join(", "))
    })
}

fn process_lines(snapshot: &Snapshot, opts: &TableOptions) -> Vec<StyledLine> {
    let p = opts.painter;
    let rows: Vec<_> = snapshot
        .gpus
        .iter()
        .flat_map(|g| {
            // With many hosts, a GPU is named by host and index.
            let label = g
                .host
                .as_ref()
                .map_or(g.index.to_string(), |h| format!("{}:{}", sanitize(h), g.index));
            // In a MIG instance: the GPU and the GPU instance, "0/1".
            g.known_processes().iter().map(move |pr| match pr.gpu_instance_id {
                Some(gi) if g.mig_enabled == Some(true) => (format!("{label}/{gi}"), pr),
                _ => (label.clone(), pr),
            })
        })
        .collect();
    // A list NVML could not give is unknown, never "no processes".
    let unknown: Vec<StyledLine> = snapshot
        .gpus
        .iter()
        .filter_map(|g| {
            let reason = g.processes_unknown_reason()?;
            let label = g
                .host
                .as_ref()
                .map_or(g.index.to_string(), |h| format!("{}:{}", sanitize(h), g.index));
            Some(p.line(style::DIM, format_args!("GPU {label}: processes {reason}")))
        })
        // A host that did not answer has processes nobody could ask about.
        .chain(snapshot.hosts.iter().filter(|h| !h.up).map(|h| {
            p.line(style::DIM, format_args!("{}: processes unknown (host down)", sanitize(&h.url)))
        }))
        .collect();
    if rows.is_empty() {
        if unknown.is_empty() {
            return vec![p.line(style::DIM, "No GPU processes.")];
        }
        return unknown;
    }
    let user_width = rows
        .iter()
        .map(|(_, pr)| pr.user.as_deref().map_or(3, |u| sanitize(u).width()))
        .max()
        .unwrap_or(4)
        .clamp(4, 16);
    // A WHERE column (container, pod, Slurm job, unit) only when some process runs in one.
    let labels: Vec<Option<String>> =
        rows.iter().map(|(_, pr)| pr.placement.as_ref().and_then(|pl| pl.label())).collect();
    let where_width =
        labels.iter().flatten().map(|l| sanitize(l).width()).max().map(|w| w.clamp(5, 32));
    let where_header = where_width.map_or(String::new(), |w| format!("{:<w$}  ", "WHERE"));
    let mut lines = vec![p.line(
        style::HEADER,
        format_args!(
            "GPU      PID  {:<user_width$}  TYPE  GPU MEM   SM%   CPU%  {where_header}COMMAND",
            "USER"
        ),
    )];
    for ((gpu, pr), label) in rows.into_iter().zip(labels) {
        let user = sanitize(pr.user.as_deref().unwrap_or(NA));
        let user = pad(&truncate(&user, user_width, opts.ascii), user_width, true);
        let command = sanitize(pr.command.as_deref().or(pr.name.as_deref()).unwrap_or(
            match pr.pid_mapping {
                Some(PidMapping::Outside) => "(outside this container)",
                Some(PidMapping::FoundByScan) => "(holds the GPU; not listed by NVML)",
                _ => NA,
            },
        ));
        let place = where_width.map_or(String::new(), |w| {
            let label = sanitize(label.as_deref().unwrap_or("-")).into_owned();
            format!("{}  ", pad(&truncate(&label, w, opts.ascii), w, true))
        });
        let mut line = StyledLine::new();
        let _ = write!(
            line,
            "{gpu:>3}  {:>7}  {user}  {:<4}  {:>7}  {:>4}  {:>5}  {place}{command}",
            pr.pid,
            ProcessKind::short_or_na(pr.kind),
            pr.gpu_memory_bytes.map_or(NA.to_string(), human_bytes),
            or_na(pr.sm_percent),
            pr.cpu_percent.map_or(NA.to_string(), |c| format!("{c:.1}")),
        );
        lines.push(line);
    }
    let outside = snapshot
        .gpus
        .iter()
        .flat_map(|g| g.known_processes())
        .filter(|p| p.pid_mapping == Some(PidMapping::Outside))
        .count();
    lines.extend(unknown);
    if outside > 0 {
        lines.push(p.line(
            style::DIM,
            format_args!("{outside} process(es) run outside this container and show host PIDs: run the container with --pid=host, or mount the host's /proc and pass --host-proc"),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Snapshot {
        crate::source::SimSource::new(crate::scenario::Scenario::demo(4), &[])
            .unwrap()
            .sample_at(0.0)
    }

    fn options(colour: bool, width: Option<usize>) -> TableOptions {
        TableOptions { painter: Painter { enabled: colour }, width, ascii: false }
    }

    #[test]
    fn colour_changes_no_character_and_lines_are_cut_to_the_width() {
        let snapshot = demo();
        for width in [None, Some(100), Some(37), Some(1)] {
            let coloured = render(&snapshot, &options(true, width));
            let plain = render(&snapshot, &options(false, width));
            let text = |lines: &[StyledLine]| -> Vec<String> {
                lines.iter().map(|l| l.text().to_string()).collect()
            };
            assert_eq!(text(&coloured), text(&plain), "width {width:?}");
            for line in &plain {
                assert_eq!(line.to_string(), line.text(), "no codes without colour");
                if let Some(w) = width {
                    assert!(line.text().width() <= w, "{:?} wider than {w}", line.text());
                }
            }
        }
        let coloured = render(&snapshot, &options(true, None));
        let header = &coloured[1];
        assert_eq!(
            header.to_string(),
            format!("{}{}{:#}", style::HEADER, header.text(), style::HEADER)
        );
    }

    /// The cells the `--watch` frame takes from a line are those a terminal shows after the
    /// line's SGR codes, the bytes `--once` writes: colours, bold, dim, wide characters, cuts.
    #[test]
    fn the_watch_cells_are_what_a_terminal_shows_of_the_once_bytes() {
        use ratatui::buffer::Buffer;
        use ratatui::layout::Rect;
        use ratatui::style::{Color, Modifier};

        let mut snapshot = demo();
        snapshot.gpus[0].temperature.gpu_celsius = Some(95);
        snapshot.gpus[1].utilization.gpu_percent = Some(60);
        snapshot.gpus[2].name = Some("训练 GPU".into());
        snapshot.gpus[3].processes = None;
        let width = 80u16;
        let nz = |n: u16| std::num::NonZero::new(n).unwrap();
        let mut colours = 0;
        for clip in [79, 53, 41, 12] {
            for line in render(&snapshot, &options(true, Some(clip))) {
                let mut terminal = vt100::Parser::new(nz(1), nz(width), 0);
                terminal.process(line.to_string().as_bytes());
                let mut cells = Buffer::empty(Rect::new(0, 0, width, 1));
                line.set_in(&mut cells, 0);
                for x in 0..width {
                    let (cell, shown) = (&cells[(x, 0)], terminal.screen().cell(0, x).unwrap());
                    if shown.is_wide_continuation() {
                        continue;
                    }
                    let at = format!("column {x} of {line:?}");
                    let symbol = if shown.has_contents() { shown.contents() } else { " " };
                    assert_eq!(cell.symbol(), symbol, "{at}");
                    assert_eq!(cell.modifier.contains(Modifier::BOLD), shown.bold(), "{at}");
                    assert_eq!(cell.modifier.contains(Modifier::DIM), shown.dim(), "{at}");
                    let fg = match shown.fgcolor() {
                        vt100::Color::Default => Color::Reset,
                        vt100::Color::Idx(1) => Color::Red,
                        vt100::Color::Idx(3) => Color::Yellow,
                        vt100::Color::Idx(i) => Color::Indexed(i),
                        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
                    };
                    assert_eq!(cell.fg, fg, "{at}");
                    colours += usize::from(fg != Color::Reset);
                }
            }
        }
        assert!(colours > 0, "the table has coloured cells to compare");
    }
}
