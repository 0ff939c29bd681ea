//! The interactive monitor: whole screens through the real draw path on ratatui's
//! `TestBackend` (insta snapshots at several sizes and fleet sizes, with a lost GPU and
//! unsupported metrics), a layout property test, and an end-to-end run in a real terminal.

mod common;

use std::sync::Arc;
use std::time::Duration;

use gputop::testing::scenario::Scenario;
use gputop::testing::SimSource;
use gputop::testing::{areas, GpuLayout};
use gputop::testing::{render, App};
use gputop::testing::{Theme, ThemeName};
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;

/// The demo fleet of `n`, with GPU 1 lost and GPU 2 reporting almost nothing.
fn fleet(n: usize) -> Scenario {
    let mut s = Scenario::demo(n);
    if n > 1 {
        s.gpus[1].lost = true;
    }
    if n > 2 {
        let bare = &mut s.gpus[2];
        bare.fan_pct = None;
        bare.power_w = None;
        bare.clock_sm_mhz = None;
        bare.encoder_pct = None;
        bare.pcie_tx_kbps = None;
        bare.temperature_c = None;
    }
    s
}

/// An app that has seen 30 samples, one a second, at a fixed time.
fn app_with(n: usize) -> App {
    let sim = SimSource::new(fleet(n), &[]).unwrap();
    let mut app = App::new(Duration::from_secs(1), Duration::from_secs(600), false);
    for t in 0..30 {
        app.on_snapshot(Arc::new(sim.sample_at(1_700_000_000.0 + f64::from(t))));
    }
    app.now = app.snapshot.as_ref().unwrap().taken_at;
    app.host_cpu = Some(12.5);
    app.host_memory = Some((3 << 30, 16 << 30));
    app
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    render(&mut terminal, app, &Theme::new(ThemeName::Dark, false)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    // Local time depends on the machine's time zone.
    settings.add_filter(r"\d\d:\d\d:\d\d", "[time]");
    // ... and where a narrow screen cuts the clock short.
    settings.add_filter(r"(?m)(CUDA \S+ \S )\d[\d:]*$", "${1}[time]");
    settings
}

#[test]
fn screens_at_every_size() {
    for gpus in [1, 4, 8, 64] {
        let app = app_with(gpus);
        for (w, h) in [(80, 24), (120, 40), (200, 60), (40, 10)] {
            let text = screen(&app, w, h);
            snapshot_settings()
                .bind(|| insta::assert_snapshot!(format!("screen_{gpus}gpus_{w}x{h}"), text));
        }
    }
}

/// The monitor's own output path: the bytes the screen writer sends, played back in a
/// terminal emulator, show what the snapshot of the same screen on `TestBackend` shows, over
/// successive frames (so the writer's diffing is in play).
#[test]
fn the_screen_writer_shows_the_snapshotted_screen() {
    use gputop::testing::Screen;
    let sim = SimSource::new(fleet(4), &[]).unwrap();
    let theme = Theme::new(ThemeName::Dark, false);
    let (w, h) = (120, 40);
    let mut app = App::new(Duration::from_secs(1), Duration::from_secs(600), false);
    let mut writer = Screen::new(Vec::new(), w, h);
    for t in 0..30 {
        app.on_snapshot(Arc::new(sim.sample_at(1_700_000_000.0 + f64::from(t))));
        app.now = app.snapshot.as_ref().unwrap().taken_at;
        app.host_cpu = Some(12.5);
        app.host_memory = Some((3 << 30, 16 << 30));
        writer.draw(|frame| gputop::testing::draw(frame, &app, &theme)).unwrap();
    }
    let nz = |n: u16| std::num::NonZero::new(n).unwrap();
    let mut terminal = vt100::Parser::new(nz(h), nz(w), 0);
    terminal.process(writer.writer());
    let shown: Vec<String> = terminal
        .screen()
        .rows(0, w)
        .map(|r| format!("{r:<width$}", width = usize::from(w)))
        .collect();
    let shown = shown.join("\n") + "\n";
    assert_eq!(shown, screen(&app, w, h));
    snapshot_settings().bind(|| insta::assert_snapshot!("screen_4gpus_120x40", shown));
}

#[test]
fn a_lost_gpu_is_shown_as_lost_and_unsupported_as_na() {
    let text = screen(&app_with(4), 120, 40);
    assert!(text.contains("LOST: the GPU fell off the bus"), "{text}");
    let bare = text.lines().find(|l| l.contains(" 2 NVIDIA GeForce RTX 4090")).unwrap();
    assert!(bare.contains("N/A"), "{bare}");
}

#[test]
fn too_small_terminal_shows_a_message() {
    let text = screen(&app_with(4), 39, 9);
    assert!(text.starts_with("Terminal too small: 39×9"), "{text}");
}

#[test]
fn layout_stays_inside_the_screen_for_any_fleet_and_size() {
    let sizes = [1u16, 9, 10, 11, 24, 40, 60, 100];
    let widths = [1u16, 39, 40, 41, 80, 120, 160, 200, 300];
    for gpus in [0usize, 1, 2, 3, 5, 8, 9, 16, 33, 64] {
        let mut app = app_with(gpus.max(1));
        if gpus == 0 {
            app.on_snapshot(Arc::new(
                SimSource::new(Scenario::demo(0), &[]).unwrap().sample_at(0.0),
            ));
        }
        for (show_gpus, show_processes) in [(true, true), (false, true), (true, false)] {
            app.show_gpus = show_gpus;
            app.show_processes = show_processes;
            for &w in &widths {
                for &h in &sizes {
                    let full = Rect::new(0, 0, w, h);
                    // Draws without panicking, whatever the size.
                    screen(&app, w, h);
                    let Some(a) = areas(&app, full) else { continue };
                    let parts: Vec<Rect> =
                        [Some(a.header), a.gpus.map(|g| g.1), a.processes, Some(a.footer)]
                            .into_iter()
                            .flatten()
                            .collect();
                    for (i, p) in parts.iter().enumerate() {
                        assert!(
                            full.contains(p.as_position()) || p.area() == 0,
                            "{gpus} GPUs {w}x{h}: {p:?} outside"
                        );
                        assert!(
                            p.right() <= full.right() && p.bottom() <= full.bottom(),
                            "{gpus} GPUs {w}x{h}: {p:?}"
                        );
                        for q in &parts[i + 1..] {
                            assert!(!p.intersects(*q), "{gpus} GPUs {w}x{h}: {p:?} overlaps {q:?}");
                        }
                    }
                    if let Some((GpuLayout::Panels { columns }, g)) = a.gpus {
                        let rows = (gpus.max(1) as u16).div_ceil(columns);
                        assert!(rows * 5 <= g.height, "{gpus} GPUs {w}x{h}");
                    }
                }
            }
        }
    }
}

#[test]
fn many_gpus_switch_to_the_compact_view() {
    let app = app_with(64);
    let a = areas(&app, Rect::new(0, 0, 200, 60)).unwrap();
    assert_eq!(a.gpus.unwrap().0, GpuLayout::Compact);
    let a = areas(&app_with(4), Rect::new(0, 0, 120, 40)).unwrap();
    assert_eq!(a.gpus.unwrap().0, GpuLayout::Panels { columns: 1 });
    let a = areas(&app_with(1), Rect::new(0, 0, 120, 40)).unwrap();
    assert_eq!(a.gpus.unwrap().0, GpuLayout::Big);
}

#[test]
fn ascii_and_mono_draw_no_unicode_and_no_colour() {
    let app = app_with(4);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    render(&mut terminal, &app, &Theme::new(ThemeName::Mono, true)).unwrap();
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(cell.symbol().is_ascii(), "non-ASCII {:?}", cell.symbol());
        assert_eq!(cell.fg, ratatui::style::Color::Reset);
    }
}

#[test]
fn process_names_are_sanitized_on_screen() {
    let mut scenario = Scenario::demo(1);
    scenario.gpus[0].processes[0].command = Some("evil\x1b]0;pwned\x07\x1b[2J".into());
    let sim = SimSource::new(scenario, &[]).unwrap();
    let mut app = App::new(Duration::from_secs(1), Duration::from_secs(60), false);
    app.on_snapshot(Arc::new(sim.sample_at(1_000.0)));
    let text = screen(&app, 200, 40);
    assert!(text.contains("evil\\x1b]0;pwned\\x07\\x1b[2J"), "{text}");
    assert!(!text.contains('\x1b'));
}

mod terminal {
    use super::common::tmux::Tmux;
    use super::common::*;

    #[test]
    fn keys_work_in_a_real_terminal_and_the_screen_is_restored() {
        let job = Sleeper::spawn();
        let scenario = scenario_file(&format!(
            "[[gpus]]\nname = \"Monitored GPU\"\nmemory_total_mib = 8192\nutilization_gpu = 40\ntemperature_c = 50\n\
             pcie_tx_kbps = 2048\npcie_rx_kbps = 4096\n\
             [[gpus.processes]]\npid = {}\nused_memory_mib = 1000\nsm_util = 30\n\
             [[gpus.processes]]\npid = 2147480000\nused_memory_mib = 500\n",
            job.pid()
        ));
        let command = format!(
            "echo BEFORE; env GPUTOP_NVML_LIB='{}' GPUTOP_FAKE_NVML_SCENARIO='{}' LC_ALL=C.UTF-8 XDG_CONFIG_HOME=/nonexistent '{}' --interval 0.2; echo EXITED $?; sleep 30",
            fake_nvml().display(),
            scenario.path().display(),
            assert_cmd::cargo::cargo_bin("gputop").display()
        );
        let Some(tmux) = Tmux::start(&command, 120, 40) else { return };
        let s = tmux.wait_for("Monitored GPU");
        assert!(s.contains("GPU-MEM▼"), "sorted by GPU memory at first:\n{s}");
        // The real NVML path samples PCIe for the monitor (the JSON output is not the only one).
        let s = tmux.wait_for("PCIe");
        assert!(s.contains("PCIe ↑2MiB/s ↓4MiB/s"), "{s}");

        tmux.keys(&["s"]);
        tmux.wait_for("SM%▼");
        tmux.keys(&["/", "s", "l", "e", "e", "p", "Enter"]);
        let s = tmux.wait_for("Processes (1)");
        assert!(s.contains("sleep 600") && !s.contains("2147480000"), "{s}");
        tmux.keys(&["?"]);
        tmux.wait_for("Keys");
        tmux.keys(&["x"]);
        // Who holds the GPUs: this user holds the GPU the sleeper is on.
        tmux.keys(&["u"]);
        let s = tmux.wait_for("Who holds the GPUs");
        assert!(s.contains("USER") && s.contains("1: sleep 600"), "{s}");
        tmux.keys(&["u"]);
        tmux.wait_for("u: by pod");
        tmux.keys(&["x"]);
        tmux.keys(&["q"]);
        let s = tmux.wait_for("EXITED 0");
        // The alternate screen is gone: what was there before is back.
        assert!(s.contains("BEFORE") && !s.contains("Monitored GPU"), "{s}");
        let cursor = tmux.cmd(&["display", "-p", "#{cursor_flag}"]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&cursor.stdout).trim(), "1", "cursor visible again");
    }

    #[test]
    fn sigterm_restores_the_terminal_and_the_config_picks_columns() {
        let dir = temp_dir();
        let pidfile = dir.path().join("pid");
        // The config file picks the process table's columns.
        std::fs::create_dir(dir.path().join("gputop")).unwrap();
        std::fs::write(dir.path().join("gputop/config.toml"), "columns = [\"pid\", \"cpu\"]\n")
            .unwrap();
        // gputop runs in the foreground (it needs the terminal as stdin); a helper signals it.
        let command = format!(
            "echo BEFORE; (sleep 3; kill -TERM $(cat '{pid}')) & sh -c 'echo $$ > {pid}; XDG_CONFIG_HOME={config} exec {bin} --demo 2'; echo EXITED $?; sleep 30",
            pid = pidfile.display(),
            config = dir.path().display(),
            bin = assert_cmd::cargo::cargo_bin("gputop").display()
        );
        let Some(tmux) = Tmux::start(&command, 100, 30) else { return };
        let s = tmux.wait_for("COMMAND");
        let header = s.lines().find(|l| l.contains("COMMAND")).unwrap();
        assert!(
            header.contains("PID") && header.contains("CPU%") && !header.contains("USER"),
            "{s}"
        );
        let s = tmux.wait_for("EXITED");
        assert!(s.contains("BEFORE") && !s.contains("NVIDIA H100"), "{s}");
    }
}

#[test]
fn many_hosts_show_host_names_and_the_hosts_that_are_down() {
    use gputop::testing::RemoteHost;
    let sim = SimSource::new(Scenario::demo(2), &[]).unwrap();
    let mut snapshot = sim.sample_at(1_000.0);
    for g in &mut snapshot.gpus {
        g.host = Some("gpu-a".into());
    }
    snapshot.hosts = vec![
        RemoteHost {
            latency_ms: Some(2),
            cpu_percent: Some(37.0),
            memory_used_bytes: Some(3 << 30),
            memory_total_bytes: Some(64 << 30),
            ..RemoteHost::up("http://gpu-a:9835/api/v1/snapshot", "gpu-a")
        },
        RemoteHost::down("http://gpu-b:9835/api/v1/snapshot", None, Some("timeout".into())),
    ];
    let mut app = App::new(Duration::from_secs(1), Duration::from_secs(60), false);
    // This machine's own usage must not be shown as if it were a remote host's.
    app.host_cpu = Some(99.0);
    app.on_snapshot(Arc::new(snapshot));
    app.now = app.snapshot.as_ref().unwrap().taken_at;
    let text = screen(&app, 200, 40);
    assert!(text.contains("DOWN http://gpu-b:9835/api/v1/snapshot (timeout)"), "{text}");
    assert!(text.contains("gpu-a CPU 37% MEM 3.0GiB/64.0GiB"), "{text}");
    assert!(!text.contains("CPU 99%"), "{text}");
    // A row per host over its GPUs' rows.
    assert!(text.contains("▾ gpu-a  2 GPUs  util 80%  mem 14.5GiB/120GiB  hottest 70°C"), "{text}");
    assert!(text.contains("│gpu-a:0 NVIDIA H100"), "{text}");
    assert!(text.contains("DOWN: timeout"), "{text}");
    // A process row names its GPU by host, too.
    let vllm = text.lines().find(|l| l.contains("vllm serve")).unwrap();
    assert!(vllm.contains("gpu-a:1 "), "{vllm}");
}

/// q, Ctrl-C, SIGTERM and SIGHUP end the monitor and the watch view at once (measured in
/// `scripts/bench-quit.sh`: about 10 ms), with the terminal restored.
#[test]
fn every_mode_quits_at_once() {
    let bin = assert_cmd::cargo::cargo_bin("gputop");
    for (mode, how) in [
        ("", "q"),
        ("", "C-c"),
        ("", "TERM"),
        ("", "HUP"),
        ("--watch 5", "C-c"),
        ("--watch 5", "TERM"),
        ("--watch 5", "HUP"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!(
            "sh -c 'echo $$ > {}; exec env LC_ALL=C.UTF-8 {} --demo 2 --interval 5 {mode}'; echo EXITED; sleep 5",
            pid_file.display(),
            bin.display()
        );
        let Some(tmux) = common::tmux::Tmux::start(&command, 120, 40) else { return };
        tmux.wait_for("H100");
        let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
        let started = std::time::Instant::now();
        match how {
            "q" | "C-c" => tmux.keys(&[how]),
            signal => {
                std::process::Command::new("kill")
                    .args([&format!("-{signal}"), &pid])
                    .status()
                    .unwrap();
            }
        }
        let screen = tmux.wait_for("EXITED");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "{mode} {how}: {took:?}");
        assert!(!screen.contains("H100") || !mode.is_empty(), "the alternate screen is left");
    }
}

/// Wide user names and command lines keep every column and border in place, and a GPU index
/// above 99 is shown whole.
#[test]
fn wide_text_and_large_indexes_keep_the_table_in_place() {
    use unicode_width::UnicodeWidthStr;
    let sim = SimSource::new(Scenario::demo(1), &[]).unwrap();
    let mut snapshot = sim.sample_at(1_700_000_000.0);
    snapshot.gpus[0].index = 1023;
    let p = &mut snapshot.gpus[0].processes.as_mut().unwrap()[0];
    p.user = Some("数据科学家用户".into());
    p.command = Some("python 训练.py --数据 /数据集/图像/".repeat(4));
    let mut app = App::new(Duration::from_secs(1), Duration::from_secs(60), false);
    app.on_snapshot(Arc::new(snapshot));
    app.now = app.snapshot.as_ref().unwrap().taken_at;
    for width in [80u16, 120] {
        // As a terminal shows it: a wide character covers the cell after it.
        let mut terminal = Terminal::new(TestBackend::new(width, 30)).unwrap();
        render(&mut terminal, &app, &Theme::new(ThemeName::Dark, false)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..30 {
            let mut x = 0;
            while x < width {
                let symbol = buffer[(x, y)].symbol();
                text.push_str(symbol);
                x += symbol.width().max(1) as u16;
            }
            text.push('\n');
        }
        for line in text.lines() {
            assert_eq!(line.width(), usize::from(width), "{line:?}");
        }
        let row = text.lines().find(|l| l.contains("数据科")).unwrap();
        assert!(row.ends_with('│'), "the border stays: {row:?}");
        assert!(row.contains("1023 "), "{row:?}");
    }
}

/// An XID heard while the monitor runs: a banner with what it means and what to do, a mark on
/// its GPU, and `e` lists the events (the fake library raises them on schedule, as the driver
/// would through the event set). GPM activity shows in the GPU's panel with its hint, and a
/// MIG GPU's panel lists its MIG devices.
#[test]
fn an_xid_raises_a_banner_and_marks_its_gpu() {
    let job = common::Sleeper::spawn();
    let scenario = common::scenario_file(&format!(
        "[[gpus]]\nname = \"Alpha\"\nutilization_gpu = 20\n\
         events = [{{ at_s = 1.0, xid = 13 }}, {{ at_s = 1.5, xid = 79 }}]\n\
         gpm = {{ sm_active = 90, tensor_active = 3, dram_active = 85 }}\n\
         [[gpus]]\nname = \"Beta\"\nmig_enabled = true\n\
         mig_instances = [{{ profile = \"3g.40gb\", gpu_instance_id = 1, memory_total_mib = 40192, memory_used_mib = 500 }}]\n\
         [[gpus.processes]]\npid = {}\nused_memory_mib = 100\ngpu_instance_id = 1\ncompute_instance_id = 0\n",
        job.pid()
    ));
    let command = format!(
        "env LC_ALL=C.UTF-8 GPUTOP_NVML_LIB={} GPUTOP_FAKE_NVML_SCENARIO={} {} --interval 0.2",
        common::fake_nvml().display(),
        scenario.path().display(),
        assert_cmd::cargo::cargo_bin("gputop").display()
    );
    let Some(tmux) = common::tmux::Tmux::start(&command, 120, 30) else { return };
    let screen = tmux.wait_for("XID 79 on GPU 0: GPU has fallen off the bus");
    assert!(screen.contains("Alpha  ⚠ XID 79 "), "the GPU is marked:\n{screen}");
    assert!(!screen.contains("XID 13,"), "an application's fault is no mark:\n{screen}");
    assert!(
        screen.contains("SM act 90% tensor 3% DRAM 85% memory-bound"),
        "GPM activity with its hint beside the utilization:\n{screen}"
    );
    assert!(screen.contains("MIG 3g.40gb 600/40192 MiB"), "the MIG devices:\n{screen}");
    assert!(
        screen.lines().any(|l| l.contains(&format!("1/1 {:>8}", job.pid()))),
        "the process shows its GPU instance:\n{screen}"
    );
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("Events");
    assert!(screen.contains("XID 13: graphics engine exception"), "{screen}");
    assert!(screen.contains("→ check power and seating; reset the GPU or reboot"), "{screen}");
    assert!(screen.contains("GPU 1: none since "), "{screen}");
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for(" q quit");
    assert!(!screen.contains("XID 79 on GPU 0"), "the banner is gone once seen:\n{screen}");
    tmux.keys(&["q"]);
}

/// A driver call that never returns: the monitor keeps its last data, says how stale it is,
/// and still quits at once on q.
#[test]
fn a_stuck_driver_call_shows_stale_and_q_still_quits() {
    let scenario = common::scenario_file(
        "[[gpus]]\nname = \"Alpha\"\nutilization_gpu = 20\nhangs_between_s = [1.0]\n",
    );
    let command = format!(
        "env LC_ALL=C.UTF-8 GPUTOP_NVML_LIB={} GPUTOP_FAKE_NVML_SCENARIO={} {} --interval 0.2; echo EXITED $?; sleep 30",
        common::fake_nvml().display(),
        scenario.path().display(),
        assert_cmd::cargo::cargo_bin("gputop").display()
    );
    let Some(tmux) = common::tmux::Tmux::start(&command, 200, 30) else { return };
    let screen = tmux.wait_for("NVML is not answering");
    assert!(screen.contains("Alpha"), "the last data stays:\n{screen}");
    let started = std::time::Instant::now();
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("EXITED 0");
    // The fault guarded against is waiting for ever on the stuck call.
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{screen}");
}

/// `e` says why each GPU's events are not listened to, in the source's words: the demo's GPUs
/// are simulated; a GPU whose driver refuses the event registration gives NVML's reason.
#[test]
fn the_events_view_says_why_a_gpu_is_not_listened_to() {
    let bin = assert_cmd::cargo::cargo_bin("gputop");
    let demo = format!("env LC_ALL=C.UTF-8 {} --demo 2 --interval 0.2", bin.display());
    let Some(tmux) = common::tmux::Tmux::start(&demo, 120, 30) else { return };
    tmux.wait_for(" q quit");
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("Events");
    assert!(screen.contains("GPU 0: not listened to (simulated)"), "{screen}");
    assert!(screen.contains("GPU 1: not listened to (simulated)"), "{screen}");
    tmux.keys(&["Escape", "q"]);

    let scenario = common::scenario_file(
        "[[gpus]]\nname = \"Refused\"\nerrors = { events = \"NO_PERMISSION\" }\n\
         [[gpus]]\nname = \"Heard\"\n",
    );
    let nvml = format!(
        "env LC_ALL=C.UTF-8 GPUTOP_NVML_LIB={} GPUTOP_FAKE_NVML_SCENARIO={} {} --interval 0.2",
        common::fake_nvml().display(),
        scenario.path().display(),
        bin.display()
    );
    let Some(tmux) = common::tmux::Tmux::start(&nvml, 120, 30) else { return };
    tmux.wait_for(" q quit");
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("Events");
    assert!(screen.contains("GPU 0: not listened to (no permission)"), "{screen}");
    assert!(screen.contains("GPU 1: none since "), "{screen}");
    tmux.keys(&["Escape", "q"]);
}

/// `u`'s title names the grouping it shows, and on the demo each grouping has holders: the
/// demo's processes run in containers, a Kubernetes pod and Slurm jobs.
#[test]
fn who_holds_the_gpus_names_its_grouping_and_the_demo_fills_each() {
    let command = format!(
        "env LC_ALL=C.UTF-8 {} --demo --interval 0.2",
        assert_cmd::cargo::cargo_bin("gputop").display()
    );
    let Some(tmux) = common::tmux::Tmux::start(&command, 140, 40) else { return };
    tmux.wait_for(" q quit");
    for (title, holder) in [
        ("Who holds the GPUs, by user · u: by container", "alice"),
        ("Who holds the GPUs, by container · u: by pod", "containerd:5f3e8c1a2b9d"),
        ("Who holds the GPUs, by pod · u: by job", "inference/vllm-7d9f8b-x2k4p"),
        ("Who holds the GPUs, by job · u: by user", "4242"),
    ] {
        tmux.keys(&["u"]);
        let screen = tmux.wait_for(title);
        assert!(screen.contains(holder), "{title}: no {holder}:\n{screen}");
    }
    tmux.keys(&["x", "q"]);
}
