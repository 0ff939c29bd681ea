"""`gputop.new_query()`: gpustat's `new_query()` API, read by gputop.

The same names and units as gpustat 1.x: memory in MiB (gpustat's "MB"), power in whole
watts, `processes` as dicts with `username`, `command`, `full_command`, `gpu_memory_usage`
(MiB), `cpu_percent`, `cpu_memory_usage` (bytes) and `pid`. Where it differs from gpustat:
- a value the driver cannot give is `None` (gpustat too), and prints as `N/A`, not `??`;
- `processes` is `None` when NVML could not list them (gpustat raises or prints `Not Supported`);
- a lost GPU is a `GPUStat` with `available == False` and its error, as gpustat's `InvalidGPU`;
- `print()` gives the lines `gpustat` prints (header and one line per GPU, without colours);
  `repr()` is gpustat's `GPUStatCollection(host=…, [...])`;
- strings from processes are shown with control characters escaped.
"""

import datetime
import io
import os

from ._render import _mib, clean

__all__ = ["GPUStat", "GPUStatCollection", "from_snapshot"]


class GPUStat:
    """One GPU as gpustat describes it; `gpu["memory.used"]` and `gpu.memory_used` alike."""

    def __init__(self, entry, available=True, error=None):
        self.entry = entry
        self._available = available
        self.error = error

    def keys(self):
        return self.entry.keys()

    def __getitem__(self, key):
        return self.entry[key]

    @property
    def available(self):
        return self._available

    index = property(lambda self: self.entry["index"])
    uuid = property(lambda self: self.entry["uuid"])
    name = property(lambda self: self.entry["name"])
    memory_total = property(lambda self: self.entry["memory.total"])
    memory_used = property(lambda self: self.entry["memory.used"])
    memory_free = property(lambda self: self.entry["memory.free"])
    temperature = property(lambda self: self.entry["temperature.gpu"])
    fan_speed = property(lambda self: self.entry["fan.speed"])
    utilization = property(lambda self: self.entry["utilization.gpu"])
    utilization_enc = property(lambda self: self.entry["utilization.enc"])
    utilization_dec = property(lambda self: self.entry["utilization.dec"])
    power_draw = property(lambda self: self.entry["power.draw"])
    power_limit = property(lambda self: self.entry["enforced.power.limit"])
    processes = property(lambda self: self.entry["processes"])

    @property
    def memory_available(self):
        total, used = self.memory_total, self.memory_used
        return None if total is None or used is None else total - used

    def print_to(self, fp, *, show_cmd=False, show_user=False, show_pid=False,
                 show_fan_speed=False, show_power=False, no_processes=False,
                 gpuname_width=None, **_ignored):
        e = self.entry
        width = gpuname_width if gpuname_width is not None else 16
        na = lambda v: "N/A" if v is None else v  # noqa: E731
        if not self._available:
            fp.write("[{}] {:{w}} | (({}))".format(e["index"], "", clean(self.error), w=width))
            return fp
        line = "[{}] {:{w}} |{:>3}°C, ".format(e["index"], clean(e["name"]), na(e["temperature.gpu"]), w=width)
        if show_fan_speed:
            line += "{:>3} %, ".format(na(e["fan.speed"]))
        line += "{:>3} %".format(na(e["utilization.gpu"]))
        if show_power:
            line += ",  {:>3} / {:>3} W".format(na(e["power.draw"]), na(e["enforced.power.limit"]))
        line += " | {:>5} / {:>5} MB".format(na(e["memory.used"]), na(e["memory.total"]))
        if not no_processes:
            line += " |"
            if e["processes"] is None:
                line += " (Not Supported)"
            for p in e["processes"] or []:
                line += " " + _process(p, show_cmd, show_user, show_pid)
        fp.write(line)
        return fp

    def __repr__(self):
        return self.print_to(io.StringIO()).getvalue()

    def jsonify(self):
        return dict(self.entry)


def _process(p, show_cmd, show_user, show_pid):
    text = ""
    if not show_cmd or show_user:
        text += clean(p["username"] or "--")
    if show_cmd:
        text += (":" if text else "") + clean(p["command"] or "--")
    if show_pid:
        text += "/{}".format(p["pid"])
    usage = p["gpu_memory_usage"]
    return text + "({}M)".format("?" if usage is None else usage)


class GPUStatCollection:
    """What gpustat's `new_query()` returns: a sequence of `GPUStat`."""

    def __init__(self, gpu_list, driver_version=None, hostname=None, query_time=None):
        self.gpus = gpu_list
        self.driver_version = driver_version
        self.hostname = hostname
        self.query_time = query_time

    def __len__(self):
        return len(self.gpus)

    def __iter__(self):
        return iter(self.gpus)

    def __getitem__(self, index):
        return self.gpus[index]

    def __repr__(self):
        s = "GPUStatCollection(host=%s, [\n" % self.hostname
        s += "\n".join("  " + repr(g) for g in self.gpus)
        return s + "\n])"

    def __str__(self):
        out = io.StringIO()
        self.print_formatted(out)
        return out.getvalue().rstrip("\n")

    def print_formatted(self, fp=None, *, show_header=True, eol_char=os.linesep, gpuname_width=None, **options):
        """gpustat's output: a header (host, time, driver) and a line per GPU, no colours.
        Takes gpustat's `show_cmd`, `show_user`, `show_pid`, `show_fan_speed`, `show_power`
        and `no_processes`."""
        import sys

        fp = fp or sys.stdout
        if gpuname_width is None:
            gpuname_width = max([len(clean(g.entry["name"] or "")) for g in self.gpus] + [0])
        if show_header:
            fp.write(
                "{:{w}}  {}  {}{}".format(
                    clean(self.hostname),
                    self.query_time.strftime("%a %b %d %H:%M:%S %Y") if self.query_time else "",
                    clean(self.driver_version or "N/A"),
                    eol_char,
                    w=(gpuname_width or 16) + 3,
                )
            )
        for g in self.gpus:
            g.print_to(fp, gpuname_width=gpuname_width, **options)
            fp.write(eol_char)
        if not self.gpus:
            fp.write("(No GPUs are available)" + eol_char)
        fp.flush()

    def jsonify(self):
        return {
            "hostname": self.hostname,
            "driver_version": self.driver_version,
            "query_time": self.query_time,
            "gpus": [g.jsonify() for g in self.gpus],
        }


def _entry(g):
    memory = g.get("memory") or {}
    utilization = g.get("utilization") or {}
    power = g.get("power") or {}
    draw, limit = power.get("draw_watts"), power.get("limit_watts")
    processes = g.get("processes")
    return {
        "index": g.get("index"),
        "uuid": g.get("uuid"),
        "name": g.get("name"),
        "temperature.gpu": (g.get("temperature") or {}).get("gpu_celsius"),
        "fan.speed": g.get("fan_percent"),
        "utilization.gpu": utilization.get("gpu_percent"),
        "utilization.enc": utilization.get("encoder_percent"),
        "utilization.dec": utilization.get("decoder_percent"),
        "power.draw": None if draw is None else int(draw),
        "enforced.power.limit": None if limit is None else int(limit),
        "memory.used": _mib(memory.get("used_bytes")),
        "memory.total": _mib(memory.get("total_bytes")),
        "memory.free": _mib(memory.get("free_bytes")),
        "processes": None if processes is None else [_process_entry(p) for p in processes],
    }


def _process_entry(p):
    command = p.get("command")
    full = command.split() if command else None
    name = p.get("name") or (os.path.basename(full[0]) if full else None)
    return {
        "username": p.get("user"),
        "command": name,
        "full_command": full,
        "gpu_memory_usage": _mib(p.get("gpu_memory_bytes")),
        "cpu_percent": p.get("cpu_percent"),
        "cpu_memory_usage": p.get("host_memory_bytes"),
        "pid": p.get("pid"),
    }


def from_snapshot(doc):
    """A `GPUStatCollection` of a snapshot's JSON document."""
    gpus = []
    for g in doc.get("gpus") or []:
        ok = g.get("status") == "ok"
        gpus.append(GPUStat(_entry(g), available=ok, error=None if ok else g.get("error") or g.get("status")))
    taken = doc.get("taken_at")
    query_time = None
    if taken:
        # Python 3.9's fromisoformat takes neither the Z nor more than 6 decimals.
        stamp = taken.rstrip("Z")
        if "." in stamp:
            head, frac = stamp.split(".", 1)
            stamp = head + "." + frac[:6]
        query_time = datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.timezone.utc).astimezone()
    host = doc.get("host") or {}
    return GPUStatCollection(gpus, host.get("driver_version"), host.get("hostname"), query_time)
