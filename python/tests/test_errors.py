"""NVML failures raise `NvmlError` subclasses with the command line's own one-line messages, whose
advice names the API's way to try gputop without a GPU (`demo=True`)."""

import subprocess

import pytest
from conftest import gputop_command, run_python

CASES = [
    ({"GPUTOP_NVML_LIB": "/nonexistent/libnvidia-ml.so.1"}, "LibraryNotFoundError"),
    ({"SCENARIO": '[driver]\ninit_error = "DRIVER_NOT_LOADED"\n'}, "DriverNotLoadedError"),
    ({"SCENARIO": '[driver]\ninit_error = "NO_PERMISSION"\n'}, "NoPermissionError"),
    ({"SCENARIO": '[driver]\ninit_error = "LIB_RM_VERSION_MISMATCH"\n'}, "DriverMismatchError"),
]


@pytest.mark.parametrize("env,error", CASES, ids=[c[1] for c in CASES])
def test_each_failure_has_its_class_and_the_clis_message(env, error, scenario_file):
    env = dict(env)
    if "SCENARIO" in env:
        env["GPUTOP_FAKE_NVML_SCENARIO"] = scenario_file(env.pop("SCENARIO"))
    code = (
        "import gputop\n"
        "try:\n    gputop.query()\n"
        "except gputop.NvmlError as e:\n    print(type(e).__name__); print(e)\n"
    )
    r = run_python(code, **env)
    assert r.returncode == 0, r.stderr
    name, message = r.stdout.splitlines()
    assert name == error
    full = dict(__import__("os").environ, **env)
    cli = subprocess.run([gputop_command(), "--once"], env=full, capture_output=True, text=True)
    assert cli.returncode == 3
    # The same error; the advice in each one's words (the API's way without a GPU: demo=True).
    error, _, advice = message.partition("; ")
    assert cli.stderr.strip().startswith("gputop: " + error + "; "), (cli.stderr, message)
    assert "gputop --demo" in cli.stderr
    assert "gputop.doctor()" in advice and "gputop.query(demo=True)" in advice, message


def test_every_class_is_an_nvml_error_and_a_gputop_error():
    import gputop

    for name in ["LibraryNotFoundError", "DriverNotLoadedError", "NoPermissionError", "DriverMismatchError"]:
        cls = getattr(gputop, name)
        assert issubclass(cls, gputop.NvmlError) and issubclass(cls, gputop.GputopError)
    assert issubclass(gputop.NoSuchGpuError, gputop.GputopError)


def test_import_works_without_a_driver():
    r = run_python("import gputop; print(gputop.__version__)", GPUTOP_NVML_LIB="/nonexistent.so")
    assert r.returncode == 0 and r.stdout.strip() == "0.1.0", r.stderr
