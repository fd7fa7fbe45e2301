"""Strict API query filters: a malformed value is a 400 naming the parameter, never ignored.

django-filter's stock filters skip what they cannot parse (``?is_active=maybe`` filters
nothing) and accept more than they document (``DateFilter`` takes ``12/31/2026``, ``UUIDFilter``
takes ``{…}`` and ``urn:uuid:``). Each filter here accepts exactly the values its OpenAPI schema
(``extend_schema_field``) describes, so a client that follows the schema is never rejected
and one that does not always is. A parameter that is absent filters nothing; one that is
present but empty is malformed, except for text filters, where an empty string is a string.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import django_filters
import django_filters.fields
from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

INT64_MAX = 2**63 - 1
# longer query values are rejected (400) rather than sent to the database; the schema says so
QUERY_TEXT_MAX_LENGTH = 200
# PostgreSQL text cannot hold NUL; the schema excludes it, the form field rejects it
NO_NUL_PATTERN = r"^[^\u0000]*$"

ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": INT64_MAX}
TEXT_SCHEMA = {"type": "string", "maxLength": QUERY_TEXT_MAX_LENGTH, "pattern": NO_NUL_PATTERN}

#: the query-string forms of an integer (ASCII digits: str.isdigit() would take "٣" and "²") and
#: of a boolean, shared by these filters and the query fields of whalefall.serializers
QUERY_INTEGER = re.compile(r"-?[0-9]+")
QUERY_BOOLEANS = {"true": True, "false": False}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _present(value) -> bool:
    if value == "":
        raise ValidationError("A value is required when the parameter is given.", code="required")
    return value is not None


def parse_strict_integer(value: str, *, minimum: int, maximum: int) -> int:
    """Digits only (no ``1.0``, no spaces), within [minimum, maximum]; else ValidationError."""
    if not QUERY_INTEGER.fullmatch(value):
        raise ValidationError("Enter a whole number.", code="invalid")
    number = int(value)
    if not minimum <= number <= maximum:
        raise ValidationError(f"Enter a whole number from {minimum} to {maximum}.", code="out_of_range")
    return number


class StrictIdField(forms.Field):
    def to_python(self, value):
        return parse_strict_integer(value, minimum=1, maximum=INT64_MAX) if _present(value) else None


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if not _present(value):
            return None
        if value not in QUERY_BOOLEANS:
            raise ValidationError("Enter true or false.", code="invalid")
        return QUERY_BOOLEANS[value]


class StrictTextField(forms.CharField):
    """Exact text: not stripped, at most QUERY_TEXT_MAX_LENGTH characters, no NUL (Django's
    CharField validator)."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, max_length=QUERY_TEXT_MAX_LENGTH, **kwargs)


class StrictDateField(forms.Field):
    def to_python(self, value):
        if not _present(value):
            return None
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError("Enter a date as YYYY-MM-DD.", code="invalid") from None


class StrictDateTimeField(forms.Field):
    """RFC 3339 with an offset (``2026-12-01T04:00:00Z``, ``…+08:00``)."""

    def to_python(self, value):
        if not _present(value):
            return None
        try:
            if not _DATETIME.fullmatch(value):
                raise ValueError
            parsed = dt.datetime.fromisoformat(value.upper())
        except ValueError:
            raise ValidationError("Enter a date-time as RFC 3339, e.g. 2026-12-01T04:00:00Z.", code="invalid") from None
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            # year 1 east of UTC or year 9999 west of it: nothing is stored beyond those bounds,
            # so the nearest representable instant selects the same rows
            return (dt.datetime.min if parsed.year == 1 else dt.datetime.max).replace(tzinfo=dt.UTC)


class StrictUUIDField(forms.Field):
    def to_python(self, value):
        if not _present(value):
            return None
        if not _UUID.fullmatch(value):
            raise ValidationError("Enter a UUID as 8-4-4-4-12 hexadecimal digits.", code="invalid")
        return uuid.UUID(value)


class StrictChoiceField(django_filters.fields.ChoiceField):
    def to_python(self, value):
        _present(value)
        return super().to_python(value)


@extend_schema_field(ID_SCHEMA)
class IdFilter(django_filters.Filter):
    """An object id (positive 64-bit integer); an id nothing has matches nothing."""

    field_class = StrictIdField


@extend_schema_field({"type": "boolean"})
class BooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


@extend_schema_field(TEXT_SCHEMA)
class TextFilter(django_filters.CharFilter):
    field_class = StrictTextField


@extend_schema_field({"type": "string", "format": "date"})
class DateFilter(django_filters.Filter):
    field_class = StrictDateField


@extend_schema_field({"type": "string", "format": "date-time"})
class DateTimeFilter(django_filters.Filter):
    field_class = StrictDateTimeField


@extend_schema_field({"type": "string", "format": "uuid"})
class UUIDFilter(django_filters.Filter):
    field_class = StrictUUIDField


class ChoiceFilter(django_filters.ChoiceFilter):
    """One of the choices (the schema's enum); empty is malformed, not "any"."""

    field_class = StrictChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", None)
        super().__init__(*args, **kwargs)


class StrictTextListField(forms.Field):
    """Repeated text parameters (``?tag=a&tag=b``), each as TextFilter's."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        text = StrictTextField(required=False)
        return [text.clean(item) for item in value]


@extend_schema_field({"type": "array", "items": TEXT_SCHEMA})
class AllOfTextFilter(django_filters.Filter):
    """Every given value must match (AND): rows related to all of them, not to any one."""

    field_class = StrictTextListField

    def filter(self, qs, value):
        for item in value or ():
            qs = self.get_method(qs)(**{f"{self.field_name}__{self.lookup_expr}": item})
        return qs.distinct() if value else qs


_STRICT_FOR = {
    django_filters.BooleanFilter: BooleanFilter,
    django_filters.CharFilter: TextFilter,
    django_filters.ChoiceFilter: ChoiceFilter,
}


class FilterSet(django_filters.FilterSet):
    """Filters generated from ``Meta.fields`` / a view's ``filterset_fields`` are the strict
    ones; a field type without a strict filter must be declared explicitly."""

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        strict = _STRICT_FOR.get(filter_class)
        if strict is None:
            raise ImproperlyConfigured(
                f"{cls.__name__}: no strict filter for {field.name} ({filter_class.__name__}); declare one explicitly"
            )
        return strict, params


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend with FilterSet above as the base of generated filtersets."""

    filterset_base = FilterSet
