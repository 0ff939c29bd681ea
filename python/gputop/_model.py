"""The objects `query()`, `Monitor.latest()` and `doctor()` return.

Each wraps one JSON object of the documented model (docs/json-schema.md in the repository) and
gives its fields as attributes: `snapshot.gpus[0].memory.used_bytes`. A value the driver cannot
give is `None`, and `gpu.missing` says why. The Rust side hands over plain dicts and lists (no
JSON text to parse: the `json` module alone would double `import gputop`); they are wrapped
as they are read, and `to_dict()` gives a copy of the document.
"""

__all__ = ["Record", "Snapshot", "Gpu", "Process", "Missing", "DoctorReport"]


class Record:
    """A JSON object whose fields read as attributes (and as items)."""

    __slots__ = ("_data",)
    #: field name -> the class its object (or list of objects) is wrapped in
    _children = {}

    def __init__(self, data):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        if name.startswith("__") or name == "_data":
            raise AttributeError(name)  # copy and pickle probe these before _data is set
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(
                "{} has no field {!r} (fields: {})".format(
                    type(self).__name__, name, ", ".join(self._data)
                )
            ) from None
        return _wrap(value, self._children.get(name, Record))

    def __getitem__(self, name):
        return _wrap(self._data[name], self._children.get(name, Record))

    def __contains__(self, name):
        return name in self._data

    def __setattr__(self, name, value):
        raise AttributeError("{} is read-only".format(type(self).__name__))

    def __dir__(self):
        return sorted(set(self._data) | set(dir(type(self))))

    def __eq__(self, other):
        return isinstance(other, Record) and self._data == other._data

    __hash__ = None

    def keys(self):
        return self._data.keys()

    def get(self, name, default=None):
        return self[name] if name in self._data else default

    def to_dict(self):
        """The JSON object, as plain dicts and lists (a copy)."""
        return _copy(self._data)

    def __repr__(self):
        fields = ", ".join(
            "{}={!r}".format(k, v) for k, v in self._data.items() if not isinstance(v, (dict, list))
        )
        return "{}({})".format(type(self).__name__, fields)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _wrap(value, cls):
    if isinstance(value, dict):
        return cls(value)
    if isinstance(value, list):
        return [cls(v) if isinstance(v, dict) else v for v in value]
    return value


class Process(Record):
    """A process on a GPU: `pid`, `user`, `name`, `command`, `gpu_memory_bytes`, …"""

    __slots__ = ()

    def __repr__(self):
        return "Process(pid={}, user={!r}, name={!r}, gpu_memory_bytes={})".format(
            self._data.get("pid"),
            self._data.get("user"),
            self._data.get("name"),
            self._data.get("gpu_memory_bytes"),
        )


class Missing(Record):
    """Why each `None` field of a GPU is `None`: field name -> `{"reason": …, "nvml_code": …}`
    (`gpu.missing.fan_percent.reason == "not_supported"`)."""

    __slots__ = ()

    def __repr__(self):
        def why(m):
            if not isinstance(m, dict):
                return repr(m)
            code = m.get("nvml_code")
            return repr(m.get("reason") if code is None else "{} (NVML {})".format(m.get("reason"), code))

        return "Missing({})".format(", ".join("{}={}".format(k, why(v)) for k, v in self._data.items()))


class Gpu(Record):
    """One GPU: `index`, `vendor`, `name`, `memory`, `utilization`, `temperature`, `power`,
    `processes`…

    `vendor` is who made it: `"nvidia"`, `"amd"` or `"intel"` (a document from before AMD and
    Intel GPUs has none: NVIDIA's). A reading the GPU's kernel driver does not give is `None`,
    with `missing` saying so (`"not_provided_by_amdgpu"`).
    `processes` is `None` when NVML could not list them (unknown), `[]` when nobody uses the GPU.
    """

    __slots__ = ()
    _children = {"processes": Process, "missing": Missing}

    @property
    def vendor(self):
        """`"nvidia"`, `"amd"` or `"intel"`."""
        return self._data.get("vendor", "nvidia")

    def __repr__(self):
        d = self._data
        util = (d.get("utilization") or {}).get("gpu_percent")
        memory = d.get("memory") or {}
        return "Gpu(index={}, vendor={!r}, name={!r}, status={!r}, gpu_percent={}, memory_used_bytes={}, memory_total_bytes={})".format(
            d.get("index"),
            d.get("vendor", "nvidia"),
            d.get("name"),
            d.get("status"),
            util,
            memory.get("used_bytes"),
            memory.get("total_bytes"),
        )


class Snapshot(Record):
    """One sample of every GPU: `taken_at`, `host`, `gpus`. Iterating gives the GPUs.

    In a notebook it shows as a table; `str()` gives the same as text.
    """

    __slots__ = ()
    _children = {"gpus": Gpu}

    def __iter__(self):
        return iter(self.gpus)

    def __len__(self):
        return len(self._data.get("gpus") or ())

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.gpus[key]
        return Record.__getitem__(self, key)

    def __repr__(self):
        return "Snapshot(host={!r}, taken_at={!r}, gpus={})".format(
            (self._data.get("host") or {}).get("hostname"), self._data.get("taken_at"), len(self)
        )

    def __str__(self):
        from ._render import text

        return text(self)

    def _repr_html_(self):
        from ._render import html

        return html(self)


class DoctorReport(Record):
    """`gputop doctor`'s report: `sections` of `findings` (`check`, `status`, `title`,
    `evidence`, `fix`, and for a framework found `imported_from`) and a `summary`.
    `exit_code` is the command's: 0 ok, 1 warnings, 2 failures. `str()` is the text the
    command prints."""

    __slots__ = ("_text", "_exit_code")

    def __init__(self, data, text, exit_code):
        Record.__init__(self, data)
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_exit_code", exit_code)

    @property
    def exit_code(self):
        return self._exit_code

    @property
    def ok(self):
        """No failure and no warning."""
        return self._exit_code == 0

    def findings(self, status=None):
        """Every finding, or those of one status (`ok`, `warning`, `failure`, `skipped`)."""
        return [
            f for s in self.sections for f in s.findings if status is None or f.status == status
        ]

    def __str__(self):
        return self._text

    def __repr__(self):
        s = self._data.get("summary") or {}
        return "DoctorReport(ok={}, warnings={}, failures={}, skipped={})".format(
            s.get("ok"), s.get("warnings"), s.get("failures"), s.get("skipped")
        )
