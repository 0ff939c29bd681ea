"""`gputop.query()`: every field of the JSON model, from the scenario, as objects."""

import json
import subprocess

import pytest
from conftest import HOSTILE, PIDS, gputop_command

import gputop

MIB = 1024 * 1024


def cli_json():
    out = subprocess.run([gputop_command(), "--once", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def comparable(doc):
    """What two samples of a fixed scenario share: not the time, the age of processes or PCIe
    throughput (which `query()` leaves out: it waits 20 ms per GPU on real hardware)."""
    doc = json.loads(json.dumps(doc))
    doc.pop("taken_at")
    for g in doc["gpus"]:
        g.pop("pcie", None)
        for key in [k for k in g.get("missing") or {} if k.startswith("pcie")]:
            g["missing"].pop(key)
        for p in g.get("processes") or []:
            p.pop("running_seconds")
            p.pop("cpu_percent")
    return doc


def test_every_field_equals_the_command_lines_json():
    assert comparable(gputop.query().to_dict()) == comparable(cli_json())


def test_fields_are_the_scenarios():
    s = gputop.query()
    assert isinstance(s, gputop.Snapshot)
    assert s.schema_version == 4
    assert s.host.driver_version == "550.54.15"
    assert len(s) == 4 and len(s.gpus) == 4
    h100 = s.gpus[0]
    assert isinstance(h100, gputop.Gpu)
    assert h100.index == 0 and h100.status == "ok"
    assert h100.name == "NVIDIA H100 80GB HBM3"
    assert h100.uuid == "GPU-aaaaaaaa-1111-2222-3333-444444444444"
    assert h100.pci_bus_id == "00000000:18:00.0"
    assert h100.memory.total_bytes == 81559 * MIB
    # The scenario's 40,000 MiB and its processes' 32,000, as the driver counts them.
    assert h100.memory.used_bytes == 72000 * MIB
    assert h100.utilization.gpu_percent == 87
    assert h100.utilization.memory_percent == 41
    assert h100.temperature.gpu_celsius == 62
    assert h100.power.draw_watts == 312.5
    assert h100.power.limit_watts == 700.0
    pids = [p.pid for p in h100.processes]
    assert pids == PIDS
    first = h100.processes[0]
    assert isinstance(first, gputop.Process)
    assert first.gpu_memory_bytes == 30000 * MIB
    assert first.name == "sleep" and first.command == "sleep 600"
    assert first.user  # whoever runs the tests
    assert h100.processes[1].command == HOSTILE + " 600"
    # Items and attributes alike; iteration gives the GPUs.
    assert s["gpus"][1]["name"] == s[1].name == "NVIDIA GeForce RTX 4090"
    assert [g.index for g in s] == [0, 1, 2, 3]
    assert s.gpus[1].fan_percent == 30


def test_a_value_the_driver_cannot_give_is_none_with_the_reason():
    s = gputop.query()
    h100, rtx = s.gpus[0], s.gpus[1]
    assert h100.fan_percent is None
    assert h100.missing["fan_percent"].reason == "not_supported"
    assert rtx.power.draw_watts is None
    assert rtx.processes == []  # nobody: known, and empty
    l4 = s.gpus[3]
    assert l4.processes is None  # could not ask: unknown, not empty
    assert l4.missing["processes"].reason == "no_permission"


def test_a_lost_gpu_keeps_its_index_and_nothing_else():
    lost = gputop.query().gpus[2]
    assert lost.index == 2 and lost.status == "lost"
    assert lost.name is None and lost.memory.used_bytes is None and lost.processes is None
    assert lost.missing["processes"].reason == "gpu_lost"


def test_ids_pick_gpus_and_processes_can_be_skipped():
    s = gputop.query(ids=[1, "GPU-aaaaaaaa-1111-2222-3333-444444444444"])
    assert sorted(g.index for g in s) == [0, 1]
    assert [g.index for g in gputop.query(ids=1)] == [1]
    quick = gputop.query(processes=False).gpus[0].processes
    assert [p.pid for p in quick] == PIDS and quick[0].user is None


def test_bad_ids_raise_clear_errors():
    with pytest.raises(gputop.NoSuchGpuError, match="no GPU matches --id 7"):
        gputop.query(ids=[7])
    with pytest.raises(ValueError, match="not a GPU index"):
        gputop.query(ids=["nonsense"])


def test_records_are_read_only_and_say_which_fields_exist():
    s = gputop.query()
    with pytest.raises(AttributeError, match="fields: .*memory"):
        s.gpus[0].memroy
    with pytest.raises(AttributeError):
        s.gpus[0].name = "x"
    assert "memory" in dir(s.gpus[0])
    d = s.to_dict()
    d["gpus"][0]["name"] = "changed"
    assert s.gpus[0].name == "NVIDIA H100 80GB HBM3"
    assert repr(s).startswith("Snapshot(host=")
    assert "gpu_percent=87" in repr(s.gpus[0])


def test_str_is_a_line_per_gpu_with_terminal_escapes_shown_escaped():
    text = str(gputop.query())
    lines = text.splitlines()
    assert len(lines) == 5, text
    assert lines[1].startswith("[0] NVIDIA H100 80GB HBM3   | 62°C,  87 % | 72000 / 81559 MB | 312 / 700 W |")
    assert "\x1b" not in text and "\x07" not in text
    assert "(processes unknown)" in lines[4]
    assert lines[3].endswith("| ((GPU is lost))")
