"""gputop from Python: the GPUs' state as objects, a background sampler, the doctor, and a
live view for notebooks. The work is done by gputop's Rust code (`gputop._native`); NVML is
loaded on the first call, so importing works on machines without a GPU.

    >>> import gputop
    >>> print(gputop.new_query())            # gpustat's lines
    >>> gputop.query().gpus[0].memory.used_bytes
    >>> gputop.watch()                       # live, in Jupyter or a terminal

A value the driver cannot give is `None`. NVML failures raise `NvmlError` subclasses with the
same one-line messages as the `gputop` command.

No GPU here? Every function takes `demo=True` (or `demo=N` GPUs): the same API on the
simulated fleet of `gputop --demo`, whose values move and whose processes come and go.

    >>> gputop.query(demo=True).gpus[3].processes   # []: the demo's idle GPU
"""

import _thread

from . import _native
from ._model import DoctorReport, Gpu, Process, Record, Snapshot
from ._native import (
    DriverMismatchError,
    DriverNotLoadedError,
    GputopError,
    LibraryNotFoundError,
    NoPermissionError,
    NoSuchGpuError,
    NvmlError,
)

__version__ = _native.__version__
__all__ = [
    "query",
    "new_query",
    "Monitor",
    "doctor",
    "watch",
    "Snapshot",
    "Gpu",
    "Process",
    "Record",
    "DoctorReport",
    "GputopError",
    "NvmlError",
    "LibraryNotFoundError",
    "DriverNotLoadedError",
    "NoPermissionError",
    "DriverMismatchError",
    "NoSuchGpuError",
]

# NVML stays open between queries: loading and initialising it is most of a query's time.
_sessions = {}
_sessions_lock = _thread.allocate_lock()


def _ids(ids):
    if ids is None:
        return []
    if isinstance(ids, (int, str)):
        ids = [ids]
    return [str(i) for i in ids]


def _demo(demo):
    """`demo=` as the number of simulated GPUs: `True` is the demo's 4, `False`/`None` none."""
    if demo is None or demo is False:
        return None
    if demo is True:
        return 4
    if isinstance(demo, int) and demo > 0:
        return demo
    raise ValueError("demo must be True or a number of GPUs (1 or more), not {!r}".format(demo))


def _session(ids, processes, library, demo):
    key = (tuple(ids), bool(processes), library, demo)
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            session = _native.Session(library=library, ids=ids, processes=processes, demo=demo)
            _sessions[key] = session
        return session


def query(ids=None, processes=True, *, library=None, demo=False):
    """One sample of the GPUs (all, or `ids`: indices, UUIDs or PCI bus ids) as a `Snapshot`:
    the fields of `gputop --once --json`. `processes=False` skips looking up each GPU
    process's user and command line. `library` names the NVML library to load (default: the
    driver's, or `GPUTOP_NVML_LIB`). `demo=True` (or a number of GPUs) reads simulated GPUs
    instead, as `gputop --demo` does: the API without a GPU."""
    ids = _ids(ids)
    return Snapshot(_session(ids, processes, library, _demo(demo)).sample())


def new_query(ids=None, *, library=None, demo=False):
    """gpustat's `new_query()`, from gputop: a `GPUStatCollection` whose `print()` shows
    gpustat's lines and whose GPUs have gpustat's fields (`memory_used` in MiB, …).
    `demo=True` reads simulated GPUs, as `query()` does."""
    from ._gpustat import from_snapshot

    return from_snapshot(_session(_ids(ids), True, library, _demo(demo)).sample())


class Monitor:
    """Samples in the background every `interval` seconds, keeping `window` seconds of
    history. Use it as a context manager, or call `stop()`; it also stops when collected and
    at exit. `demo=True` (or a number of GPUs) samples simulated GPUs, as `query()` does.

        with gputop.Monitor(interval=0.5) as m:
            train()
            print(m.history(0, "utilization"))
    """

    def __init__(self, interval=1.0, window=600.0, ids=None, processes=True, *, library=None, demo=False):
        self.interval = float(interval)
        self._sampler = _native.Sampler(
            interval=self.interval,
            window=float(window),
            library=library,
            ids=_ids(ids),
            processes=processes,
            demo=_demo(demo),
        )
        _running.add(self)

    def latest(self):
        """The newest sample as a `Snapshot` (`NvmlError` if the newest sample failed)."""
        return Snapshot(self._sampler.latest())

    @property
    def samples(self):
        """How many samples were taken so far."""
        return self._sampler.samples()

    def history(self, gpu, metric="utilization"):
        """`[(unix time, value), …]` of GPU `gpu` (its index), oldest first; `metric` is
        `utilization` (%), `memory` (% of the GPU's memory in use), `power` (W) or
        `temperature` (°C). A value the driver did not give is `None`."""
        values = self._sampler.history(int(gpu), metric)
        if values is None:
            raise NoSuchGpuError("no GPU {} in this monitor's samples".format(gpu))
        return values

    def stop(self):
        """Stops sampling (waits at most for the sample under way)."""
        self._sampler.stop()
        _running.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        return "Monitor(interval={}, samples={})".format(self.interval, self.samples)

    def _repr_html_(self):
        return self.latest()._repr_html_()


_running = set()


def _stop_all():
    for monitor in list(_running):
        monitor.stop()


import atexit as _atexit  # noqa: E402

_atexit.register(_stop_all)


def doctor(python=True, *, library=None):
    """`gputop doctor`: checks the GPU stack link by link and returns a `DoctorReport`
    (`str()` of it is the command's text; `to_dict()` its JSON). `python=False` skips the
    checks of Python's CUDA frameworks."""
    import json

    report, text, exit_code = _native.doctor(library=library, python=python)
    return DoctorReport(json.loads(report), text, exit_code)


def watch(interval=1.0, count=None, ids=None, processes=True, *, display=None, library=None, demo=False):
    """A live view, updated every `interval` seconds until interrupted (or `count` updates).
    In Jupyter: one table updated in place; elsewhere the text redrawn. `demo=True` shows
    simulated GPUs."""
    from ._watch import watch as _watch

    return _watch(interval, count, ids, processes, display, library, demo)


def load_ipython_extension(ipython):
    """`%load_ext gputop` adds the `%gputop` line magic."""
    from ._magic import register

    register(ipython)
