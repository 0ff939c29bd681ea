//! The systemd units in assets/ (the packages install them, not enabled): each parses as a unit
//! file, its ExecStart is a command line gputop's own parser accepts, and each keeps the rules
//! the GPUs need: sandboxed (dynamic user, read-only system, no capabilities, the system
//! service's system calls) but never ProtectClock or PrivateDevices, which hide /dev/nvidia*.
//! serve listens on loopback only, record writes only its state directory and has no network.
//! `systemd-analyze verify` checks both where systemd is installed (skipped elsewhere, with a
//! `SKIPPED:` line; failed in CI), and the serve unit's LoadCredential= recipe runs for real.

mod common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use clap::Parser;
use common::{have, ROOT};

/// A unit file: its sections, each with its keys and every value given (a key may repeat).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// `assets/NAME` parsed as systemd reads a unit file: `[Section]` headers, `Key=Value` lines,
/// `#` and `;` comments, blank lines. Anything else, or a key before a section, fails.
fn unit(name: &str) -> Unit {
    let text = std::fs::read_to_string(format!("{ROOT}/assets/{name}")).unwrap();
    let mut unit = Unit::new();
    let mut section: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        assert!(!line.ends_with('\\'), "{name}:{}: a continued line: keep each on one", n + 1);
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(header.to_string());
            unit.entry(header.to_string()).or_default();
            continue;
        }
        let (key, value) =
            line.split_once('=').unwrap_or_else(|| panic!("{name}:{}: not Key=Value", n + 1));
        let section = section.as_ref().unwrap_or_else(|| panic!("{name}:{}: no section", n + 1));
        let entry = unit.get_mut(section).unwrap().entry(key.trim().to_string()).or_default();
        entry.push(value.trim().to_string());
    }
    unit
}

/// The one value of `key` in [Service], or None.
fn service<'a>(unit: &'a Unit, key: &str) -> Option<&'a str> {
    let values = unit["Service"].get(key)?;
    assert_eq!(values.len(), 1, "{key} given {} times", values.len());
    Some(&values[0])
}

/// ExecStart's words, after checking it runs /usr/local/bin/gputop (dist.sh rewrites that to
/// the packages' /usr/bin/gputop) and gputop's parser accepts them.
fn exec_start(unit: &Unit) -> Vec<String> {
    let line = service(unit, "ExecStart").expect("no ExecStart");
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    assert_eq!(words[0], "/usr/local/bin/gputop", "{line}");
    if let Err(e) = gputop::Cli::try_parse_from(&words) {
        panic!("gputop does not accept `{line}`: {e}");
    }
    words
}

/// The value after `flag` in `words`.
fn after<'a>(words: &'a [String], flag: &str) -> &'a str {
    let i = words.iter().position(|w| w == flag).unwrap_or_else(|| panic!("no {flag}"));
    &words[i + 1]
}

/// What both units keep: sandboxed, but the GPUs visible.
fn sandboxed_with_the_gpus_visible(name: &str) {
    let unit = unit(name);
    assert_eq!(unit.keys().collect::<Vec<_>>(), ["Install", "Service", "Unit"], "{name}");
    for (key, want) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictNamespaces", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("UMask", "0077"),
    ] {
        assert_eq!(service(&unit, key), Some(want), "{name}: {key}");
    }
    // Each hides /dev/nvidia* from NVML: ProtectClock before systemd 253 (systemd#18142)
    // through the DeviceAllow=char-rtc it adds, the others always.
    for key in ["ProtectClock", "PrivateDevices", "DevicePolicy", "DeviceAllow", "ProcSubset"] {
        assert_eq!(service(&unit, key), None, "{name} sets {key}, which hides the GPUs");
    }
    // Installed, never enabled by the package: enabling is `systemctl enable`'s.
    assert_eq!(unit["Install"]["WantedBy"], ["multi-user.target"], "{name}");
}

#[test]
fn the_serve_unit_is_sandboxed_and_listens_on_loopback() {
    sandboxed_with_the_gpus_visible("gputop-serve.service");
    let unit = unit("gputop-serve.service");
    let words = exec_start(&unit);
    assert_eq!(words[1], "serve");
    let listen: std::net::SocketAddr = after(&words, "--listen").parse().unwrap();
    assert!(listen.ip().is_loopback(), "{listen}: beyond loopback needs a token, asked for");
    let families = service(&unit, "RestrictAddressFamilies").unwrap();
    assert_eq!(families, "AF_INET AF_INET6 AF_UNIX");
}

#[test]
fn the_record_unit_is_sandboxed_writes_its_state_directory_and_has_no_network() {
    sandboxed_with_the_gpus_visible("gputop-record.service");
    let unit = unit("gputop-record.service");
    let words = exec_start(&unit);
    assert!(words.contains(&"record".to_string()), "{words:?}");
    // The one writable place under ProtectSystem=strict is the StateDirectory.
    assert_eq!(service(&unit, "StateDirectory"), Some("gputop"));
    assert!(after(&words, "--out").starts_with("/var/lib/gputop/"), "{words:?}");
    assert_eq!(service(&unit, "RestrictAddressFamilies"), Some("AF_UNIX"));
}

/// The serve unit's header shows how to give a token with LoadCredential=: its ExecStart, with
/// the directory systemd makes and a free port, serves, reading the token from there.
#[test]
fn the_serve_units_credential_recipe_runs() {
    let text = std::fs::read_to_string(format!("{ROOT}/assets/gputop-serve.service")).unwrap();
    let recipe = text
        .lines()
        .filter_map(|l| l.strip_prefix("#   ExecStart=/usr/local/bin/gputop "))
        .next()
        .expect("no commented ExecStart with LoadCredential in the serve unit's header");
    assert!(text.contains("#   LoadCredential=token:"), "{text}");
    assert!(recipe.contains("--token-file ${CREDENTIALS_DIRECTORY}/token"), "{recipe}");
    // What systemd makes: a directory with the credential, readable by the service alone.
    let credentials = tempfile::tempdir().unwrap();
    let token = credentials.path().join("token");
    std::fs::write(&token, "0123456789abcdef\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o400)).unwrap();
    let args = recipe
        .replace("${CREDENTIALS_DIRECTORY}", credentials.path().to_str().unwrap())
        .replace(":9835", ":0");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("gputop"))
        .arg("--demo")
        .args(args.split_whitespace())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    while stderr.read_line(&mut said).unwrap_or(0) > 0 && !said.contains("serving metrics on") {}
    let _ = child.kill();
    let _ = child.wait();
    assert!(said.contains("serving metrics on http://0.0.0.0:"), "{said}");
    assert!(!said.contains("without a token") && !said.contains("every user"), "{said}");
}

/// systemd's own check of both units, with ExecStart pointing at the gputop just built.
#[test]
fn systemd_analyze_verifies_both_units() {
    if !have("systemd-analyze", &["--version"], "apt-get install systemd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let binary = assert_cmd::cargo::cargo_bin("gputop");
    let mut paths = Vec::new();
    for name in ["gputop-serve.service", "gputop-record.service"] {
        let text = std::fs::read_to_string(format!("{ROOT}/assets/{name}")).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text.replace("/usr/local/bin/gputop", binary.to_str().unwrap()))
            .unwrap();
        paths.push(path);
    }
    let out = Command::new("systemd-analyze").arg("verify").args(&paths).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify failed: {said}");
    // Unknown keys are warnings with exit 0: none may be there either.
    assert_eq!(said, "", "systemd-analyze verify warned");
}
