"""The notebook side: the HTML view, `watch()`, `%gputop`, and an example notebook run whole."""

import os

import pytest
from conftest import HOSTILE, ROOT

import gputop


def test_html_escapes_a_hostile_process_name():
    page = gputop.query()._repr_html_()
    assert "<table" in page and "NVIDIA H100 80GB HBM3" in page
    assert "<script>" not in page and "\x1b" not in page and "\x07" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J\\x1b]0;pwned\\x07 600" in page
    assert HOSTILE not in page
    assert "processes unknown" in page  # the L4's, not an empty list


class FakeDisplay:
    def __init__(self):
        self.shown = []

    def update(self, snapshot):
        self.shown.append(snapshot)


def test_watch_updates_one_display_and_stops_after_count():
    display = FakeDisplay()
    assert gputop.watch(interval=0.01, count=3, display=display) == 3
    assert len(display.shown) == 3
    assert all(isinstance(s, gputop.Snapshot) for s in display.shown)


def test_watch_stops_on_interrupt():
    class Interrupting(FakeDisplay):
        def update(self, snapshot):
            super().update(snapshot)
            if len(self.shown) == 2:
                raise KeyboardInterrupt

    display = Interrupting()
    gputop.watch(interval=0.01, display=display)  # returns, rather than raising
    assert len(display.shown) == 2


def test_line_magic():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "gputop")
    snapshot = shell.run_line_magic("gputop", "-i 1")
    assert [g.index for g in snapshot] == [1]
    with pytest.raises(ValueError):
        shell.run_line_magic("gputop", "--bogus")


def test_the_example_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    path = os.path.join(ROOT, "python", "examples", "gputop.ipynb")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("NVIDIA H100 80GB HBM3" in h for h in html)
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "[0] NVIDIA H100 80GB HBM3" in text
