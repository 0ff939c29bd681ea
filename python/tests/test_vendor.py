"""Who made each GPU: `gpu.vendor` is "nvidia", "amd" or "intel", from the document gputop
gives; gpustat's API keeps gpustat's fields whatever the vendor."""

import gputop
from gputop._gpustat import from_snapshot

AMD = {
    "index": 1,
    "vendor": "amd",
    "status": "ok",
    "name": "AMD Instinct MI210",
    "uuid": None,
    "pci_bus_id": "0000:03:00.0",
    "memory": {"total_bytes": 68702699520, "used_bytes": 1073741824, "free_bytes": 67628957696},
    "utilization": {"gpu_percent": 37},
    "temperature": {"gpu_celsius": 51},
    "power": {"draw_watts": 211.0, "limit_watts": 300.0},
    "fan_percent": None,
    "performance_state": None,
    "missing": {"performance_state": {"reason": "not_provided_by_amdgpu"}},
    "processes": [],
}


def test_an_nvidia_gpu_says_so():
    s = gputop.query()  # conftest's fake NVML
    assert [g.vendor for g in s] == ["nvidia"] * len(s)
    assert s.gpus[0].to_dict()["vendor"] == "nvidia"
    assert "vendor='nvidia'" in repr(s.gpus[0]), repr(s.gpus[0])


def test_an_amd_gpu_keeps_its_vendor_and_why_a_reading_is_missing():
    g = gputop.Gpu(AMD)
    assert g.vendor == "amd"
    assert g.performance_state is None
    assert g.missing.performance_state.reason == "not_provided_by_amdgpu"
    assert repr(g).startswith("Gpu(index=1, vendor='amd', name='AMD Instinct MI210'"), repr(g)
    # A document from before AMD and Intel GPUs: NVIDIA's.
    old = dict(AMD)
    del old["vendor"]
    assert gputop.Gpu(old).vendor == "nvidia"


def test_gpustats_api_is_unchanged_for_an_amd_gpu():
    q = from_snapshot({"taken_at": "2026-11-26T17:30:00.123456789Z", "host": {}, "gpus": [AMD]})
    g = q[0]
    assert "vendor" not in g.keys(), list(g.keys())
    assert (g.name, g.utilization, g.memory_used, g.power_draw) == ("AMD Instinct MI210", 37, 1024, 211)
    assert g.available
