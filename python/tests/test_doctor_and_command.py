"""`gputop.doctor()` and the `gputop` command the wheel installs."""

import json
import subprocess
import sys

from conftest import gputop_command

import gputop


def test_doctor_returns_the_commands_report_as_objects():
    report = gputop.doctor(python=False)
    assert isinstance(report, gputop.DoctorReport)
    cli = subprocess.run([gputop_command(), "doctor", "--json", "--no-python"], capture_output=True, text=True)
    expected = json.loads(cli.stdout)
    assert report.to_dict() == expected
    assert report.exit_code == cli.returncode
    names = [s.name for s in report.sections]
    assert names == [s["name"] for s in expected["sections"]]
    assert all(f.status in ("ok", "warning", "failure", "skipped") for f in report.findings())
    assert str(report).splitlines()[0] == names[0]


def test_the_command_is_the_whole_tool():
    out = subprocess.run([gputop_command(), "--once", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
    version = subprocess.run([sys.executable, "-m", "gputop", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "0.1.0" in version.stdout
    bad = subprocess.run([gputop_command(), "--query-gpu=nope", "--format=csv"], capture_output=True, text=True)
    assert bad.returncode == 2 and "is not a valid field to query" in bad.stdout


def test_the_command_quits_at_once_on_ctrl_c_and_term():
    import signal
    import time

    for sig in (signal.SIGINT, signal.SIGTERM):
        child = subprocess.Popen([gputop_command(), "--watch", "--interval", "0.2"], stdout=subprocess.PIPE)
        assert child.stdout.readline()  # it has started and drawn
        sent = time.monotonic()
        child.send_signal(sig)
        child.wait(timeout=5)
        assert time.monotonic() - sent < 1.0, sig
