//! Writes a synthetic recording for `scripts/bench-report.sh`:
//! `cargo bench --bench make_recording -- PATH DAYS GPUS PROCESSES` (1 s samples ending now).

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [path, days, gpus, processes] = &args[..] else {
        eprintln!("usage: make_recording PATH DAYS GPUS PROCESSES");
        std::process::exit(2);
    };
    let days: f64 = days.parse().expect("DAYS");
    let samples = (days * 86_400.0) as u64;
    let start = chrono::Utc::now() - chrono::Duration::seconds(samples as i64);
    gputop::testing::recording::synthetic(
        std::path::Path::new(path),
        start,
        Duration::from_secs(1),
        samples,
        gpus.parse().expect("GPUS"),
        processes.parse().expect("PROCESSES"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}
