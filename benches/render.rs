//! One full frame of the monitor: 8 GPUs × 100 processes at 200×60, through the real draw
//! path on ratatui's TestBackend (budget: ≤ 1 ms), and through the monitor's own screen
//! writer, as the terminal gets it: frames alternating between two samples, so every frame
//! has changes to write.
//!
//! `cargo bench --bench render`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use gputop::testing::scenario::Scenario;
use gputop::testing::Screen;
use gputop::testing::SimSource;
use gputop::testing::{draw, render, App};
use gputop::testing::{Theme, ThemeName};
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
    let after = |samples: u32| {
        let mut app = App::new(Duration::from_secs(1), Duration::from_secs(600), false);
        for t in 0..samples {
            app.on_snapshot(Arc::new(sim.sample_at(1_700_000_000.0 + f64::from(t))));
        }
        app
    };
    let mut app = after(600);
    let theme = Theme::new(ThemeName::Dark, false);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("frame_8gpus_800procs_200x60", |b| {
        b.iter(|| render(black_box(&mut terminal), &app, &theme).unwrap())
    });
    let next = after(601);
    let mut screen = Screen::new(std::io::sink(), 200, 60);
    let mut flip = false;
    c.bench_function("frame_to_terminal_8gpus_800procs_200x60", |b| {
        b.iter(|| {
            flip = !flip;
            let shown = if flip { &next } else { &app };
            screen.draw(|frame| draw(frame, black_box(shown), &theme)).unwrap()
        })
    });
    let snapshot = Arc::new(sim.sample_at(1_700_000_601.0));
    c.bench_function("on_snapshot_8gpus_800procs", |b| {
        b.iter(|| app.on_snapshot(black_box(snapshot.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
