"""Consume a streamed response the way a client does, measuring what a constant-memory export
must hold: its lines, the peak memory while streaming, and the queries it ran."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass(frozen=True)
class Streamed:
    lines: int
    peak_bytes: int
    queries: list[str]


def stream_consume(response) -> Streamed:
    assert response.streaming
    lines = 0
    tracemalloc.start()
    try:
        with CaptureQueriesContext(connection) as captured:
            for chunk in response.streaming_content:
                lines += chunk.count(b"\n")
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Streamed(lines, peak, [q["sql"] for q in captured.captured_queries])
