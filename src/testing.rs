//! What the integration tests and benches reach inside the crate. Not a library surface: it
//! changes with the code.

pub use crate::output::{json, style::Painter, table};
pub use crate::sample::RemoteHost;
pub use crate::source::fdscan::{scan_drm_fds, scan_fds};
pub use crate::source::placement::{add_environ, from_cgroup};
pub use crate::source::{DemoFleet, DetailLevel, SampleOptions, SimSource, SourceSpec};
pub use crate::term::screen::Screen;
pub use crate::tui::theme::{Theme, ThemeName};
pub use crate::tui::ui::{areas, draw, GpuLayout};
pub use crate::tui::{render, App};
pub use gputop_scenario as scenario;

/// `gputop doctor` on a machine of the test's making.
pub mod doctor {
    pub use crate::doctor::{diagnose, render_json, render_text, DoctorOptions, System};
}

/// `gputop health`'s judgement, with the kernel log of the test's making.
pub mod health {
    pub use crate::health::line;
    pub use crate::health::run::{report, Report};
}

/// Recordings made without a GPU or a clock, for the report's benchmark.
pub mod recording {
    use std::path::Path;
    use std::time::Duration;

    use chrono::{DateTime, Timelike, Utc};

    use crate::record::{create, Writer};
    use crate::sample::{
        GpuProcess, GpuSample, HostInfo, ProcessKind, Snapshot, Throttle, SCHEMA_VERSION,
    };

    /// Writes `samples` samples of `gpus` GPUs with `processes` processes each, `interval`
    /// apart from `start`, through the recorder's own writer (a transaction per sample, the
    /// rollups of each minute). The GPUs work from 08:00 to 20:00 UTC and idle by night; the
    /// processes hold them idle from 20:00 to 21:00; three users share the processes.
    pub fn synthetic(
        path: &Path,
        start: DateTime<Utc>,
        interval: Duration,
        samples: u64,
        gpus: u32,
        processes: u32,
    ) -> Result<(), String> {
        let conn = create(path).map_err(|e| e.message())?;
        let mut writer = Writer::new(conn, interval).map_err(|e| e.to_string())?;
        let users = ["alice", "bob", "carol"];
        let step = chrono::Duration::from_std(interval).map_err(|e| e.to_string())?;
        let mut energy = vec![0.0f64; gpus as usize];
        for n in 0..samples {
            let taken_at = start + step * n as i32;
            let hour = f64::from(taken_at.hour()) + f64::from(taken_at.minute()) / 60.0;
            let working = (8.0..20.0).contains(&hour);
            let idle_held = (20.0..21.0).contains(&hour);
            let mut list = Vec::with_capacity(gpus as usize);
            for g in 0..gpus {
                let mut gpu = GpuSample::empty(g);
                gpu.name = Some("NVIDIA H100 80GB HBM3".into());
                gpu.uuid = Some(format!("GPU-{g:08x}-0000-4000-8000-000000000000"));
                gpu.memory.total_bytes = Some(81_559 << 20);
                let util = if working { 60 + (n + u64::from(g) * 7) % 40 } else { 0 } as u32;
                gpu.utilization.gpu_percent = Some(util);
                gpu.utilization.memory_percent = Some(util / 2);
                gpu.temperature.gpu_celsius = Some(35 + util / 3);
                let watts = 70.0 + 6.0 * f64::from(util);
                gpu.power.draw_watts = Some(watts);
                energy[g as usize] += watts * interval.as_secs_f64();
                gpu.power.energy_joules = Some(energy[g as usize]);
                gpu.clocks.sm_mhz = Some(if working { 1980 } else { 345 });
                gpu.throttle = Throttle::from_mask(if util > 95 { 0x4 } else { 0 });
                let mut procs = Vec::new();
                if working || idle_held {
                    for p in 0..processes {
                        let pid = 10_000 + g * 100 + p;
                        let mut proc =
                            GpuProcess::new(pid, ProcessKind::Compute, Some(20_000 << 20));
                        proc.sm_percent = Some(util / processes.max(1));
                        proc.user = Some(users[(g + p) as usize % users.len()].into());
                        proc.command = Some(format!("python train.py --gpu {g} --rank {p}"));
                        proc.name = Some("python".into());
                        proc.start_ticks = Some(1000 + n / 86_400 * 10);
                        procs.push(proc);
                    }
                }
                gpu.memory.used_bytes = Some(procs.len() as u64 * (20_000 << 20));
                gpu.processes = Some(procs);
                list.push(gpu);
            }
            let snapshot = Snapshot {
                schema_version: SCHEMA_VERSION,
                taken_at,
                host: HostInfo { hostname: Some("bench".into()), ..HostInfo::default() },
                gpus: list,
                hosts: Vec::new(),
                origin: crate::sample::Origin::Live,
                warnings: Vec::new(),
            };
            writer.write(&snapshot).map_err(|e| e.to_string())?;
        }
        writer.finish().map_err(|e| e.to_string())
    }
}
