//! One sample of 64 GPUs × 64 processes through the real NVML path (the fake library), and
//! the renderers on that snapshot. Budget: ≤ 5 ms of CPU per sample in gputop's own code.
//!
//! `cargo bench --bench sample`

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use gputop::testing::{json, table, Painter};
use gputop::testing::{SampleOptions, SimSource, SourceSpec};

/// `gpus` GPUs with `procs` processes each, PIDs from `pids` (cycled).
fn scenario(gpus: u32, procs: u32, pids: &[u32]) -> String {
    let mut toml = String::new();
    for g in 0..gpus {
        toml += "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nmemory_total_mib = 81559\nmemory_used_mib = 500\n\
             utilization_gpu = { base = 50, amplitude = 40, period_s = 30 }\nutilization_memory = 20\n\
             temperature_c = 60\ntemperature_slowdown_c = 87\ntemperature_shutdown_c = 92\npower_w = 300\n\
             power_limit_w = 700\nclock_sm_mhz = 1755\nclock_mem_mhz = 2619\nclock_sm_max_mhz = 1980\n\
             clock_mem_max_mhz = 2619\npstate = 0\nencoder_pct = 0\ndecoder_pct = 0\nthrottle_reasons = 4\n\
             ecc_corrected = 0\necc_uncorrected = 0\nmig_enabled = false\nenergy_mj = 1000\n";
        for p in 0..procs {
            toml += &format!(
                "[[gpus.processes]]\npid = {}\nused_memory_mib = 100\nsm_util = 10\n",
                pids[((g * procs + p) as usize) % pids.len()]
            );
        }
    }
    toml
}

fn bench(c: &mut Criterion) {
    // 4,096 live processes for the host lookup to read.
    let sleepers: Vec<common::Sleeper> = (0..4096).map(|_| common::Sleeper::spawn()).collect();
    let pids: Vec<u32> = sleepers.iter().map(|s| s.pid()).collect();
    let file = common::scenario_file(&scenario(64, 64, &pids));
    std::env::set_var("GPUTOP_FAKE_NVML_SCENARIO", file.path());
    let spec =
        SourceSpec::Nvml { library: Some(common::fake_nvml().to_path_buf()), host_proc: None };
    // NVML alone, then with the host lookup of the 4,096 PIDs (/proc reads, mostly kernel time):
    // the steady state, where at most 256 known processes are re-read per sample.
    let nvml_only = SampleOptions::one_shot();
    let mut nvml = spec.open(&[], nvml_only).expect("open the fake NVML library");
    c.bench_function("nvml_sample_64x64", |b| b.iter(|| black_box(nvml.sample().unwrap())));
    let with_host = SampleOptions { host_processes: true, ..SampleOptions::one_shot() };
    let mut nvml = spec.open(&[], with_host).expect("open the fake NVML library");
    c.bench_function("nvml_sample_64x64_with_host_lookup", |b| {
        b.iter(|| black_box(nvml.sample().unwrap()))
    });
    // The first sample reads every process: user, command line, cgroup, environ, stat.
    c.bench_function("nvml_sample_64x64_first_sight", |b| {
        b.iter_with_setup(
            || spec.open(&[], with_host).expect("open the fake NVML library"),
            |mut fresh| black_box(fresh.sample().unwrap()),
        )
    });

    let scenario =
        gputop::testing::scenario::Scenario::from_toml(&scenario(64, 64, &pids)).unwrap();
    let sim = SimSource::new(scenario, &[]).unwrap();
    c.bench_function("sim_sample_64x64", |b| b.iter(|| black_box(sim.sample_at(1000.0))));

    let snapshot = nvml.sample().unwrap();
    let opts =
        table::TableOptions { painter: Painter { enabled: true }, width: Some(200), ascii: false };
    c.bench_function("table_render_64x64", |b| {
        b.iter(|| black_box(table::render(&snapshot, &opts)))
    });
    c.bench_function("json_64x64", |b| b.iter(|| black_box(json::document(&snapshot))));
    drop(sleepers);
}

criterion_group!(benches, bench);
criterion_main!(benches);
