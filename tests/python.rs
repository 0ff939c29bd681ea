//! The Python package (`python/`): maturin builds the wheel, pip installs it into
//! `target/python-venv`, and pytest runs `python/tests` there against the fake NVML library
//! (every field of `query()`, gpustat's API, the monitor, errors, the notebook side, an example
//! notebook run by nbclient). `.ci/run` makes the venv from `python/requirements-test.txt`;
//! without it the test says so (and fails in CI).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn python_package_passes_its_tests() {
    let venv = Path::new(ROOT).join("target/python-venv");
    let python = venv.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import maturin, pytest, nbclient, IPython"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        skipped("the Python test venv is missing: python3 -m venv target/python-venv && target/python-venv/bin/pip install -r python/requirements-test.txt");
        return;
    }
    let wheels = temp_dir();
    // A debug build (the tests check behaviour; the release wheel is the benchmark's).
    let built = Command::new(venv.join("bin/maturin"))
        .args(["build", "--locked", "--quiet", "-m"])
        .arg(Path::new(ROOT).join("python/Cargo.toml"))
        .arg("--out")
        .arg(wheels.path())
        .env("VIRTUAL_ENV", &venv)
        .status()
        .expect("run maturin");
    assert!(built.success(), "maturin build failed");
    let wheel = std::fs::read_dir(wheels.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("maturin made no wheel");
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps"])
        .arg(&wheel)
        .status()
        .unwrap();
    assert!(installed.success(), "pip install {} failed", wheel.display());
    // From the repository's root: python/gputop (the sources, without the built module) must
    // not shadow the installed package.
    let tests = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "python/tests"])
        .current_dir(ROOT)
        .env("GPUTOP_TEST_FAKE_NVML", fake_nvml())
        .env_remove("GPUTOP_NVML_LIB")
        .env_remove("GPUTOP_FAKE_NVML_SCENARIO")
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&tests.stdout),
        String::from_utf8_lossy(&tests.stderr)
    );
    assert!(tests.status.success(), "pytest failed:\n{report}");
    assert!(report.contains(" passed"), "{report}");
    assert!(!report.contains("skipped"), "no Python test may be skipped:\n{report}");
}
