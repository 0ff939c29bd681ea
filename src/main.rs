//! Parses the command line, runs gputop, and turns errors into one line and an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    return_large_buffers();
    let cli = gputop::Cli::parse_args(std::env::args_os());
    match gputop::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(gputop::Error::NvidiaSmi(text)) => {
            // As nvidia-smi prints it: on stdout, then a blank line.
            print!("{text}\n\n");
            ExitCode::from(2)
        }
        Err(e) => {
            match e.hint() {
                Some(hint) => eprintln!("gputop: {e}; {hint}"),
                None => eprintln!("gputop: {e}"),
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Allocations of 1 MiB and more (a Prometheus answer, a fleet's GPU list) are mapped and
/// unmapped on their own instead of kept by glibc between refreshes: with `--prometheus` on
/// 8,000 GPUs the monitor peaked at 77.6 MiB without it, 67.7 MiB with it (56 MiB steady), in
/// `scripts/bench-prometheus.sh`. Small allocations, all a local monitor makes, are unchanged.
fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
