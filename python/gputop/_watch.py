"""`gputop.watch()`: a view that updates itself until interrupted."""

import sys
import time

from . import query


class _Jupyter:
    """One output area, replaced on every update (IPython's display handle)."""

    def __init__(self):
        from IPython.display import display

        self._display = display
        self._handle = None

    def update(self, snapshot):
        if self._handle is None:
            self._handle = self._display(snapshot, display_id=True)
        else:
            self._handle.update(snapshot)


class _Terminal:
    """The text drawn again: over the previous one on a terminal, one after another in a log."""

    def __init__(self, stream):
        self._stream = stream
        self._tty = hasattr(stream, "isatty") and stream.isatty()

    def update(self, snapshot):
        text = str(snapshot)
        if self._tty:
            self._stream.write("\x1b[H\x1b[2J")
        self._stream.write(text + "\n")
        self._stream.flush()


def in_jupyter():
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()
    return ip is not None and type(ip).__name__ != "TerminalInteractiveShell"


def watch(interval, count, ids, processes, display, library, demo=False):
    if interval <= 0:
        raise ValueError("interval must be a positive number of seconds")
    if display is None:
        display = _Jupyter() if in_jupyter() else _Terminal(sys.stdout)
    shown = 0
    try:
        while count is None or shown < count:
            started = time.monotonic()
            display.update(query(ids, processes, library=library, demo=demo))
            shown += 1
            if count is not None and shown >= count:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    return shown
