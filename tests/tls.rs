//! TLS end to end: `gputop serve --tls-cert --tls-key` on a loopback port, with certificates
//! made for the test by a CA of its own (the openssl command), and the real binary as client
//! (`--remote https://…`), real handshakes each time: the right CA and token work; no CA, a
//! certificate for another name or an expired one is that host down with the reason; plain
//! http is refused; SIGHUP swaps the certificate.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A CA made for the test and certificates it signed, all on one key, in a directory.
struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    /// None (skipped, or a failure in CI) without the openssl command.
    fn make() -> Option<Self> {
        if !have("openssl", &["version"], "apt-get install openssl") {
            return None;
        }
        let dir = temp_dir();
        let openssl = |args: &[&str]| {
            let out = StdCommand::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        openssl(
            &[&["req", "-x509"], &ec[..], &["-days", "1", "-subj", "/CN=gputop test CA"]]
                .concat()
                .into_iter()
                .chain(["-keyout", "ca-key.pem", "-out", "ca.pem"])
                .collect::<Vec<_>>(),
        );
        openssl(
            &[&["req"], &ec[..], &["-subj", "/CN=127.0.0.1"]]
                .concat()
                .into_iter()
                .chain(["-keyout", "key.pem", "-out", "server.csr"])
                .collect::<Vec<_>>(),
        );
        // `openssl ca`, for it alone sets any validity period (the expired certificate).
        std::fs::write(dir.path().join("index.txt"), "").unwrap();
        std::fs::write(dir.path().join("serial"), "01\n").unwrap();
        std::fs::write(
            dir.path().join("ca.cnf"),
            "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nserial = serial\n\
             unique_subject = no\nnew_certs_dir = .\ndefault_md = sha256\npolicy = any\n\
             [any]\ncommonName = supplied\n\
             [server]\nsubjectAltName = IP:127.0.0.1,DNS:localhost\nbasicConstraints = CA:FALSE\n\
             [other]\nsubjectAltName = DNS:gpu-elsewhere.example\nbasicConstraints = CA:FALSE\n",
        )
        .unwrap();
        let sign = |extensions: &str, out: &str, validity: &[&str]| {
            let args = ["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile"];
            let rest = ["ca-key.pem", "-in", "server.csr", "-notext", "-extensions", extensions];
            openssl(&[&args[..], &rest[..], validity, &["-out", out]].concat());
        };
        sign("server", "server.pem", &["-days", "1"]);
        sign("other", "other.pem", &["-days", "1"]);
        sign(
            "server",
            "expired.pem",
            &["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"],
        );
        set_mode(&dir.path().join("key.pem"), 0o600);
        let token = dir.path().join("token");
        std::fs::write(&token, "s3cret-token\n").unwrap();
        set_mode(&token, 0o600);
        Some(Self { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `gputop serve --demo` on a free loopback port, its stderr in a file to read at any time.
struct Exporter {
    child: Child,
    addr: String,
    stderr: PathBuf,
    _stderr_dir: tempfile::TempDir,
}

impl Exporter {
    fn start(args: &[&str]) -> Self {
        Self::start_on("127.0.0.1:0", args)
    }

    fn start_on(listen: &str, args: &[&str]) -> Self {
        let stderr_dir = temp_dir();
        let stderr = stderr_dir.path().join("stderr");
        let child = StdCommand::new(env!("CARGO_BIN_EXE_gputop"))
            .args(["serve", "--demo", "2", "--listen", listen, "--interval", "0.2"])
            .args(args)
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        // Killed by Drop should it never listen.
        let mut exporter = Self { child, addr: String::new(), stderr, _stderr_dir: stderr_dir };
        let started = Instant::now();
        loop {
            let text = exporter.stderr();
            if let Some(url) =
                text.lines().find_map(|l| l.strip_prefix("gputop: serving metrics on "))
            {
                let addr = url.split_once("://").expect(url).1.trim_end_matches("/metrics");
                exporter.addr = addr.to_string();
                return exporter;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "serve did not start: {text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gputop --remote URL ARGS --once --json`: the document, once the exporter has a sample.
fn remote_json(url: &str, args: &[&str]) -> Value {
    let started = Instant::now();
    loop {
        let out = StdCommand::new(env!("CARGO_BIN_EXE_gputop"))
            .args(["--remote", url, "--once", "--json"])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let waiting = doc["hosts"][0]["error"].as_str().is_some_and(|e| e.contains("503"));
        if doc.is_object() && (!waiting || started.elapsed() > Duration::from_secs(5)) {
            return doc;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no JSON: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn host_error(doc: &Value) -> String {
    assert_eq!(doc["hosts"][0]["up"], false, "{doc}");
    doc["hosts"][0]["error"].as_str().unwrap().to_string()
}

/// GET /metrics over TLS trusting `ca`, with `authorization` if given: (status, body).
fn https_metrics(addr: &str, ca: &Path, authorization: Option<&str>) -> (u16, String) {
    let certs = ureq::tls::parse_pem(&std::fs::read(ca).unwrap())
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let roots = ureq::tls::RootCerts::Specific(Arc::new(certs));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let started = Instant::now();
    loop {
        let mut request = agent.get(format!("https://{addr}/metrics"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let mut response = request.call().unwrap();
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap();
        if status != 503 || started.elapsed() > Duration::from_secs(5) {
            return (status, body);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn gputop_remote_reads_an_https_exporter_with_its_ca_and_token() {
    let Some(certs) = Certificates::make() else { return };
    let (ca, token) = (certs.arg("ca.pem"), certs.arg("token"));
    let exporter = Exporter::start(&[
        "--tls-cert",
        &certs.arg("server.pem"),
        "--tls-key",
        &certs.arg("key.pem"),
        "--token-file",
        &token,
    ]);
    let url = format!("https://{}", exporter.addr);

    let doc = remote_json(&url, &["--remote-ca", &ca, "--remote-token-file", &token]);
    assert_eq!(doc["hosts"][0]["up"], true, "{doc}");
    // `--demo 2`: two NVIDIA GPUs, then the demo's AMD and Intel ones.
    assert_eq!(doc["gpus"].as_array().unwrap().len(), 4, "{doc}");

    // The same through a --hosts line naming its CA and token.
    let hosts = certs.path("hosts");
    std::fs::write(&hosts, format!("{url} ca={ca} token_file={token}  # the lab\n")).unwrap();
    let out = StdCommand::new(env!("CARGO_BIN_EXE_gputop"))
        .args(["--hosts", &hosts.display().to_string(), "--once", "--json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["hosts"][0]["up"], true, "{doc}");

    // The system's roots know nothing of this CA: down, and why, never plain http instead.
    let doc = remote_json(&url, &["--remote-token-file", &token]);
    let error = host_error(&doc);
    assert!(error.starts_with("certificate not trusted: unknown issuer"), "{error}");
    assert_eq!(doc["hosts"][0]["url"], format!("{url}/api/v1/snapshot"));

    // The right token with the scheme in any case; a wrong one or none is refused.
    let ca_path = certs.path("ca.pem");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let (status, body) =
            https_metrics(&exporter.addr, &ca_path, Some(&format!("{scheme} s3cret-token")));
        assert_eq!(status, 200, "{scheme}: {body}");
        assert!(body.contains("gputop_build_info"), "{body}");
    }
    assert_eq!(https_metrics(&exporter.addr, &ca_path, Some("Bearer s3cret-tokeN")).0, 401);
    assert_eq!(https_metrics(&exporter.addr, &ca_path, Some("Basic s3cret-token")).0, 401);
    assert_eq!(https_metrics(&exporter.addr, &ca_path, None).0, 401);
    let doc = remote_json(&url, &["--remote-ca", &ca]);
    assert!(host_error(&doc).starts_with("unauthorized"), "{doc}");
}

#[test]
fn plain_http_to_the_https_port_is_refused_not_served() {
    let Some(certs) = Certificates::make() else { return };
    let exporter = Exporter::start(&[
        "--tls-cert",
        &certs.arg("server.pem"),
        "--tls-key",
        &certs.arg("key.pem"),
    ]);
    std::thread::sleep(Duration::from_millis(500)); // a sample to serve, were it served
    let (status, _, body) = http_get(&exporter.addr, "/metrics");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("use https://") && !body.contains("gputop_"), "{body}");
    let doc = remote_json(&format!("http://{}", exporter.addr), &[]);
    assert!(host_error(&doc).contains("HTTP 400 (if it serves https, write https://)"), "{doc}");
}

/// A plain HTTP/1.1 GET: (status, headers, body).
fn http_get(addr: &str, path: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[test]
fn a_certificate_for_another_name_or_expired_is_that_hosts_error() {
    let Some(certs) = Certificates::make() else { return };
    let ca = certs.arg("ca.pem");
    let key = certs.arg("key.pem");
    let other = Exporter::start(&["--tls-cert", &certs.arg("other.pem"), "--tls-key", &key]);
    let doc = remote_json(&format!("https://{}", other.addr), &["--remote-ca", &ca]);
    let error = host_error(&doc);
    assert!(
        error.contains("name mismatch: it is for gpu-elsewhere.example, not 127.0.0.1"),
        "{error}"
    );
    let expired = Exporter::start(&["--tls-cert", &certs.arg("expired.pem"), "--tls-key", &key]);
    let doc = remote_json(&format!("https://{}", expired.addr), &["--remote-ca", &ca]);
    assert_eq!(host_error(&doc), "certificate not trusted: expired on 2020-01-02 00:00 UTC");
    // Both down in one view, each with its own reason.
    let both = format!("https://{},https://{}", other.addr, expired.addr);
    let doc = remote_json(&both, &["--remote-ca", &ca]);
    let hosts = doc["hosts"].as_array().unwrap();
    assert!(hosts[0]["error"].as_str().unwrap().contains("name mismatch"), "{doc}");
    assert!(hosts[1]["error"].as_str().unwrap().contains("expired"), "{doc}");
}

#[test]
fn sighup_rereads_the_certificate_and_a_bad_one_keeps_the_old() {
    let Some(certs) = Certificates::make() else { return };
    let ca = certs.arg("ca.pem");
    let served = certs.path("served.pem");
    std::fs::copy(certs.path("other.pem"), &served).unwrap();
    let exporter = Exporter::start(&[
        "--tls-cert",
        &served.display().to_string(),
        "--tls-key",
        &certs.arg("key.pem"),
    ]);
    let url = format!("https://{}", exporter.addr);
    assert!(host_error(&remote_json(&url, &["--remote-ca", &ca])).contains("name mismatch"));

    let hangup = |expect: &str| {
        let before = exporter.stderr().lines().count();
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(exporter.child.id() as i32, libc::SIGHUP) }, 0);
        let started = Instant::now();
        loop {
            let stderr = exporter.stderr();
            if let Some(line) = stderr.lines().skip(before).find(|l| !l.is_empty()) {
                assert!(line.contains(expect), "{line}");
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "nothing after SIGHUP: {stderr}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    std::fs::copy(certs.path("server.pem"), &served).unwrap();
    hangup("gputop: reloaded the TLS certificate");
    let doc = remote_json(&url, &["--remote-ca", &ca]);
    assert_eq!(doc["hosts"][0]["up"], true, "{doc}");

    std::fs::write(&served, "garbage\n").unwrap();
    hangup("holds no PEM certificate");
    assert!(exporter.stderr().contains("still serving the previous certificate"));
    let doc = remote_json(&url, &["--remote-ca", &ca]);
    assert_eq!(doc["hosts"][0]["up"], true, "{doc}");
}

/// `gputop ARGS`: (exit code, stderr).
fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = StdCommand::new(env!("CARGO_BIN_EXE_gputop")).args(args).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn tls_files_are_both_or_neither_and_a_bad_one_is_one_line() {
    let Some(certs) = Certificates::make() else { return };
    let (cert, key, ca) = (certs.arg("server.pem"), certs.arg("key.pem"), certs.arg("ca.pem"));
    let serve = ["serve", "--demo", "--listen", "127.0.0.1:0"];
    let one_line = |(code, stderr): (Option<i32>, String), expect: &str| {
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
    };
    one_line(run(&[&serve[..], &["--tls-cert", &cert]].concat()), "--tls-cert needs --tls-key");
    one_line(run(&[&serve[..], &["--tls-key", &key]].concat()), "--tls-key needs --tls-cert");
    // The CA's key is not the certificate's; a certificate is not a key; a file is missing.
    one_line(
        run(&[&serve[..], &["--tls-cert", &cert, "--tls-key", &certs.arg("ca-key.pem")]].concat()),
        "is not the key of the certificate",
    );
    one_line(
        run(&[&serve[..], &["--tls-cert", &cert, "--tls-key", &cert]].concat()),
        &format!("the TLS key {cert} holds no PEM private key"),
    );
    one_line(
        run(&[&serve[..], &["--tls-cert", "/nonexistent/cert.pem", "--tls-key", &key]].concat()),
        "cannot read the TLS certificate /nonexistent/cert.pem",
    );
    // A CA for plain http is a forgotten https://.
    one_line(
        run(&["--remote", "127.0.0.1:1", "--remote-ca", &ca, "--once"]),
        "--remote-ca is for https://",
    );
    one_line(
        run(&["--remote-ca", &ca, "--demo", "--once"]),
        "--remote-ca needs --remote or --hosts",
    );
}

#[test]
fn a_key_others_can_read_is_warned_about() {
    let Some(certs) = Certificates::make() else { return };
    set_mode(&certs.path("key.pem"), 0o644);
    let exporter = Exporter::start(&[
        "--tls-cert",
        &certs.arg("server.pem"),
        "--tls-key",
        &certs.arg("key.pem"),
    ]);
    let stderr = exporter.stderr();
    assert!(
        stderr.contains("the TLS key") && stderr.contains("can be read by every user"),
        "{stderr}"
    );
}

#[test]
fn a_token_over_plain_http_to_another_machine_is_warned_about_once_per_host() {
    let token = temp_dir();
    let path = token.path().join("token");
    std::fs::write(&path, "s3cret\n").unwrap();
    set_mode(&path, 0o600);
    // 0.0.0.0 is no loopback address, yet reaches only this machine (nothing listens on port 1).
    let remotes = "http://0.0.0.0:1,0.0.0.0:1,127.0.0.1:1";
    let (_, stderr) =
        run(&["--remote", remotes, "--remote-token-file", &path.display().to_string(), "--once"]);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("plain http")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("the token for 0.0.0.0:1 goes over plain http"), "{stderr}");
}

#[test]
fn a_prometheus_token_or_password_over_plain_http_is_warned_about() {
    let secrets = temp_dir();
    let path = secrets.path().join("secret");
    std::fs::write(&path, "s3cret\n").unwrap();
    set_mode(&path, 0o600);
    let path = path.display().to_string();
    for flag in ["--prometheus-token-file", "--prometheus-password-file"] {
        let (_, stderr) = run(&["--prometheus", "http://0.0.0.0:1", flag, &path, "--once"]);
        let said = stderr.lines().filter(|l| l.contains("goes over plain http")).count();
        assert_eq!(said, 1, "{flag}: {stderr}");
        let (_, stderr) = run(&["--prometheus", "http://127.0.0.1:1", flag, &path, "--once"]);
        assert!(!stderr.contains("plain http"), "loopback: {stderr}");
    }
}

#[test]
fn a_token_served_without_tls_on_a_public_address_is_warned_about() {
    let Some(certs) = Certificates::make() else { return };
    let token = certs.arg("token");
    let warning = "with a token but without TLS";
    let plain = Exporter::start_on("0.0.0.0:0", &["--token-file", &token]);
    assert!(plain.stderr().contains(warning), "{}", plain.stderr());
    let tls = Exporter::start_on(
        "0.0.0.0:0",
        &[
            "--token-file",
            &token,
            "--tls-cert",
            &certs.arg("server.pem"),
            "--tls-key",
            &certs.arg("key.pem"),
        ],
    );
    assert!(!tls.stderr().contains(warning), "{}", tls.stderr());
}
