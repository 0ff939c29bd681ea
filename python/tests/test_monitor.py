"""`gputop.Monitor`: a background sampler with history, stopped cleanly."""

import time

import pytest

import gputop


def test_history_grows_while_running_and_stops_with_the_monitor():
    with gputop.Monitor(interval=0.05, window=60) as m:
        assert m.samples >= 1  # the first sample is taken before the constructor returns
        time.sleep(0.4)
        history = m.history(0, "utilization")
        assert len(history) >= 4
        assert all(v == 87.0 for _, v in history)
        times = [t for t, _ in history]
        assert times == sorted(times) and times[-1] <= time.time()
        assert [v for _, v in m.history(0, "memory")][0] == pytest.approx(72000 / 81559 * 100, abs=0.01)
        assert m.history(1, "power")[0][1] is None  # the RTX gives no power
        assert m.latest().gpus[0].utilization.gpu_percent == 87
        assert m.latest().gpus[0].pcie is not None  # the sampler pays for PCIe in its thread
    stopped = m.samples
    time.sleep(0.2)
    assert m.samples == stopped


def test_bad_arguments_raise_not_crash():
    with pytest.raises(ValueError, match="interval"):
        gputop.Monitor(interval=0)
    with gputop.Monitor(interval=0.05) as m:
        with pytest.raises(ValueError, match="no history of `fans`"):
            m.history(0, "fans")
        with pytest.raises(gputop.NoSuchGpuError):
            m.history(9)


def test_a_monitor_left_running_is_stopped_at_exit():
    from conftest import run_python

    r = run_python("import gputop, time\nm = gputop.Monitor(interval=0.01)\ntime.sleep(0.1)\nprint(m.samples > 1)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True"
