"""The `gputop` command that `pip install gputop` puts on PATH: the Rust program itself."""

import signal
import sys


def main():
    from . import _native

    # Python turns Ctrl-C into an exception it checks for between bytecodes, which never come
    # while the Rust program runs: give the signal back its default (the program handles it).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.main(["gputop"] + sys.argv[1:]))
