//! `gputop report`'s run: a recording's window, summed by [`super::summary`], as text (100
//! columns), JSON, CSV or an HTML page.

use std::io::Write;

use chrono::{DateTime, Local, Utc};

use crate::record;
use crate::record::summary::{self, ReportBy};
use crate::text::sanitize::sanitize;
use crate::text::time::Moment;
use crate::text::units::{duration, energy, human_bytes, pad, truncate};
use crate::Error;

/// `report`'s options: which recording, the window, whose use, and the form.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The database (given, else the one `gputop record` writes by default).
    pub path: std::path::PathBuf,
    pub since: Option<Moment>,
    pub until: Option<DateTime<Utc>>,
    pub by: ReportBy,
    /// The shortest idle-while-held span worth reporting.
    pub idle_min: std::time::Duration,
    pub json: bool,
    pub csv: bool,
    /// Write the report as an HTML page there.
    pub html: Option<std::path::PathBuf>,
}

pub fn run(args: &ReportOptions) -> Result<(), Error> {
    let path = args.path.clone();
    let conn = record::open(&path)?;
    let span = record::span(&conn).map_err(|e| Error::Recording(record::db_error(&path, &e)))?;
    let (since, until) = window(args, span)?;
    let chart_points = args.html.is_some().then_some(600);
    let report = summary::build(&conn, since, until, args.by, args.idle_min, chart_points)
        .map_err(|e| Error::Recording(record::db_error(&path, &e)))?;
    if let Some(out) = &args.html {
        let page = record::html::render(&report);
        std::fs::write(out, page)
            .map_err(|e| Error::Recording(format!("cannot write {}: {e}", out.display())))?;
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    if args.csv {
        write!(out, "{}", csv(&report))?;
    } else if args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        writeln!(out, "{}", crate::output::json::escape_controls(text))?;
    } else {
        for line in text(&report) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The window to report on. Given ends are taken as they are, checked, and a missing
/// `--until` is now; with neither given, the window is the last 24 h up to the recording's
/// newest sample, narrowed to its first sample where that lies inside (a 25-second recording
/// is not charted over a day).
fn window(
    args: &ReportOptions,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Error> {
    // A window given in part is counted from now; one left out whole is the recording's.
    let until = match (args.until, args.since, span) {
        (Some(t), ..) => t,
        (None, None, Some((_, last))) => last.min(Utc::now()),
        (None, ..) => Utc::now(),
    };
    let back = |d: std::time::Duration| {
        chrono::Duration::from_std(d).ok().and_then(|d| until.checked_sub_signed(d)).ok_or_else(
            || Error::Usage("--since reaches back before any date gputop can show".into()),
        )
    };
    let since = match args.since {
        Some(Moment::Ago(d)) => back(d)?,
        Some(Moment::At(t)) => t,
        None => {
            let day = back(std::time::Duration::from_secs(86_400))?;
            span.map_or(day, |(first, _)| day.max(first))
        }
    };
    if since > until || (since == until && span.is_none()) {
        let end = if args.until.is_some() {
            format!("--until ({})", local(&until))
        } else if span.is_some() {
            format!("the recording's last sample ({})", local(&until))
        } else {
            "now".into()
        };
        return Err(Error::Usage(format!("--since ({}) is after {end}", local(&since))));
    }
    Ok((since, until))
}

fn local(t: &DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A cell from the recording (a user, a pod, a command line): control characters escaped,
/// and one that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) quoted with `'`.
fn csv_text(text: &str) -> String {
    let text = sanitize(text);
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.into_owned()
    }
}

/// `--csv`: a row per owner, or with `--by gpu` per GPU; `N/A` where there is no value.
fn csv(r: &summary::Report) -> String {
    let na = |v: Option<String>| v.unwrap_or_else(|| "N/A".into());
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    if r.by == ReportBy::Gpu {
        let _ = w.write_record([
            "gpu",
            "uuid",
            "name",
            "samples",
            "busy_share",
            "mean_utilization_percent",
            "p95_utilization_percent",
            "peak_memory_bytes",
            "energy_kwh",
            "throttled_seconds",
            "lost_seconds",
            // Added last, so a reader by position keeps working.
            "vendor",
        ]);
        for g in &r.gpus {
            let _ = w.write_record([
                g.index.to_string(),
                na(g.uuid.as_deref().map(csv_text)),
                na(g.name.as_deref().map(csv_text)),
                g.samples.to_string(),
                na(g.busy_share.map(|v| format!("{v:.4}"))),
                na(g.mean_utilization_percent.map(|v| format!("{v:.2}"))),
                na(g.p95_utilization_percent.map(|v| v.to_string())),
                na(g.peak_memory_bytes.map(|v| v.to_string())),
                na(g.energy_kwh.map(|v| format!("{v:.6}"))),
                na(g.throttled_seconds.map(|v| v.to_string())),
                g.lost_seconds.to_string(),
                g.vendor.key().to_string(),
            ]);
        }
    } else {
        let by = format!("{:?}", r.by).to_lowercase();
        let _ = w.write_record([
            by.as_str(),
            "gpu_hours_held",
            "gpu_hours_busy",
            "energy_kwh",
            "peak_memory_bytes",
            "processes",
        ]);
        for o in &r.owners {
            let _ = w.write_record([
                csv_text(&o.owner),
                format!("{:.6}", o.gpu_hours_held),
                format!("{:.6}", o.gpu_hours_busy),
                na(o.energy_kwh.map(|v| format!("{v:.6}"))),
                na(o.peak_memory_bytes.map(|v| v.to_string())),
                o.processes.to_string(),
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn text(r: &summary::Report) -> Vec<String> {
    let local =
        |t: &chrono::DateTime<chrono::Utc>| t.with_timezone(&Local).format("%Y-%m-%d %H:%M");
    let pct = |v: Option<f64>| v.map_or("N/A".into(), |v| format!("{v:.0}%"));
    let bytes = |v: Option<u64>| v.map_or("N/A".into(), human_bytes);
    let secs = |s: f64| duration(s.round() as u64);
    let mut lines = vec![
        format!(
            "gputop report: {} to {} ({} s samples, {} recorded)",
            local(&r.since),
            local(&r.until),
            r.interval_seconds,
            secs(r.recorded_seconds)
        ),
        String::new(),
        format!(
            "{:>3}  {:<6}  {:<24}  {:>5}  {:>5}  {:>4}  {:>9}  {:>10}  {:>9}  {:>7}",
            "GPU",
            "VENDOR",
            "NAME",
            "BUSY",
            "MEAN",
            "P95",
            "PEAK MEM",
            "ENERGY",
            "THROTTLED",
            "LOST"
        ),
    ];
    if r.gpus.is_empty() {
        lines.push("No samples in this window.".into());
    }
    for g in &r.gpus {
        let name = sanitize(g.name.as_deref().unwrap_or("N/A")).into_owned();
        lines.push(format!(
            "{:>3}  {:<6}  {}  {:>5}  {:>5}  {:>4}  {:>9}  {:>10}  {:>9}  {:>7}",
            g.index,
            g.vendor.label(),
            pad(&truncate(&name, 24, false), 24, true),
            pct(g.busy_share.map(|b| b * 100.0)),
            pct(g.mean_utilization_percent),
            g.p95_utilization_percent.map_or("N/A".into(), |p| format!("{p}%")),
            bytes(g.peak_memory_bytes),
            energy(g.energy_kwh),
            g.throttled_seconds.map_or("N/A".into(), secs),
            secs(g.lost_seconds),
        ));
    }
    lines.push(String::new());
    let by = format!("{:?}", r.by).to_uppercase();
    if r.by == ReportBy::Gpu {
        // The GPUs above are the report.
    } else if r.owners.is_empty() {
        lines.push("No process held a GPU in this window.".into());
    } else {
        lines.push(format!(
            "{:<28}  {:>14}  {:>14}  {:>10}  {:>9}  {:>9}",
            by, "GPU-HOURS HELD", "GPU-HOURS BUSY", "ENERGY", "PEAK MEM", "PROCESSES"
        ));
    }
    for u in &r.owners {
        // Processes outside any container, pod or job are summed as "-".
        let owner = sanitize(if u.owner.is_empty() { "-" } else { &u.owner }).into_owned();
        lines.push(format!(
            "{}  {:>14.2}  {:>14.2}  {:>10}  {:>9}  {:>9}",
            pad(&truncate(&owner, 28, false), 28, true),
            u.gpu_hours_held,
            u.gpu_hours_busy,
            energy(u.energy_kwh),
            bytes(u.peak_memory_bytes),
            u.processes
        ));
    }
    lines.push(String::new());
    if r.events.is_empty() {
        lines.push("No XIDs, lost GPUs or clock slowdowns.".into());
    } else {
        lines.push("Events, newest first:".into());
        for e in &r.events {
            let what = e.describe();
            let when = e.at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S");
            lines.push(format!("  {when}  GPU {}  {}", e.gpu, sanitize(&what)));
        }
    }
    if !r.gaps.is_empty() {
        let list: Vec<String> =
            r.gaps.iter().map(|g| format!("{} for {}", local(&g.from), secs(g.seconds))).collect();
        lines.push(String::new());
        lines.push(format!("Not recorded (longest first): {}", list.join(", ")));
    }
    lines.push(String::new());
    if r.idle_while_held.is_empty() {
        lines.push("No process held a GPU while it sat idle.".into());
        return lines;
    }
    lines.push("Held while idle (GPU under 5 %), longest first:".into());
    lines.push(format!(
        "{:>3}  {:<12}  {:>8}  {:<16}  {:>8}  {:>9}  COMMAND",
        "GPU", "USER", "PID", "FROM", "FOR", "PEAK MEM"
    ));
    for s in &r.idle_while_held {
        let user = sanitize(s.user.as_deref().unwrap_or("N/A")).into_owned();
        let command = sanitize(s.command.as_deref().unwrap_or("N/A")).into_owned();
        lines.push(format!(
            "{:>3}  {}  {:>8}  {:<16}  {:>8}  {:>9}  {}",
            s.gpu,
            pad(&truncate(&user, 12, false), 12, true),
            s.pid,
            local(&s.from),
            secs(s.seconds),
            bytes(s.peak_memory_bytes),
            truncate(&command, 24, false),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sample::{GpuSample, HostInfo, Origin, Snapshot, Vendor, SCHEMA_VERSION};

    /// A report of a host with an NVIDIA GPU and an AMD one, by GPU.
    fn report(dir: &std::path::Path) -> summary::Report {
        let path = dir.join("r.db");
        let mut writer =
            record::Writer::new(record::create(&path).unwrap(), Duration::from_secs(1)).unwrap();
        for second in 0..3 {
            let mut nvidia = GpuSample::empty(0);
            nvidia.uuid = Some("GPU-0".into());
            nvidia.name = Some("NVIDIA H100 80GB HBM3".into());
            let mut amd = GpuSample::empty(1);
            amd.vendor = Vendor::Amd;
            amd.name = Some("AMD Instinct MI300X".into());
            amd.pci_bus_id = Some("0000:03:00.0".into());
            amd.utilization.gpu_percent = Some(80);
            writer
                .write(&Snapshot {
                    schema_version: SCHEMA_VERSION,
                    taken_at: chrono::DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap(),
                    host: HostInfo { hostname: Some("h".into()), ..HostInfo::default() },
                    gpus: vec![nvidia, amd],
                    hosts: Vec::new(),
                    origin: Origin::Live,
                    warnings: Vec::new(),
                })
                .unwrap();
        }
        writer.finish().unwrap();
        let conn = record::open(&path).unwrap();
        let at = |s| chrono::DateTime::from_timestamp(s, 0).unwrap();
        summary::build(
            &conn,
            at(1_800_000_000),
            at(1_800_000_003),
            ReportBy::Gpu,
            Duration::from_secs(60),
            Some(10),
        )
        .unwrap()
    }

    #[test]
    fn each_gpu_of_a_report_says_who_made_it() {
        let dir = tempfile::tempdir().unwrap();
        let r = report(dir.path());
        let lines = text(&r);
        assert!(lines[2].starts_with("GPU  VENDOR  NAME"), "{lines:#?}");
        assert!(lines[3].starts_with("  0  NVIDIA  NVIDIA H100"), "{lines:#?}");
        assert!(lines[4].starts_with("  1  AMD     AMD Instinct MI300X"), "{lines:#?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 100), "{lines:#?}");
        let csv = csv(&r);
        assert!(csv.lines().next().unwrap().ends_with(",lost_seconds,vendor"), "{csv}");
        assert!(csv.lines().nth(2).unwrap().ends_with(",amd"), "{csv}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["gpus"][1]["vendor"], "amd", "{json}");
        let page = record::html::render(&r);
        assert!(page.contains("<td>AMD Instinct MI300X</td><td class=\"text\">AMD</td>"), "{page}");
    }
}
