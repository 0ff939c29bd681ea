"""The API without a GPU: `demo=True` reads the simulated fleet of `gputop --demo` everywhere a
GPU would be read, and `repr()` of what is missing says what is missing. Run with NVML pointed
at a library that does not exist, so nothing here can reach a GPU or the fake library."""

import pytest
from conftest import run_python

import gputop

NO_GPU = {"GPUTOP_NVML_LIB": "/nonexistent/libnvidia-ml.so.1"}


def test_query_monitor_and_new_query_take_demo_without_a_gpu():
    code = (
        "import gputop\n"
        "s = gputop.query(demo=True)\n"
        "print(len(s), s.gpus[0].name, s.gpus[3].processes)\n"
        "print(sorted({p.placement.slurm_job for g in s for p in g.processes or [] if p.get('placement') and p.placement.slurm_job}))\n"
        "print(len(gputop.query(demo=8)))\n"
        "with gputop.Monitor(interval=0.05, demo=True) as m:\n"
        "    import time; time.sleep(0.3)\n"
        "    print(len(m.latest()), len(m.history(3, 'utilization')) >= 3)\n"
        "q = gputop.new_query(demo=True)\n"
        "print(len(q), q[0].name)\n"
        "print(gputop.watch(count=1, demo=True, display=type('D', (), {'update': lambda self, s: None})()))\n"
    )
    r = run_python(code, **NO_GPU)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "6 NVIDIA H100 80GB HBM3 []", r.stdout  # the fourth GPU idles; then AMD, Intel
    assert lines[1] == "['4242', '4251']", r.stdout
    assert lines[2] == "10"  # 8 NVIDIA GPUs, then the AMD and the Intel one
    assert lines[3] == "6 True"
    assert lines[4] == "6 NVIDIA H100 80GB HBM3"
    assert lines[5] == "1"


def test_a_missing_library_names_the_way_without_a_gpu():
    code = "import gputop\ntry:\n    gputop.query()\nexcept gputop.LibraryNotFoundError as e:\n    print(e)\n"
    r = run_python(code, **NO_GPU)
    assert r.returncode == 0, r.stderr
    assert "cannot load the NVIDIA management library" in r.stdout, r.stdout
    assert "gputop.query(demo=True)" in r.stdout, r.stdout


def test_bad_demo_values_are_refused():
    for bad in [0, -1, "yes", 2.5]:
        with pytest.raises(ValueError, match="demo"):
            gputop.query(demo=bad)
    with pytest.raises(ValueError, match="too many"):
        gputop.query(demo=5000)


def test_repr_of_missing_shows_each_field_and_its_reason():
    l4 = gputop.query().gpus[3]  # conftest's L4: its process list refused
    text = repr(l4.missing)
    assert text.startswith("Missing(") and "processes='no_permission (NVML 4)'" in text, text
    assert l4.missing.processes.reason == "no_permission"
    rtx = gputop.query().gpus[1]  # no power reading
    assert "power.draw_watts='not_supported (NVML 3)'" in repr(rtx.missing), repr(rtx.missing)
