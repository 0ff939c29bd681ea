"""`%gputop` in IPython and Jupyter, after `%load_ext gputop`:

    %gputop               the GPUs now (a table)
    %gputop -w [SECS]     a live view until interrupted
    %gputop -i 0,1        only these GPUs
"""

import shlex


def _magic(line):
    from . import query, watch

    args = shlex.split(line)
    ids, live, interval = None, False, 1.0
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-i", "--id") and i + 1 < len(args):
            ids = args[i + 1].split(",")
            i += 1
        elif arg in ("-w", "--watch"):
            live = True
            if i + 1 < len(args) and not args[i + 1].startswith("-"):
                interval = float(args[i + 1])
                i += 1
        else:
            raise ValueError("%gputop takes -w [SECS] and -i IDS, not {!r}".format(arg))
        i += 1
    if live:
        watch(interval, ids=ids)
        return None
    return query(ids)


def register(ipython):
    ipython.register_magic_function(_magic, "line", "gputop")
