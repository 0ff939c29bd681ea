"""The Python package's tests run against the fake NVML library (tests/fake-nvml) with one
scenario per process (NVML loads its scenario once), so the scenario and the real processes it
lists are set up here, before `gputop` is first asked anything. Cases that need another
scenario (errors, a driver that fails) run in a child Python.

Run by `cargo test --test python` (which builds the wheel and installs it), or by hand:
`pytest python/tests` in a virtual environment where the wheel is installed."""

import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXED_TIME = "1000"


def fake_nvml():
    """The fake library: from the environment, else built as the Rust tests build it."""
    path = os.environ.get("GPUTOP_TEST_FAKE_NVML")
    if path:
        return path
    target = os.path.join(ROOT, "target", "fake-nvml")
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "fake-nvml", "--manifest-path", os.path.join(ROOT, "Cargo.toml")],
        env=dict(os.environ, CARGO_TARGET_DIR=target),
        check=True,
    )
    return os.path.join(target, "debug", "libfake_nvml.so")


# Real processes, so the host lookup finds their user and command line; argv[0] is hostile.
HOSTILE = "<script>alert(1)</script>\x1b[2J\x1b]0;pwned\x07"
_sleepers = [
    subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL),
    subprocess.Popen([HOSTILE, "600"], executable="sleep", stdin=subprocess.DEVNULL),
]
PIDS = [p.pid for p in _sleepers]

SCENARIO = textwrap.dedent(
    """
    [[gpus]]
    name = "NVIDIA H100 80GB HBM3"
    uuid = "GPU-aaaaaaaa-1111-2222-3333-444444444444"
    pci_bus_id = "00000000:18:00.0"
    memory_total_mib = 81559
    memory_used_mib = 40000
    utilization_gpu = 87
    utilization_memory = 41
    temperature_c = 62
    power_w = 312.5
    power_limit_w = 700.0
    [[gpus.processes]]
    pid = {pid0}
    used_memory_mib = 30000
    [[gpus.processes]]
    pid = {pid1}
    used_memory_mib = 2000

    [[gpus]]
    name = "NVIDIA GeForce RTX 4090"
    uuid = "GPU-bbbbbbbb-1111-2222-3333-444444444444"
    memory_total_mib = 24564
    memory_used_mib = 1000
    utilization_gpu = 3
    temperature_c = 41
    fan_pct = 30

    [[gpus]]
    name = "NVIDIA A100-SXM4-40GB"
    lost = true
    memory_total_mib = 40960

    [[gpus]]
    name = "NVIDIA L4"
    memory_total_mib = 23034
    memory_used_mib = 0
    utilization_gpu = 0
    temperature_c = 35
    errors = {{ processes = "NO_PERMISSION" }}
    """
).format(pid0=PIDS[0], pid1=PIDS[1])

_scenario = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
_scenario.write(SCENARIO)
_scenario.close()

ENV = {
    "GPUTOP_NVML_LIB": fake_nvml(),
    "GPUTOP_FAKE_NVML_SCENARIO": _scenario.name,
    "GPUTOP_FAKE_NVML_TIME": FIXED_TIME,
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
}
os.environ.update(ENV)


def pytest_unconfigure(config):
    for p in _sleepers:
        p.kill()
        p.wait()
    os.unlink(_scenario.name)


def run_python(code, **env):
    """`code` in a child Python with the test environment and `env` on top."""
    full = dict(os.environ, **env)
    for k, v in env.items():
        if v is None:
            full.pop(k)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=60)


def gputop_command():
    """The `gputop` command the wheel installed beside this Python."""
    return os.path.join(os.path.dirname(sys.executable), "gputop")


@pytest.fixture
def scenario_file(tmp_path):
    def write(text):
        path = tmp_path / "scenario.toml"
        path.write_text(text)
        return str(path)

    return write
