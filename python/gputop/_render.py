"""Text and HTML views of a snapshot. Process names and command lines are untrusted (anyone
can name a process `<script>` or put terminal escapes in its arguments): every string from
the document is cleaned of control characters, and escaped for HTML."""

import html as _html
import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MIB = 1024 * 1024


def clean(value):
    """`str(value)` with control characters and bidirectional overrides shown escaped
    (`\\x1b`, `\\u202e`), as the gputop command shows them."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_escape, text)


def _escape(match):
    code = ord(match.group())
    return "\\x{:02x}".format(code) if code < 0x100 else "\\u{{{:x}}}".format(code)


def _n(value, fmt="{}", none="N/A"):
    return none if value is None else fmt.format(value)


def _mib(value):
    return None if value is None else value // MIB


def gpu_line(gpu, name_width):
    """`[0] NVIDIA H100 80GB HBM3 |  62°C,  87 % | 40000 / 81559 MB | alice(40000M)`: gpustat's
    line, with gputop's N/A where gpustat prints `??`."""
    d = gpu.to_dict() if hasattr(gpu, "to_dict") else gpu
    if d.get("status") != "ok":
        reason = d.get("error") or d.get("status")
        return "[{}] {:{w}} | (({}))".format(d.get("index"), "", clean(reason), w=name_width)
    temperature = (d.get("temperature") or {}).get("gpu_celsius")
    utilization = (d.get("utilization") or {}).get("gpu_percent")
    memory = d.get("memory") or {}
    power = d.get("power") or {}
    line = "[{}] {:{w}} |{:>3}°C, {:>3} % | {:>5} / {:>5} MB | {:>3} / {:>3} W |".format(
        d.get("index"),
        clean(d.get("name")),
        _n(temperature),
        _n(utilization),
        _n(_mib(memory.get("used_bytes"))),
        _n(_mib(memory.get("total_bytes"))),
        _n(power.get("draw_watts"), "{:.0f}"),
        _n(power.get("limit_watts"), "{:.0f}"),
        w=name_width,
    )
    processes = d.get("processes")
    if processes is None:
        return line + " (processes unknown)"
    for p in processes:
        line += " {}({}M)".format(clean(p.get("user") or "?"), _n(_mib(p.get("gpu_memory_bytes")), none="?"))
    return line


def _names_nvidia_driver(doc):
    host = doc.get("host") or {}
    gpus = doc.get("gpus") or []
    return bool(host.get("driver_version")) or any(
        (g.get("vendor") or "nvidia") == "nvidia" for g in gpus
    )


def text(snapshot):
    doc = snapshot.to_dict()
    gpus = doc.get("gpus") or []
    width = max([len(clean(g.get("name"))) for g in gpus] + [0])
    host = doc.get("host") or {}
    header = "{}  {}".format(
        clean(host.get("hostname") or "?"),
        clean(doc.get("taken_at", "")).replace("T", " ")[:19],
    )
    # Only AMD and Intel GPUs: no NVIDIA driver to name (as the gputop command's header).
    if _names_nvidia_driver(doc):
        header += "  driver {}  CUDA {}".format(
            clean(host.get("driver_version") or "N/A"),
            clean(host.get("cuda_driver_version") or "N/A"),
        )
    lines = [header] + [gpu_line(g, width) for g in gpus]
    if not gpus:
        lines.append("(no GPUs)")
    return "\n".join(lines)


def _e(value, none="N/A"):
    return _html.escape(clean(value) if value is not None else none)


def _bar(percent, label):
    if percent is None:
        return '<span class="gputop-na">{}</span>'.format(_e(label))
    p = max(0.0, min(100.0, float(percent)))
    color = "#2e7d32" if p < 50 else "#f9a825" if p < 85 else "#c62828"
    return (
        '<div style="position:relative;width:9em;height:1.2em;background:#e0e0e0;border-radius:2px">'
        '<div style="width:{:.1f}%;height:100%;background:{};border-radius:2px"></div>'
        '<span style="position:absolute;left:0.3em;top:0;font-size:0.85em;color:#000">{}</span>'
        "</div>"
    ).format(p, color, _e(label))


def html(snapshot):
    """A self-contained table (inline styles only: notebooks strip scripts and stylesheets)."""
    doc = snapshot.to_dict()
    host = doc.get("host") or {}
    out = [
        '<div class="gputop">',
        "<div><b>{}</b> · {} · driver {} · CUDA {}</div>".format(
            _e(host.get("hostname"), "?"),
            _e(doc.get("taken_at")),
            _e(host.get("driver_version")),
            _e(host.get("cuda_driver_version")),
        ),
        '<table style="border-collapse:collapse;font-family:monospace">',
        "<tr><th>GPU</th><th>Name</th><th>Util</th><th>Memory</th><th>Temp</th><th>Power</th></tr>",
    ]
    rows = []
    for g in doc.get("gpus") or []:
        if g.get("status") != "ok":
            out.append(
                '<tr><td>{}</td><td colspan="5" style="color:#c62828">{}</td></tr>'.format(
                    _e(g.get("index")), _e(g.get("error") or g.get("status"))
                )
            )
            continue
        memory = g.get("memory") or {}
        used, total = memory.get("used_bytes"), memory.get("total_bytes")
        mem_percent = used * 100.0 / total if used is not None and total else None
        util = (g.get("utilization") or {}).get("gpu_percent")
        power = g.get("power") or {}
        draw, limit = power.get("draw_watts"), power.get("limit_watts")
        out.append(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                _e(g.get("index")),
                _e(g.get("name")),
                _bar(util, _n(util, "{} %")),
                _bar(mem_percent, "{} / {} MiB".format(_n(_mib(used)), _n(_mib(total)))),
                _e(_n((g.get("temperature") or {}).get("gpu_celsius"), "{} °C")),
                _e("{} / {} W".format(_n(draw, "{:.0f}"), _n(limit, "{:.0f}"))),
            )
        )
        processes = g.get("processes")
        if processes is None:
            rows.append(
                "<tr><td>{}</td><td colspan=\"5\">processes unknown</td></tr>".format(_e(g.get("index")))
            )
        for p in processes or []:
            rows.append(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                    _e(g.get("index")),
                    _e(p.get("pid")),
                    _e(p.get("user"), "?"),
                    _e(_n(_mib(p.get("gpu_memory_bytes")), "{} MiB")),
                    _e(_n(p.get("sm_percent"), "{} %")),
                    _e(p.get("command") or p.get("name"), "?"),
                )
            )
    out.append("</table>")
    if rows:
        out.append('<table style="border-collapse:collapse;font-family:monospace;margin-top:0.5em">')
        out.append(
            "<tr><th>GPU</th><th>PID</th><th>User</th><th>GPU memory</th><th>SM</th><th>Command</th></tr>"
        )
        out.extend(rows)
        out.append("</table>")
    out.append("</div>")
    return "\n".join(out)
