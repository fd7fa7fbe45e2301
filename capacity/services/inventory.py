"""Edits of the database inventory by people (the collection maintains everything else)."""

from __future__ import annotations

from capacity.models import InstanceDatabase


def instance_database_limit_set(*, database: InstanceDatabase, size_limit_bytes: int | None) -> InstanceDatabase:
    """Set (None: clear) the byte limit the forecast of ``database`` counts the days to.
    ValidationError for a value below 1."""
    database.size_limit_bytes = size_limit_bytes
    database.full_clean(validate_unique=False, validate_constraints=False)
    database.save(update_fields=["size_limit_bytes"])
    return database
