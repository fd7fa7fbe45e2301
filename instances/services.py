"""Writes for instances and credentials (the only path for these writes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from audit.services import audit_record
from instances.adapters.base import ConnectionTest
from instances.adapters.registry import get_adapter
from instances.crypto import encrypted_with_primary, reencrypt
from instances.models import Credential, Instance, InstanceTag, Tag, validate_name


@transaction.atomic
def credential_create(*, name: str, username: str, password: str) -> Credential:
    """Create a credential; the password is stored Fernet-encrypted only."""
    credential = Credential(name=name.strip(), username=username)
    credential.set_password(password)
    credential.full_clean()
    credential.save()
    audit_record(action="instances.credential.created", obj=credential, detail={"name": credential.name})
    return credential


@transaction.atomic
def credential_update(
    *, credential: Credential, name: str | None = None, username: str | None = None, password: str | None = None
) -> Credential:
    """Update fields given; ``password=None`` keeps the stored password."""
    # what is stored, not what the caller's object holds (a ModelForm has assigned its values already)
    stored = Credential.objects.filter(pk=credential.pk).values("name", "username").first() or {}
    if name is not None:
        credential.name = name.strip()
    if username is not None:
        credential.username = username
    changed = [field for field in ("name", "username") if stored.get(field) != getattr(credential, field)]
    if password is not None:
        credential.set_password(password)
        changed.append("password")  # the fact, never the value
    credential.full_clean()
    credential.save()
    audit_record(
        action="instances.credential.updated", obj=credential, detail={"name": credential.name, "changed": changed}
    )
    return credential


def credential_deleted_audit(*, instance: Credential, **_signal) -> None:
    """post_delete receiver: a credential deleted by any path (admin, API, cascade) is audited."""
    audit_record(action="instances.credential.deleted", obj=instance, detail={"name": instance.name})


@dataclass
class KeyRotation:
    """What ``credentials_rotate_key`` did: names per outcome."""

    rotated: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # already encrypted with the primary key
    failed: list[str] = field(default_factory=list)  # no configured key opens them: set them again


def credentials_rotate_key(*, progress: Callable[[str, str], None] | None = None) -> KeyRotation:
    """Re-encrypt every stored password with the primary key (settings.CREDENTIAL_KEY).

    One transaction per credential, its row locked (``SELECT … FOR UPDATE``) so a concurrent
    password change is neither lost nor overwritten; passwords already on the primary key are
    skipped, so an interrupted run is finished by running it again. A password no configured
    key opens is reported, not fatal. ``progress(name, outcome)`` is called per credential."""
    result = KeyRotation()
    for pk in Credential.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            credential = Credential.objects.select_for_update().filter(pk=pk).first()
            if credential is None:  # deleted meanwhile
                continue
            token = credential.password_encrypted
            if encrypted_with_primary(token):
                outcome = "current"
            else:
                try:
                    new_token = reencrypt(token)
                except InvalidToken:
                    outcome = "failed"
                else:
                    Credential.objects.filter(pk=pk).update(password_encrypted=new_token, updated_at=timezone.now())
                    outcome = "rotated"
            if outcome != "current":
                audit_record(
                    action="instances.credential.key_rotated", obj=credential,
                    outcome="success" if outcome == "rotated" else "failure",
                    detail={"name": credential.name, "result": outcome},
                )  # fmt: skip
        getattr(result, outcome).append(credential.name)
        if progress:
            progress(credential.name, outcome)
    return result


def tags_resolve(*, names: Iterable[str]) -> list[Tag]:
    """Tags by name, creating missing ones (two queries whatever the count)."""
    wanted = sorted({n.strip() for n in names if n and n.strip()})
    if not wanted:
        return []
    for name in wanted:
        try:
            validate_name(name)
        except ValidationError as exc:
            raise ValidationError(
                {"tags": [ValidationError(f"{name!r}: {error.message % (error.params or {})}", code=error.code)
                          for error in exc.error_list]}
            ) from exc  # fmt: skip
    Tag.objects.bulk_create([Tag(name=n) for n in wanted], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=wanted))


@transaction.atomic
def instance_create(*, tags: Iterable[str] = (), **fields) -> Instance:
    """Create an instance from model field values (``db_type`` may be a name)."""
    if isinstance(fields.get("db_type"), str):
        fields["db_type_id"] = fields.pop("db_type")
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    instance = Instance(**fields)
    instance.full_clean()
    instance.save()
    if tags:
        instance.tags.set(tags_resolve(names=tags))
    return instance


@transaction.atomic
def instance_update(*, instance: Instance, tags: Iterable[str] | None = None, **fields) -> Instance:
    """Update the given fields; ``tags=None`` leaves tags unchanged."""
    if isinstance(fields.get("db_type"), str):
        fields["db_type_id"] = fields.pop("db_type")
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    for key, value in fields.items():
        setattr(instance, key, value)
    instance.full_clean()
    instance.save()
    if tags is not None:
        instance.tags.set(tags_resolve(names=tags))
    return instance


def instances_purge(*, instance_ids: Iterable[int]) -> int:
    """Delete instances for good (not the soft delete of ``deleted_at``): one DELETE; every row
    that refers to them goes by its foreign key's ON DELETE, in the database. Returns the count."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM instances WHERE id = ANY(%s)", [list(instance_ids)])
        return cursor.rowcount


def instance_contact_record(*, instance: Instance, at: dt.datetime, version: str = "") -> None:
    """The instance answered at ``at``; ``version`` (when the session learnt it) is its
    server version. One UPDATE; every path that talks to an instance calls this
    (test connection, account sync, capacity collection), inside its own transaction."""
    fields: dict = {"last_connected_at": at}
    if version:
        fields["version"] = version[: Instance._meta.get_field("version").max_length]
    Instance.objects.filter(pk=instance.pk).update(**fields)
    for name, value in fields.items():
        setattr(instance, name, value)


def instance_test_connection(*, instance: Instance) -> ConnectionTest:
    """Connect to ``instance``, read its server version and measure the latency (ms).

    On success stores ``version`` and ``last_connected_at``, resumes the instance if the
    circuit breaker had suspended it, and returns the adapter's ``ConnectionTest``.
    Failures raise the adapter's typed error (TargetUnreachable, TargetAuthFailed,
    TargetTimeout, CredentialError, …) and change nothing. Not a health check of
    accounts or sizes: connect + version only.
    """
    result = get_adapter(instance).test_connection()
    instance_contact_record(instance=instance, at=timezone.now(), version=result.version)
    if instance.suspended_at is not None or instance.consecutive_failures:
        instances_resume(instance_ids=[instance.pk])
        instance.suspended_at, instance.consecutive_failures = None, 0
    return result


def instances_tag(*, instance_ids: Sequence[int], tag: str) -> int:
    """Add the tag ``tag`` (created when new; a printable, trimmed name) to these instances in one
    statement; returns how many did not have it yet."""
    tags = tags_resolve(names=[tag])
    if not tags:
        raise ValidationError({"tags": ["Give the name of the tag to add."]})
    (resolved,) = tags
    had = InstanceTag.objects.filter(instance_id__in=instance_ids, tag=resolved).count()
    InstanceTag.objects.bulk_create(
        [InstanceTag(instance_id=pk, tag=resolved) for pk in instance_ids], ignore_conflicts=True
    )
    return len(set(instance_ids)) - had


def instances_deactivate(*, instance_ids: Sequence[int]) -> int:
    """Stop every run from contacting these instances (``is_active`` false; history kept); one
    UPDATE, returns how many were active."""
    active = Instance.objects.filter(pk__in=instance_ids, is_active=True)
    return active.update(is_active=False, updated_at=timezone.now())


def instances_resume(*, instance_ids: Sequence[int]) -> int:
    """Lift the circuit breaker's suspension of these instances (scheduled runs contact them
    again) and start their failure count from zero; returns how many were suspended."""
    suspended = Instance.objects.filter(pk__in=instance_ids, suspended_at__isnull=False).count()
    Instance.objects.filter(pk__in=instance_ids).update(suspended_at=None, consecutive_failures=0)
    return suspended
