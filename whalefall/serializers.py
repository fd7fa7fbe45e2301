"""Strict serializer fields: the API accepts exactly the JSON types its schema states.

DRF coerces by default — ``"port": "5432"`` is a port, ``"is_active": 0`` is false, ``"names":
[0]`` is ``["0"]`` — so a client can send what the schema forbids
and be told nothing. These fields refuse other types (400) instead; ``ModelSerializer`` maps
model fields to them. Query-string fields (``Query…``) take text, as query strings are.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty

from whalefall.filters import ID_SCHEMA, INT64_MAX, QUERY_BOOLEANS, QUERY_INTEGER, QUERY_TEXT_MAX_LENGTH, TEXT_SCHEMA


class StrictCharField(serializers.CharField):
    """A JSON string. Surrounding whitespace is trimmed (DRF's default; passwords opt out), and a
    non-empty string of only whitespace is a 422: it matches the schema, which cannot say
    "not only whitespace", while an empty one does not (400)."""

    def run_validation(self, data=empty):
        if isinstance(data, str) and data and self.trim_whitespace and not self.allow_blank and not data.strip():
            raise serializers.ValidationError(ErrorDetail("This field may not be only spaces.", code="unprocessable"))
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSlugField(serializers.SlugField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (not a string of digits, not a float, not a boolean)."""

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean (not 0/1, not "yes")."""

    def to_internal_value(self, data):
        if type(data) is not bool:
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class _QueryValue:
    """Read the parameter as given: DRF reads an empty query value as absent (the default)."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)


class QueryBooleanField(_QueryValue, serializers.BooleanField):
    """A query parameter: exactly ``true`` or ``false``."""

    def to_internal_value(self, data):
        if data not in QUERY_BOOLEANS:
            self.fail("invalid")
        return QUERY_BOOLEANS[data]


@extend_schema_field({"type": "string", "enum": ["true", "false", "1", "0"]})
class QueryFlagField(QueryBooleanField):
    """A query flag that also takes 1 and 0 (``?explain=1``)."""

    def to_internal_value(self, data):
        return super().to_internal_value({"1": "true", "0": "false"}.get(data, data))


class QueryIntegerField(_QueryValue, serializers.IntegerField):
    """A query parameter: digits only (with an optional minus), within the field's bounds."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not QUERY_INTEGER.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(ID_SCHEMA)
class QueryIdField(QueryIntegerField):
    """A query parameter naming an object by id: a positive 64-bit integer (an id nothing has
    matches nothing)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=INT64_MAX, **kwargs)


@extend_schema_field(TEXT_SCHEMA)
class QueryTextField(_QueryValue, serializers.CharField):
    """A query parameter: text as given (not trimmed; empty is a string), at most
    QUERY_TEXT_MAX_LENGTH characters, no NUL — as the text filters (``whalefall.filters``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", QUERY_TEXT_MAX_LENGTH)
        kwargs.setdefault("allow_blank", True)
        super().__init__(trim_whitespace=False, **kwargs)


class QueryChoiceField(_QueryValue, serializers.ChoiceField):
    """A query parameter: exactly one of the choices (the schema's enum)."""


class QueryTextListField(serializers.ListField):
    """A repeated text query parameter (``?tag=a&tag=b``), each as ``QueryTextField``."""

    def __init__(self, **kwargs):
        super().__init__(child=QueryTextField(), **kwargs)


class RejectUnknownFields:
    """A body property the serializer does not know is a 400 (a typo such as ``size_limt_bytes``
    would otherwise be ignored and the request "succeed"); read-only fields sent back, as a
    client round-tripping a GET does, are known and ignored. The schema says
    ``additionalProperties: false`` (whalefall.openapi.request_schemas_strict)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields), key=str)
            if unknown:
                unknown_field = ErrorDetail("Unknown field.", code="unknown")
                raise serializers.ValidationError({key: [unknown_field] for key in unknown})
        return super().to_internal_value(data)


class Serializer(RejectUnknownFields, serializers.Serializer):
    """A request body serializer."""


class ModelSerializer(RejectUnknownFields, serializers.ModelSerializer):
    """ModelSerializer whose generated fields are the strict ones above, rejecting unknown ones."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.IntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.PositiveBigIntegerField: StrictIntegerField,
        models.BooleanField: StrictBooleanField,
    }
    serializer_choice_field = StrictChoiceField



class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by primary key of exactly the key's JSON type (an id: integer; a database
    type: its name, a string). A key nothing has is a 422 (code ``does_not_exist``)."""

    def __init__(self, *, pk_type: type = int, **kwargs):
        self.pk_type = pk_type
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if type(data) is not self.pk_type or (isinstance(data, str) and "\x00" in data):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)
