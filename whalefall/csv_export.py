"""CSV export of a filtered list, one definition for the admin action and the API.

Each app defines the columns of its lists once (``<ENTITY>_CSV_COLUMNS`` in its selectors:
``(header, field path)`` pairs). :func:`csv_lines` streams them from one server-side cursor, so
memory stays constant whatever the row count; the admin's "Export as CSV"
(``whalefall.admin_tools.CsvExportMixin``) and the API's ``?format=csv`` (:class:`CsvListMixin`)
both answer with :func:`csv_response`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping

from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

CsvColumns = tuple[tuple[str, str], ...]

#: a cell starting with one of these is a formula to a spreadsheet: it is exported with a leading '
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value):
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def csv_lines(queryset, columns: CsvColumns, *, chunk_size: int = 2000) -> Iterator[str]:
    """The header, then one CSV line per row of ``queryset`` with the ``(header, field path)``
    columns: one query, read from a server-side cursor ``chunk_size`` rows at a time."""
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _path in columns])
    rows = queryset.prefetch_related(None).values_list(*(path for _header, path in columns))
    for row in rows.iterator(chunk_size=chunk_size):
        yield writer.writerow([_cell(value) for value in row])


def csv_item_lines(items: Iterable[Mapping], columns: CsvColumns) -> Iterator[str]:
    """The header, then one CSV line per item (a mapping; ``columns``' paths are its keys): for
    an answer computed in Python (the who-can search) rather than read by one query."""
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _key in columns])
    for item in items:
        yield writer.writerow([_cell(item[key]) for _header, key in columns])


def csv_response(queryset, columns: CsvColumns, *, name: str) -> StreamingHttpResponse:
    """A streamed attachment ``<name>-<local time>.csv`` of ``queryset`` as ``columns``."""
    return _attachment(csv_lines(queryset, columns), name)


def csv_items_response(items: Iterable[Mapping], columns: CsvColumns, *, name: str) -> StreamingHttpResponse:
    """The same for ``items`` (``csv_item_lines``)."""
    return _attachment(csv_item_lines(items, columns), name)


def _attachment(lines: Iterator[str], name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localtime():%Y%m%d-%H%M%S}.csv"'
    return response


class CsvRenderer(BaseRenderer):
    """``text/csv`` (``?format=csv`` or ``Accept: text/csv``) on the list endpoints of
    :class:`CsvListMixin`. The rows never pass through here: the list streams them itself;
    errors are answered as JSON (``CsvListMixin.finalize_response``)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise AssertionError("CsvListMixin streams CSV and answers errors as JSON")  # pragma: no cover


class CsvListMixin:
    """The list action of a DRF view also answers ``text/csv``: the header row, then every row
    the filters and ordering select, as ``csv_columns``, streamed. Pagination does not apply;
    its parameters are still checked (whalefall.api's paginators), as the schema states them."""

    csv_columns: CsvColumns = ()

    def _lists(self) -> bool:
        # also for OPTIONS ("metadata") and a method the view lacks (None): with ?format=csv those
        # still answer what they answer without it (the metadata, 405), as JSON
        return getattr(self, "action", "list") in ("list", "metadata", None)

    def get_renderers(self):
        renderers = super().get_renderers()
        return [*renderers, CsvRenderer()] if self._lists() else renderers

    def list(self, request, *args, **kwargs):
        if isinstance(request.accepted_renderer, CsvRenderer):
            queryset = self.filter_queryset(self.get_queryset())
            if hasattr(self.paginator, "query_validate"):  # not applied, but malformed is still a 400
                self.paginator.query_validate(request)
            return csv_response(queryset, self.csv_columns, name=queryset.model._meta.db_table)
        return super().list(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and isinstance(getattr(response, "accepted_renderer", None), CsvRenderer):
            # not the streamed rows: an error (401, 400 for a filter, 405, 429, ...) or OPTIONS, as JSON
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response
