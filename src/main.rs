//! The `gputop` command: the library's `main_with_args` over this process's arguments.

use std::process::ExitCode;

fn main() -> ExitCode {
    return_large_buffers();
    ExitCode::from(gputop::main_with_args(std::env::args_os()) as u8)
}

/// Allocations of 1 MiB and more (a Prometheus answer, a fleet's GPU list) are mapped and
/// unmapped on their own instead of kept by glibc between refreshes, and threads share two
/// arenas: with `--prometheus` on 8,000 GPUs the monitor peaked at 77.6 MiB without the first,
/// 67.7 MiB with it, and 73.8 MiB once its answers were read on four threads until the arenas
/// were capped (66 MiB), in `scripts/bench-prometheus.sh`. Small allocations, all a local
/// monitor makes, are unchanged.
fn return_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        // Two arenas, not one per thread: `--prometheus` reads its four answers on four
        // threads, and their arenas kept 8 to 16 MiB the monitor no longer used.
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
