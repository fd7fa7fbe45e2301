"""Typed errors shared by adapters, services, API, admin, commands and sessions.

Each error carries a stable ``code``, the HTTP status the API answers with, and
optionally the instance it concerns. Messages never contain a password: build
them from instance names and driver messages passed through ``redact``.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

#: ValidationError codes of input that matches the API schema but breaks a rule the schema cannot
#: state (a range ending in the future, an id nothing has, a name with a control character): the
#: API answers 422 instead of 400; "unique" alone is a 409 (whalefall.api.exception_handler)
UNPROCESSABLE_CODES = frozenset({"unprocessable", "does_not_exist", "untrimmed", "unprintable", "unique"})


def unprocessable(field: str, message: str, *, code: str = "unprocessable") -> ValidationError:
    """A ValidationError on ``field`` the API answers 422 (see UNPROCESSABLE_CODES)."""
    return ValidationError({field: [ValidationError(message, code=code)]})


class WhalefallError(Exception):
    """Base class: ``code`` and ``http_status`` drive every error mapping."""

    code = "whalefall_error"
    http_status = 500

    def __init__(self, message: str, *, instance_id: int | None = None, instance_name: str | None = None):
        self.message = message
        self.instance_id = instance_id
        self.instance_name = instance_name
        super().__init__(message)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "instance_id": self.instance_id}


# --- configuration / state ---------------------------------------------------
class CredentialError(WhalefallError):
    """A credential is missing or its password cannot be decrypted."""

    code = "credential_error"
    http_status = 409


class PartitionMissing(WhalefallError):
    """A fact-table write hit a month without a partition."""

    code = "partition_missing"
    http_status = 409


class ConcurrentOperation(WhalefallError):
    """Another run holds the lock for this instance/operation."""

    code = "concurrent_operation"
    http_status = 409


class AdapterUnavailable(WhalefallError):
    """No adapter (or no driver) for the instance's database type."""

    code = "adapter_unavailable"
    http_status = 409


class UnitUnavailable(WhalefallError):
    """A batch session names a unit of work that cannot be imported (renamed or removed since)."""

    code = "unit_unavailable"
    http_status = 409


class AlreadyFinished(WhalefallError):
    """The run (a sync session) has already finished: there is nothing left to cancel."""

    code = "already_finished"
    http_status = 409


class Protected(WhalefallError):
    """The object may not be changed this way (e.g. deleting a system classification)."""

    code = "protected"
    http_status = 409


class LoginLocked(WhalefallError):
    """Too many failed logins for this username from this address: wait for the cool-off."""

    code = "login_locked"
    http_status = 429


class NotFound(WhalefallError):
    """A named object (e.g. a database of an instance) does not exist."""

    code = "not_found"
    http_status = 404


# --- remote targets ----------------------------------------------------------
class TargetError(WhalefallError):
    """Base for failures talking to a monitored instance (upstream: 502)."""

    code = "target_error"
    http_status = 502


class TargetUnreachable(TargetError):
    code = "target_unreachable"


class TargetAuthFailed(TargetError):
    code = "target_auth_failed"


class TargetPermissionDenied(TargetError):
    code = "target_permission_denied"


class TargetQueryFailed(TargetError):
    code = "target_query_failed"


class TargetTimeout(TargetError):
    code = "target_timeout"
    http_status = 504


#: Failures of the monitored instance itself: it does not answer, refuses the login, times out or
#: denies the monitoring login a read. Only these count towards its circuit breaker (where a
#: run's record is finished). Not TargetQueryFailed: the server accepted the
#: connection and the login and answered, so it is alive and cheap to contact, and the statement
#: that failed is usually ours (a catalog query a version or flavour does not support, a listing
#: we cannot key) — counting it would let one bad deploy suspend every instance of a version.
#: Nor our own refusals (ConcurrentOperation, PartitionMissing, CredentialError,
#: AdapterUnavailable, UnitUnavailable) or bugs (any other exception).
TARGET_FAILURES: tuple[type[TargetError], ...] = (
    TargetUnreachable,
    TargetAuthFailed,
    TargetPermissionDenied,
    TargetTimeout,
)


_SECRET_PATTERNS = [
    re.compile(r"(password\s*[=:]\s*)('[^']*'|\"[^\"]*\"|\S+)", re.IGNORECASE),
    re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)"),
]


def redact(text: str, *secrets: str | None) -> str:
    """Remove known secrets and ``password=…``/URL passwords from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _SECRET_PATTERNS[0].sub(r"\1***", text)
    return _SECRET_PATTERNS[1].sub(r"\1***\3", text)


#: the code of a failure that is not a WhalefallError: a bug (or an error nobody typed yet)
INTERNAL_ERROR = "internal_error"


def describe(exc: BaseException) -> tuple[str, str]:
    """``(code, message)`` for any exception: how sessions, commands and admin
    messages record a failure. Unexpected errors keep their type name."""
    if isinstance(exc, WhalefallError):
        return exc.code, exc.message
    return INTERNAL_ERROR, f"{type(exc).__name__}: {redact(str(exc))}"
