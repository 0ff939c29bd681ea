//! One full frame of the monitor: 8 GPUs × 100 processes at 200×60, through the real draw
//! path on ratatui's TestBackend. Budget: ≤ 1 ms.
//!
//! `cargo bench --bench render`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use gputop::scenario::Scenario;
use gputop::source::SimSource;
use gputop::tui::theme::{Theme, ThemeName};
use gputop::tui::{render, App};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn fleet() -> Scenario {
    let mut s = Scenario::demo(8);
    for (g, gpu) in s.gpus.iter_mut().enumerate() {
        let template = Scenario::demo(1).gpus[0].processes[0].clone();
        gpu.processes = (0..100)
            .map(|p| {
                let mut proc_ = template.clone();
                proc_.pid = 10_000 + (g * 100 + p) as u32;
                proc_.active = None;
                proc_
            })
            .collect();
    }
    s
}

fn bench(c: &mut Criterion) {
    let sim = SimSource::new(fleet(), &[]).unwrap();
    let mut app = App::new(Duration::from_secs(1), Duration::from_secs(600), false);
    for t in 0..600 {
        app.on_snapshot(Arc::new(sim.sample_at(1_700_000_000.0 + f64::from(t))));
    }
    let theme = Theme::new(ThemeName::Dark, false);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("frame_8gpus_800procs_200x60", |b| {
        b.iter(|| render(black_box(&mut terminal), &app, &theme).unwrap())
    });
    let snapshot = Arc::new(sim.sample_at(1_700_000_601.0));
    c.bench_function("on_snapshot_8gpus_800procs", |b| {
        b.iter(|| app.on_snapshot(black_box(snapshot.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
