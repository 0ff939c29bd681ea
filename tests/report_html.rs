//! `gputop report --html`, opened in a real browser: recordings of 20 seconds, 3 minutes and a
//! day (made under libfaketime's fast clock) are charted over their own span, each GPU as a
//! line that headless Chromium draws with a length, not a path of moves alone.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Two GPUs, steadily 40 % and 70 % busy.
const SCENARIO: &str = "[[gpus]]\nname = \"A\"\nmemory_total_mib = 1000\nmemory_used_mib = 400\n\
    utilization_gpu = 40\n[[gpus]]\nname = \"B\"\nmemory_total_mib = 1000\nmemory_used_mib = 700\n\
    utilization_gpu = 70\n";

/// Records `seconds` of scenario time from 2026-11-20 10:00:00 UTC, sampling every `interval`
/// s, with the clock running `speed` times faster than the real one.
fn record(dir: &Path, name: &str, seconds: i64, interval: u32, speed: u32) -> PathBuf {
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let db = dir.join(format!("{name}.db"));
    let recorder = Command::new("faketime")
        .args(["-f", &format!("@2026-11-20 10:00:00 x{speed}")])
        .arg(assert_cmd::cargo::cargo_bin("gputop"))
        .args(["--interval", &interval.to_string(), "record", "--out"])
        .arg(&db)
        .env("TZ", "UTC")
        .env("GPUTOP_NVML_LIB", fake_nvml())
        .env("GPUTOP_FAKE_NVML_SCENARIO", &scenario)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Stopped however the test ends: faketime's child is the recorder, and SIGTERM ends it
    // cleanly, then faketime.
    let mut recorder = StopOnDrop(recorder);
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").unwrap();
    let end = start.timestamp_millis() + seconds * 1000;
    let started = Instant::now();
    loop {
        let newest = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT MAX(taken_at) FROM ticks", [], |r| r.get(0)))
            .unwrap_or(None::<i64>);
        if newest.is_some_and(|t| t >= end) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{name}: never reached its end");
        std::thread::sleep(Duration::from_millis(100));
    }
    recorder.stop();
    db
}

struct StopOnDrop(std::process::Child);

impl StopOnDrop {
    fn stop(&mut self) {
        let pid = self.0.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let _ = Command::new("kill").args(["-TERM", child]).status();
        }
        let _ = self.0.wait();
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What Chromium drew in the utilization chart, per GPU in legend order: the total length
/// of its lines (px) and its dots.
fn drawn(page: &Path) -> Vec<(f64, u64)> {
    let html = std::fs::read_to_string(page).unwrap();
    // Measured by the browser's own layout, into an attribute --dump-dom prints.
    let probe = "<script>\
        const chart = document.querySelector('svg[role=img]');\
        const colours = [...new Set([...chart.querySelectorAll('path,circle')]\
          .map(e => e.getAttribute('stroke') || e.getAttribute('fill')))];\
        document.body.setAttribute('data-drawn', JSON.stringify(colours.map(c => [\
          [...chart.querySelectorAll(`path[stroke='${c}']`)].reduce((n, p) => n + p.getTotalLength(), 0),\
          chart.querySelectorAll(`circle[fill='${c}']`).length])));\
        </script></body>";
    let probed = page.with_extension("probe.html");
    std::fs::write(&probed, html.replace("</body>", probe)).unwrap();
    // Bounded: a browser that hangs fails the test instead of holding CI.
    let out = Command::new("timeout")
        .args(["60", chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", probed.display()))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("data-drawn=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the probe did not run:\n{dom}"))
        .replace("&quot;", "\"");
    serde_json::from_str(&json).unwrap()
}

fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .unwrap_or("chromium")
}

#[test]
fn every_gpu_is_drawn_as_a_line_over_the_recordings_own_span() {
    if !have("faketime", &["--version"], "apt-get install faketime")
        || !have(chromium(), &["--version"], "apt-get install chromium")
    {
        return;
    }
    let dir = temp_dir();
    // (name, scenario seconds, sampling interval, clock speed)
    let recordings =
        [("twenty-seconds", 20, 1, 20), ("three-minutes", 180, 2, 60), ("a-day", 86_400, 60, 3600)];
    let made: Vec<PathBuf> = std::thread::scope(|s| {
        let handles: Vec<_> = recordings
            .iter()
            .map(|&(name, seconds, interval, speed)| {
                let dir = dir.path();
                s.spawn(move || record(dir, name, seconds, interval, speed))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let scenario = scenario_file(SCENARIO);
    for ((name, ..), db) in recordings.iter().zip(&made) {
        let page = dir.path().join(format!("{name}.html"));
        let out =
            gputop(&scenario).arg("report").arg(db).arg("--html").arg(&page).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let html = std::fs::read_to_string(&page).unwrap();
        // The window is the recording's own span, not the day before now.
        assert!(html.contains("<h1>gputop report: 2026-11-"), "{name}: {html}");
        let lines = drawn(&page);
        assert_eq!(lines.len(), 2, "{name}: a line per GPU: {lines:?}");
        for (gpu, (length, _dots)) in lines.iter().enumerate() {
            // The plot is 850 px wide: the GPU's line runs across most of it.
            assert!(*length > 600.0, "{name}: GPU {gpu} drawn {length:.0} px long: {lines:?}");
        }
    }
}
