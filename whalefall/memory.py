"""Python's cyclic garbage collector paused around work that allocates many short-lived objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block.

    For work that allocates some hundred thousand small objects which stay alive until it
    ends and form no cycles (an account listing parsed and applied, the candidate entries of a
    who-can search): each collection would walk all of them and free nothing — a third of the
    parse time of 10,000 accounts. Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
