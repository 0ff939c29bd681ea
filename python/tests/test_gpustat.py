"""`gputop.new_query()`: gpustat's API and lines, from gputop."""

import datetime

from conftest import PIDS

import gputop


def test_fields_have_gpustats_names_and_units():
    q = gputop.new_query()
    assert len(q) == 4
    g = q[0]
    assert g.index == 0 and g["index"] == 0
    assert g.name == "NVIDIA H100 80GB HBM3"
    assert g.uuid == "GPU-aaaaaaaa-1111-2222-3333-444444444444"
    assert g.memory_used == 72000 and g.memory_total == 81559  # MiB, as gpustat
    assert g.memory_available == 81559 - 72000
    assert g.utilization == 87 and g.temperature == 62
    assert g.power_draw == 312 and g.power_limit == 700  # whole watts, as gpustat
    assert g.fan_speed is None
    assert [p["pid"] for p in g.processes] == PIDS
    assert g.processes[0]["gpu_memory_usage"] == 30000
    assert g.processes[0]["command"] == "sleep"
    assert g.processes[0]["full_command"] == ["sleep", "600"]
    assert isinstance(q.query_time, datetime.datetime)
    assert q.driver_version == "550.54.15"
    assert [x.index for x in q] == [0, 1, 2, 3]
    assert not q[2].available  # lost
    assert q[3].processes is None
    assert set(q.jsonify()) == {"hostname", "driver_version", "query_time", "gpus"}


def test_print_shows_gpustats_lines():
    q = gputop.new_query()
    lines = str(q).splitlines()
    assert len(lines) == 5
    assert lines[0].startswith(q.hostname)
    assert "550.54.15" in lines[0]
    user = q[0].processes[0]["username"]
    assert lines[1].startswith("[0] NVIDIA H100 80GB HBM3   | 62°C,  87 % | 72000 / 81559 MB | " + user + "(30000M) " + user + "(2000M)")
    assert lines[2] == "[1] NVIDIA GeForce RTX 4090 | 41°C,   3 % |  1000 / 24564 MB |"
    assert lines[4].endswith("| (Not Supported)")
    assert "\x1b" not in str(q)
    assert repr(q).startswith("GPUStatCollection(host=")
