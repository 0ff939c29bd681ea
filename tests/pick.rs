//! `gputop select` and `gputop wait` through the real binary, on the fake NVML library: GPUs
//! that free up over time, claims between waiters, and bad input.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const UUID0: &str = "GPU-00000000-aaaa-bbbb-cccc-000000000000";
const UUID1: &str = "GPU-11111111-aaaa-bbbb-cccc-111111111111";

/// GPU 0 (40,000 MiB): a job (PID `job`) holds it while `held` (a TOML `active` table, or
/// always when empty); GPU 1 (80 GiB): idle; GPU 2: always 95 % busy.
fn machine(job: u32, held: &str) -> String {
    let active = if held.is_empty() { String::new() } else { format!("active = {held}\n") };
    format!(
        "[[gpus]]\nname = \"G0\"\nuuid = \"{UUID0}\"\nmemory_total_mib = 40000\nutilization_gpu = 0\n\
         [[gpus.processes]]\npid = {job}\nused_memory_mib = 30000\n{active}\
         [[gpus]]\nname = \"G1\"\nuuid = \"{UUID1}\"\nmemory_total_mib = 81559\nutilization_gpu = 0\n\
         [[gpus]]\nname = \"G2\"\nuuid = \"GPU-22222222-aaaa-bbbb-cccc-222222222222\"\n\
         memory_total_mib = 81559\nutilization_gpu = 95\n"
    )
}

/// Runs `gputop ARGS` at fake time `t` with the lock directory `locks`: (exit code, stdout,
/// stderr).
fn run_at(
    scenario: &tempfile::NamedTempFile,
    t: &str,
    locks: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    let mut args: Vec<&str> = args.to_vec();
    let sub = args.iter().position(|a| *a == "select" || *a == "wait").unwrap();
    let dir = locks.to_str().unwrap();
    args.splice(sub + 1..sub + 1, ["--lock-dir", dir]);
    let out = gputop(scenario)
        .env("GPUTOP_FAKE_NVML_TIME", t)
        .env_remove("CUDA_VISIBLE_DEVICES")
        .args(&args)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn select_picks_what_is_free_at_each_moment_and_says_why_not() {
    let job = Sleeper::with_argv0("python");
    // The job runs until t = 1003.
    let scenario = scenario_file(&machine(job.pid(), "{ period_s = 1e9, on_s = 1003 }"));
    let locks = temp_dir();
    let select =
        |t, args: &[&str]| run_at(&scenario, t, locks.path(), &[&["select"], args].concat());

    assert_eq!(select("1000", &[]), (0, "1\n".into(), String::new()));
    let (code, out, err) = select("1000", &["-n", "2"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("gputop: 2 wanted, 1 free: GPU 0 held by "), "{err}");
    assert!(err.contains("python 600"), "the job's command line: {err}");
    assert!(err.contains("GPU 2 busy (95 % in the last 10 s)"), "{err}");
    // The job has ended: GPU 1 first (more free memory, though a higher index), then GPU 0.
    assert_eq!(select("1005", &["-n", "2"]).1, "1,0\n");
    assert_eq!(select("1005", &["-n", "2", "--by-uuid"]).1, format!("{UUID1},{UUID0}\n"));
    assert_eq!(
        select("1005", &["-n", "2", "--format", "env"]).1,
        "export CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1,0\n"
    );
    let json: Value = serde_json::from_str(&select("1005", &["--format", "json"]).1).unwrap();
    assert_eq!(json["gpus"][0]["index"], 1);
    assert_eq!(json["gpus"][0]["utilization_percent"], 0.0);
    // Options loosen and tighten the rule.
    assert_eq!(select("1000", &["-n", "3", "--max-util", "100", "--max-procs", "1"]).1, "1,2,0\n");
    assert_eq!(select("1005", &["--exclude", "1"]).1, "0\n");
    let (code, _, err) = select("1005", &["--min-free-memory", "100GiB"]);
    assert_eq!(code, 1);
    assert!(err.contains("GPU 1 ") && err.contains("GiB free, 100GiB wanted"), "{err}");
}

#[test]
fn select_chooses_within_cuda_visible_devices() {
    let scenario = scenario_file(&machine(4_000_000, "{ period_s = 1e9, on_s = 0 }"));
    let locks = temp_dir();
    let out = gputop(&scenario)
        .env("CUDA_VISIBLE_DEVICES", "2,0")
        .args(["select", "-n", "2", "--max-util", "100", "--lock-dir"])
        .arg(locks.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2,0\n");
    let out = gputop(&scenario)
        .env("CUDA_VISIBLE_DEVICES", "0")
        .args(["select", "-n", "2", "--lock-dir"])
        .arg(locks.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "gputop: 2 GPUs wanted, but there are 1 NVIDIA GPUs to choose from within CUDA_VISIBLE_DEVICES\n"
    );
}

#[test]
fn wait_runs_the_command_once_the_gpu_has_stayed_free_and_holds_the_claim_while_it_runs() {
    let job = Sleeper::spawn();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    // GPU 0 is held for 2 more seconds; GPUs 1 and 2 are excluded.
    let held = format!("{{ period_s = 1e10, on_s = 3, offset_s = {} }}", 1.0 - now);
    let scenario = scenario_file(&machine(job.pid(), &held));
    let locks = temp_dir();
    let marker = locks.path().join("ran");
    let started = Instant::now();
    let mut waiter = gputop_std(&scenario)
        .env_remove("GPUTOP_FAKE_NVML_TIME")
        .args(["--interval", "0.2", "wait", "--stable", "1", "--exclude", "1,2", "--lock-dir"])
        .arg(locks.path())
        .arg("--")
        .args(["sh", "-c", "echo \"$CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER\" > \"$0\"; sleep 2"])
        .arg(&marker)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while !marker.exists() {
        assert!(started.elapsed() < Duration::from_secs(15), "the command never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let waited = started.elapsed();
    // Held for 2 s more, then free for the 1 s asked.
    assert!(waited >= Duration::from_millis(2500), "ran after {waited:?}, before the GPU settled");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "0 PCI_BUS_ID\n");
    // While the command runs, the GPU is claimed: another select skips it and says by whom.
    let (code, _, err) = run_at(&scenario, "1", locks.path(), &["select", "--exclude", "1,2"]);
    assert_eq!(code, 1);
    assert!(err.contains("GPU 0 claimed by ") && err.contains(" (pid "), "{err}");
    assert!(
        err.contains(&format!("(pid {}: sh -c ", waiter.id())),
        "the holder is the command: {err}"
    );
    assert!(waiter.wait().unwrap().success());
    // The command has exited: the claim is gone with it.
    let (code, out, _) =
        run_at(&scenario, "1", locks.path(), &["select", "--exclude", "1,2", "--max-procs", "1"]);
    assert_eq!((code, out.as_str()), (0, "0\n"));
    let mut log = String::new();
    std::io::Read::read_to_string(waiter.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("waiting: 1 wanted, 0 free: GPU 0 held by"), "{log}");
    assert!(log.contains("GPU 0 free: running sh"), "{log}");
}

#[test]
fn two_waiters_started_together_never_share_a_gpu() {
    // Twenty pairs at once, each pair with its own lock directory.
    let scenario = scenario_file(&machine(4_000_000, "{ period_s = 1e9, on_s = 0 }"));
    let pairs: Vec<_> = (0..20)
        .map(|_| {
            let locks = temp_dir();
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    gputop_std(&scenario)
                        .args(["--interval", "0.2", "wait", "--stable", "0", "--exclude", "2"])
                        .arg("--lock-dir")
                        .arg(locks.path())
                        .args(["--", "sh", "-c", "echo $CUDA_VISIBLE_DEVICES; sleep 3"])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap()
                })
                .collect();
            (locks, waiters)
        })
        .collect();
    for (_locks, waiters) in pairs {
        let mut got: Vec<String> = waiters
            .into_iter()
            .map(|w| String::from_utf8(w.wait_with_output().unwrap().stdout).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, ["0\n", "1\n"]);
    }
}

#[test]
fn an_interrupted_or_timed_out_wait_leaves_no_claim() {
    let scenario = scenario_file(&machine(4_000_000, ""));
    let locks = temp_dir();
    let (code, _, err) = run_at(
        &scenario,
        "1000",
        locks.path(),
        &["--interval", "0.2", "wait", "-n", "3", "--timeout", "1s", "--", "true"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("gave up after 1s: 3 wanted, 1 free: GPU 0 held by"), "{err}");
    let mut waiter = gputop_std(&scenario)
        .args(["--interval", "0.2", "wait", "-n", "3", "--lock-dir"])
        .arg(locks.path())
        .args(["--", "true"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(waiter.id() as i32, libc::SIGINT) };
    assert!(!waiter.wait().unwrap().success());
    let (code, out, _) = run_at(&scenario, "1000", locks.path(), &["select"]);
    assert_eq!((code, out.as_str()), (0, "1\n"));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let scenario = scenario_file(&machine(4_000_000, ""));
    let locks = temp_dir();
    let file = locks.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("locks");
    let under_a_file = under_a_file.to_str().unwrap();
    let cases: [&[&str]; 7] = [
        &["select", "-n", "0"],
        &["select", "-n", "4"],
        &["select", "--min-free-memory", "20XB"],
        &["select", "--max-util", "150"],
        &["wait", "true"],
        &["select", "--json"],
        &["wait", "--lock-dir", under_a_file, "--", "true"],
    ];
    for args in cases {
        let out = gputop(&scenario).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let out = gputop(&scenario)
        .args(["wait", "--exclude", "0,2", "--stable", "0", "--lock-dir"])
        .arg(locks.path())
        .args(["--", "no-such-program-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-program-here: command not found")
    );
}

/// On a terminal, `wait` keeps one status line, rewritten in place.
#[test]
fn wait_shows_one_refreshing_status_line_on_a_terminal() {
    let scenario = scenario_file(&machine(4_000_000, ""));
    let locks = temp_dir();
    let command = format!(
        "env GPUTOP_NVML_LIB='{}' GPUTOP_FAKE_NVML_SCENARIO='{}' LC_ALL=C.UTF-8 '{}' --interval 0.2 wait -n 3 --lock-dir '{}' -- true; echo EXITED $?; sleep 30",
        fake_nvml().display(),
        scenario.path().display(),
        assert_cmd::cargo::cargo_bin("gputop").display(),
        locks.path().display(),
    );
    let Some(tmux) = common::tmux::Tmux::start(&command, 150, 10) else { return };
    let s = tmux.wait_for("3 wanted, 1 free");
    std::thread::sleep(Duration::from_millis(1200));
    let s2 = tmux.screen();
    let status: Vec<&str> = s2.lines().filter(|l| l.contains("wanted")).collect();
    assert_eq!(status.len(), 1, "one line, rewritten:\n{s2}");
    assert!(status[0].starts_with("waiting "), "{s}");
}
