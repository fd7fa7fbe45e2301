"""Instances, their credentials, database types and tags."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Now

from instances.crypto import decrypt_password, encrypt_password

#: runs work against monitored instances (syncs, collections, refreshes, connection tests)
SYNC_INSTANCE_PERMISSION = "instances.sync_instance"


def validate_name(value: str) -> None:
    """Names people read in lists, logs and commands: printable (letters of any script,
    digits, punctuation, spaces inside), no control, format, private-use or unassigned
    characters, no leading or trailing whitespace."""
    if value != value.strip():
        raise ValidationError("Names cannot start or end with whitespace.", code="untrimmed")
    bad = sorted({f"U+{ord(ch):04X}" for ch in value if not ch.isprintable() and ch != " "})
    if bad:
        raise ValidationError(
            "Names must be printable; these characters are not: %(chars)s.",
            code="unprintable",
            params={"chars": ", ".join(bad[:5])},
        )


class DatabaseType(models.Model):
    """Supported engines; every ``db_type`` column in the schema is an FK here."""

    name = models.CharField(primary_key=True, max_length=20)
    display_name = models.CharField(max_length=50)
    default_port = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "database_types"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.display_name


class Credential(models.Model):
    """A login used to reach instances. The password is write-only.

    ``instances.credential_id`` is the single source of truth for which
    instances use a credential; there is no list of instance ids here.
    """

    name = models.CharField(max_length=100, validators=[validate_name])
    username = models.CharField(max_length=128)
    password_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "credentials"
        constraints = [models.UniqueConstraint(fields=["name"], name="credentials_name_uniq")]
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never show the ciphertext either
        return f"<Credential {self.pk} {self.name!r} user={self.username!r}>"

    def set_password(self, raw: str) -> None:
        self.password_encrypted = encrypt_password(raw)

    def get_password(self) -> str:
        """Plaintext password; raises CredentialError when it cannot be decrypted."""
        return decrypt_password(self.password_encrypted, credential_name=self.name)


class Tag(models.Model):
    name = models.CharField(max_length=64, validators=[validate_name])

    class Meta:
        db_table = "tags"
        constraints = [models.UniqueConstraint(fields=["name"], name="tags_name_uniq")]
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class InstanceQuerySet(models.QuerySet):
    def active(self) -> InstanceQuerySet:
        return self.filter(is_active=True, deleted_at__isnull=True)


class Instance(models.Model):
    """A monitored database server."""

    class Environment(models.TextChoices):
        PRODUCTION = "production", "Production"
        STAGING = "staging", "Staging"
        TESTING = "testing", "Testing"
        DEVELOPMENT = "development", "Development"

    name = models.CharField(max_length=128, validators=[validate_name])
    db_type = models.ForeignKey(
        DatabaseType,
        on_delete=models.PROTECT,
        db_column="db_type",
        related_name="instances",
        db_index=False,  # Meta index below: no useless varchar_pattern_ops twin
    )
    host = models.CharField(max_length=255, help_text="Host name, IP address or Unix socket directory.")
    # the validators report a bad port beside the field; the CHECK below guards every other path
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)],
                                       help_text="1–65535.")  # fmt: skip
    database_name = models.CharField(
        max_length=128,
        blank=True,
        default="",
        db_default="",
        help_text="Default database (PostgreSQL), service name (Oracle); empty for the engine default.",
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="instances"
    )
    environment = models.CharField(
        max_length=20, choices=Environment.choices, default=Environment.PRODUCTION, db_default="production"
    )
    is_active = models.BooleanField(default=True, db_default=True)
    description = models.TextField(blank=True, default="", db_default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="instances", through="InstanceTag")
    connect_timeout = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Seconds; empty: the WHALEFALL_CONNECT_TIMEOUT environment variable (10 by default).",
    )
    statement_timeout = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Seconds; empty: the WHALEFALL_STATEMENT_TIMEOUT environment variable (60 by default).",
    )
    size_limit_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Bytes the instance may hold (disk or quota); size forecasts count the days until it is "
        "reached. Empty: no limit.",
    )
    last_connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.CharField(max_length=255, blank=True, default="", db_default="", editable=False)
    # the circuit breaker: failed contacts are counted by the batch runner one layer up; scheduled
    # contacts skip a suspended instance until an operator resumes it or a connection test succeeds
    consecutive_failures = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = InstanceQuerySet.as_manager()

    class Meta:
        db_table = "instances"
        ordering = ("name",)
        # Guards the actions (test connection, sync accounts, collect capacity) in admin and API;
        # the operator group gets every custom permission (docs/architecture.md § Roles).
        permissions = [("sync_instance", "Can run syncs and connection tests on instances")]
        indexes = [models.Index(fields=["db_type"], name="instances_db_type_idx")]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="instances_name_uniq"),
            models.CheckConstraint(
                condition=models.Q(port__gte=1, port__lte=65535), name="instances_port_range"
            ),
            models.CheckConstraint(
                condition=models.Q(environment__in=["production", "staging", "testing", "development"]),
                name="instances_environment_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_connect_timeout(self) -> int:
        return self.connect_timeout or settings.WHALEFALL["CONNECT_TIMEOUT"]

    @property
    def effective_statement_timeout(self) -> int:
        return self.statement_timeout or settings.WHALEFALL["STATEMENT_TIMEOUT"]


class InstanceTag(models.Model):
    """Instance ↔ tag link; the unique (instance, tag) index also serves instance lookups."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    class Meta:
        db_table = "instance_tags"
        constraints = [models.UniqueConstraint(fields=["instance", "tag"], name="instance_tags_uniq")]

    def __str__(self) -> str:
        return f"{self.instance_id}:{self.tag_id}"


def _environment_choices_valid(value: list[str]) -> None:
    unknown = sorted(set(value) - set(Instance.Environment.values))
    if unknown:
        names = ", ".join(unknown)
        raise ValidationError("Unknown environment(s): %(names)s.", code="invalid", params={"names": names})


class Scope(models.Model):
    """A team's share of the estate (README § Team scopes): the instances in ANY of
    ``environments`` (when some are given) AND carrying ANY of ``tags`` (when some are given).
    A scope with neither selects no instance. Users see the union of their scopes and of their
    groups' scopes; a user in no scope (and a superuser) sees every instance."""

    name = models.CharField(max_length=100, validators=[validate_name])
    description = models.TextField(blank=True, default="", db_default="")
    environments = ArrayField(
        models.CharField(max_length=20, choices=Instance.Environment.choices),
        blank=True,
        default=list,
        db_default=Value([], output_field=ArrayField(models.CharField(max_length=20))),
        validators=[_environment_choices_valid],
        help_text="Instances in any of these environments; none: any environment.",
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="scopes", help_text="Instances carrying any of these tags; none: any tags."
    )
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="instance_scopes")
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="instance_scopes")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "instance_scopes"
        verbose_name = "team scope"
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["name"], name="instance_scopes_name_uniq"),
            models.CheckConstraint(
                condition=models.Q(
                    environments__contained_by=["production", "staging", "testing", "development"]
                ),
                name="instance_scopes_environments_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name
