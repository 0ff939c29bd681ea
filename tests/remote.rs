//! Many hosts: `--remote` over several `gputop serve` instances (on the fake NVML library), one
//! of them stopped: the live ones are shown with their GPUs, the stopped one as down, quickly.

mod common;

use std::process::Child;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tempfile::NamedTempFile;

struct Exporter {
    child: Child,
    addr: String,
    _scenario: NamedTempFile,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An exporter on a free port; all share this machine's hostname, so each is told apart by
/// its GPU's name.
fn exporter(gpu_name: &str) -> Exporter {
    let scenario = scenario_file(&format!(
        "[[gpus]]\nname = \"{gpu_name}\"\nmemory_total_mib = 1024\nutilization_gpu = 10\n"
    ));
    let (child, addr) = spawn_serve(&scenario, &[]);
    Exporter { child, addr, _scenario: scenario }
}

#[test]
fn up_and_down_hosts_are_shown_with_their_gpus() {
    let a = exporter("GPU of A");
    let b = exporter("GPU of B");
    let c = exporter("GPU of C");
    let stopped = c.addr.clone();
    drop(c);
    std::thread::sleep(Duration::from_millis(600)); // the first samples
    let remotes = format!("{},{},{stopped}", a.addr, b.addr);
    let scenario = scenario_file("");
    let started = Instant::now();
    let out = stdout_of(gputop(&scenario).args(["--once", "--json", "--remote", &remotes]));
    assert!(started.elapsed() < Duration::from_secs(5), "a down host must not hold up the rest");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts.iter().filter(|h| h["up"] == true).count(), 2);
    assert!(hosts[2]["url"].as_str().unwrap().contains(&stopped) && hosts[2]["up"] == false);
    let names: Vec<&str> =
        doc["gpus"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["GPU of A", "GPU of B"]);
    assert!(doc["gpus"].as_array().unwrap().iter().all(|g| g["host"].is_string()));

    let text =
        stdout_of(gputop(&scenario).args(["--once", "--color", "never", "--remote", &remotes]));
    assert!(text.contains(&format!("{stopped}/api/v1/snapshot: DOWN")), "{text}");
    assert!(text.starts_with("2/3 hosts up"), "{text}");

    // The same through a hosts file, in the watch mode.
    let hosts_file = scenario_file(&format!("# lab machines\n{}\n{}  # second\n", a.addr, b.addr));
    let out = stdout_of(
        gputop(&scenario)
            .args([
                "--watch",
                "0.2",
                "--count",
                "2",
                "--query-gpu=name",
                "--format=csv,noheader",
                "--hosts",
            ])
            .arg(hosts_file.path()),
    );
    assert_eq!(out, "GPU of A\nGPU of B\nGPU of A\nGPU of B\n");
}

#[test]
fn local_can_be_included() {
    let a = exporter("Remote GPU");
    std::thread::sleep(Duration::from_millis(400));
    let scenario = scenario_file("[[gpus]]\nname = \"Local GPU\"\n");
    let out = stdout_of(
        gputop(&scenario)
            .args(["--query-gpu=name", "--format=csv,noheader", "--remote"])
            .arg(format!("local,{}", a.addr)),
    );
    assert_eq!(out, "Local GPU\nRemote GPU\n");
}

#[test]
fn tokens_are_sent_and_a_refusal_reads_unauthorized() {
    let scenario = scenario_file("[[gpus]]\nname = \"Guarded GPU\"\n");
    let token = NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "s3cret\n").unwrap();
    let (child, addr) =
        spawn_serve(&scenario, &[std::ffi::OsStr::new("--token-file"), token.path().as_os_str()]);
    let _guard = Exporter { child, addr: addr.clone(), _scenario: scenario };
    std::thread::sleep(Duration::from_millis(400));
    let local = scenario_file("[[gpus]]\nname = \"x\"\n");

    // Nobody could be asked: never "No GPU processes".
    let table =
        gputop(&local).args(["--once", "--color", "never", "--remote", &addr]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("processes unknown (host down)"), "{table}");
    assert!(!table.contains("No GPU processes"), "{table}");

    // Without the token: down, and why.
    let out = gputop(&local).args(["--once", "--json", "--remote", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "every host down exits 3");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["hosts"][0]["error"].as_str().unwrap().starts_with("unauthorized"), "{doc}");

    // With it, through the flag and through the hosts file.
    let out = stdout_of(gputop(&local).args(["--query-gpu=name", "--format=csv,noheader"]).args([
        "--remote",
        &addr,
        "--remote-token-file",
        token.path().to_str().unwrap(),
    ]));
    assert_eq!(out, "Guarded GPU\n");
    let hosts =
        scenario_file(&format!("{addr} token_file={}  # the lab box\n", token.path().display()));
    let out = stdout_of(
        gputop(&local)
            .args(["--query-gpu=name", "--format=csv,noheader", "--hosts"])
            .arg(hosts.path()),
    );
    assert_eq!(out, "Guarded GPU\n");
}

#[test]
fn bad_urls_and_hosts_without_nvml_are_told_apart() {
    let scenario = scenario_file("[[gpus]]\nname = \"x\"\n");
    let out = gputop(&scenario).args(["--once", "--remote", "ftp://gpu1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only http:// and https://"));
    // A hosts file that names nobody is a mistake, not the local GPUs.
    let hosts = scenario_file(
        "# every host commented out
# gpu1:9835

",
    );
    let out = gputop(&scenario).args(["--once", "--hosts"]).arg(hosts.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("names no host"), "{out:?}");
    assert!(out.stdout.is_empty(), "the local GPUs were shown instead");

    // `local` on a machine without a driver is one host down, beside the others.
    let a = exporter("Remote GPU");
    std::thread::sleep(Duration::from_millis(400));
    let out = gputop(&scenario)
        .env("GPUTOP_NVML_LIB", "/nonexistent/libnvidia-ml.so.1")
        .args(["--once", "--json", "--remote"])
        .arg(format!("local,{}", a.addr))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["hosts"][0]["url"], "local");
    assert_eq!(doc["hosts"][0]["up"], false);
    assert!(doc["hosts"][0]["error"].as_str().unwrap().contains("cannot load"), "{doc}");
    assert_eq!(doc["hosts"][1]["up"], true);
    // Each host's own memory, from its snapshot.
    assert!(doc["hosts"][1]["memory_total_bytes"].as_u64().unwrap() > 0, "{doc}");
}

/// 500 hosts on loopback, one in ten accepting and never answering: `--remote` asks them with
/// a bounded pool of threads (at most 32 fetches at once), not one thread per host, and still
/// gives each host its answer in bounded time. The thread count of the gputop process is read
/// from `/proc/PID/status` while the 500 are asked.
#[test]
fn five_hundred_hosts_are_asked_by_a_bounded_pool() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    const HOSTS: usize = 500;
    let hangs = |i: usize| i % 10 == 9;
    let listeners: Vec<TcpListener> = (0..HOSTS)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            l
        })
        .collect();
    let ports: Vec<u16> = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
    let done = Arc::new(AtomicBool::new(false));
    let server = {
        let done = done.clone();
        std::thread::spawn(move || {
            // Held open, never answered, until the test ends.
            let mut hung: Vec<TcpStream> = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let mut idle = true;
                for (i, l) in listeners.iter().enumerate() {
                    let Ok((mut stream, _)) = l.accept() else { continue };
                    idle = false;
                    if hangs(i) {
                        hung.push(stream);
                        continue;
                    }
                    // Answered on a thread of its own: one slow answer never delays the next
                    // host past the client's timeout on a loaded machine.
                    std::thread::spawn(move || {
                        stream.set_nonblocking(false).unwrap();
                        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut request = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => request.extend_from_slice(&buf[..n]),
                            }
                        }
                        let body = format!(
                            "{{\"schema_version\":2,\"taken_at\":\"2024-01-01T00:00:00Z\",\"host\":{{\"hostname\":\"host{i}\"}},\"gpus\":[]}}"
                        );
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    });
                }
                if idle {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        })
    };
    let mut hosts = NamedTempFile::new().unwrap();
    for port in &ports {
        writeln!(hosts, "127.0.0.1:{port}").unwrap();
    }
    let scenario = scenario_file("");
    let started = Instant::now();
    let child = gputop_std(&scenario)
        .args(["--once", "--json", "--hosts"])
        .arg(hosts.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let most_threads = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let most = most_threads.clone();
        // Until the process is gone (reaped by wait_with_output) or a zombie.
        std::thread::spawn(move || {
            while let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let threads = status
                    .lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0);
                most.fetch_max(threads, Ordering::Relaxed);
                if threads == 0 || status.contains("State:\tZ") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    watcher.join().unwrap();
    done.store(true, Ordering::Relaxed);
    server.join().unwrap();
    assert!(out.status.success(), "{out:?}");

    // 50 hung hosts hold a worker for the 1.5 s timeout each: 32 at a time, about 3 s.
    assert!(took < Duration::from_secs(30), "500 hosts took {took:?}");
    let most = most_threads.load(Ordering::Relaxed);
    assert!(most > 1, "the thread count was never read");
    // The pool's 32, each with at most one short-lived name-lookup thread of ureq's (it
    // resolves in a thread of its own when a timeout is set), and a few of gputop's own: 36
    // to 55 measured here; one thread per host was 287 and more.
    assert!(most <= 2 * 32 + 16, "{most} threads for {HOSTS} hosts: not a bounded pool");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), HOSTS);
    for (i, h) in hosts.iter().enumerate() {
        assert_eq!(h["up"], !hangs(i), "host {i}: {h}");
        if hangs(i) {
            assert!(h["error"].as_str().unwrap().contains("timeout"), "host {i}: {h}");
        } else {
            assert_eq!(h["hostname"], format!("host{i}"), "{h}");
        }
    }
    eprintln!("500 hosts in {took:?}, at most {most} threads");
}
