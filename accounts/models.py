"""Accounts seen on instances, their current permissions and the change log."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now


class InstanceAccount(models.Model):
    """One login on one instance (MySQL: user@host; elsewhere ``host`` is '')."""

    instance = models.ForeignKey(
        "instances.Instance",
        on_delete=models.CASCADE,
        related_name="accounts",
        db_index=False,  # leading column of the unique constraint
    )
    username = models.CharField(max_length=255)
    host = models.CharField(max_length=255, blank=True, default="", db_default="")
    is_active = models.BooleanField(default=True, db_default=True)
    first_seen_at = models.DateTimeField(db_default=Now())
    last_seen_at = models.DateTimeField(db_default=Now())
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "instance_accounts"
        verbose_name = "account"
        verbose_name_plural = "accounts"
        ordering = ("instance", "username", "host")
        constraints = [
            models.UniqueConstraint(fields=["instance", "username", "host"], name="instance_accounts_identity_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.host}" if self.host else self.username


class AccountPermission(models.Model):
    """Current permissions of one account: exactly one row per account.

    Keyed only by ``instance_account`` (unique, so indexed); instance, db_type
    and username are read through the account, never copied (seed 000 P0/P1).
    ``snapshot`` is the engine-native detail, ``facts`` the engine-neutral
    summary the classification DSL reads.
    """

    instance_account = models.OneToOneField(InstanceAccount, on_delete=models.CASCADE, related_name="permission")
    snapshot = models.JSONField(default=dict, db_default={})
    facts = models.JSONField(default=dict, db_default={})
    is_superuser = models.BooleanField(default=False, db_default=False)
    can_grant = models.BooleanField(default=False, db_default=False)
    is_locked = models.BooleanField(default=False, db_default=False)
    roles = ArrayField(models.TextField(), default=list, db_default=[], blank=True)
    # digest of the canonical JSON of facts + snapshot: a resync compares 32
    # characters per account in the database instead of shipping every snapshot
    state_hash = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "account_permissions"

    def __str__(self) -> str:
        # the account's name when it is loaded (pages select it), never a query per row
        if AccountPermission._meta.get_field("instance_account").is_cached(self):
            return f"permissions of {self.instance_account}"
        return f"permissions of account {self.instance_account_id}"


class PrivilegeLevel(models.TextChoices):
    GLOBAL = "global"
    DATABASE = "database"
    SCHEMA = "schema"
    OBJECT = "object"
    COLUMN = "column"


class PrivilegeState(models.TextChoices):
    GRANT = "GRANT"
    DENY = "DENY"


#: what the who-can search reads of an entry besides its key: carried by its indexes (index-only scans)
ENTRY_COLUMNS = ["instance_id", "account_id", "level", "grantable", "state", "via_set_role", "implied_by", "via"]


class PrivilegeEntry(models.Model):
    """One effective privilege of one account, exactly as in its ``facts.privileges``: the
    who-can index (DESIGN.md § accounts; matching rules in ``accounts/whocan.py``).

    Derived, never edited: the account sync rewrites an account's entries from the same
    privileges as its facts, in the same transaction (``accounts/encoding.py:copy_entries``),
    so the table is an index over ``account_permissions.facts``, not a second source of truth.

    ``instance_id`` copies the account's instance so that an instance filter applies inside
    the index scan: an account never changes instance, so the copy cannot go stale, and it needs
    no foreign key of its own (the account's cascade removes the rows; a second FK would be
    checked for every row written). ``(privilege, target)`` finds the entries on an object and
    on everything containing it; ``pattern_prefix``/``pattern_suffix`` (MySQL/MariaDB
    database-level targets holding ``%``, ``_`` or ``\\``: the literal text before the first and
    after the last wildcard) find the patterns that may match a database name. Both indexes
    carry every column the search reads, so it scans no table pages. ``target`` and the pattern
    columns compare byte-wise (``COLLATE "C"``): a range scan finds every target under a prefix."""

    pk = models.CompositePrimaryKey("account_id", "ordinal")
    # leading column of the primary key: serves the per-account rewrite and the cascade
    account = models.ForeignKey(
        InstanceAccount, on_delete=models.CASCADE, related_name="privilege_entries", db_index=False
    )
    ordinal = models.PositiveIntegerField(help_text="Position in the account's facts.privileges, from 1.")
    instance_id = models.BigIntegerField(help_text="The account's instance (a copy: see the class docstring).")
    privilege = models.TextField(help_text="Upper case, as in the facts (DELETE, ALL, CONTROL, …).")
    level = models.CharField(max_length=8, choices=PrivilegeLevel.choices)
    target = models.TextField(db_collation="C", blank=True, help_text="'' for global.")
    grantable = models.BooleanField()
    state = models.CharField(max_length=5, choices=PrivilegeState.choices)
    via = ArrayField(models.TextField(), blank=True, help_text="Role path, the role holding the grant last.")
    via_set_role = models.BooleanField()
    implied_by = models.TextField(null=True, blank=True)
    pattern_prefix = models.TextField(null=True, blank=True, db_collation="C")
    pattern_suffix = models.TextField(null=True, blank=True, db_collation="C")

    class Meta:
        db_table = "account_privilege_entries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=PrivilegeLevel.values), name="privilege_entries_level_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=PrivilegeState.values), name="privilege_entries_state_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["privilege", "target"], include=ENTRY_COLUMNS, name="privilege_entries_on_idx"),
            models.Index(
                fields=["privilege", "pattern_prefix", "pattern_suffix"],
                include=["target", *ENTRY_COLUMNS],
                name="privilege_entries_pattern_idx",
                condition=models.Q(pattern_prefix__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.privilege} on {self.level} {self.target or '*'} (account {self.account_id})"


class AccountListing(models.Model):
    """The last account listing applied for an instance: one row per instance.

    ``fingerprint`` digests the raw catalog rows and the code that interprets
    them (``accounts/fingerprint.py``). A sync whose listing has the stored
    fingerprint skips parsing and comparing: the stored accounts already are
    that listing. Written in the same transaction as the accounts.
    """

    instance = models.OneToOneField(
        "instances.Instance", on_delete=models.CASCADE, primary_key=True, related_name="account_listing"
    )
    fingerprint = models.CharField(max_length=64)
    account_count = models.PositiveIntegerField()
    # when a sync last found a different listing (a resync of the same one
    # writes nothing here: see last_seen_at of the accounts)
    changed_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "instance_account_listings"

    def __str__(self) -> str:
        return f"account listing of instance {self.instance_id}"


class AccountUnreadScope(models.Model):
    """A scope the last account sync of an instance could not read (``instances.adapters.base.
    UnreadScope``): its stored privileges were kept as they were (``accounts/unread.py``).

    One row per scope and instance, written in the sync's transaction: a partial read replaces
    the instance's rows, a full read deletes them. ``name`` is the scope's label and key
    (``database app``, ``mysql.tables_priv``); ``level``/``target``/``covers``/
    ``covers_privileges``/``role_prefix`` say which stored entries and roles lie inside it
    (``UnreadScope.contains``), so pages and the API mark exactly those. ``not_read_since``: the
    last sync that read the scope in full (null: never read since WhaleFall knows the instance)."""

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="unread_scopes", db_index=False
    )
    name = models.TextField()
    level = models.CharField(max_length=8)
    target = models.TextField(blank=True)
    reason = models.TextField()
    covers = ArrayField(models.TextField(), default=list, db_default=[])
    covers_privileges = models.JSONField(default=list, db_default=[], help_text="[[level, privilege or prefix], …]")
    role_prefix = models.TextField(blank=True, default="", db_default="")
    snapshot_path = ArrayField(models.TextField(), default=list, db_default=[], blank=True)
    not_read_since = models.DateTimeField(null=True, blank=True)
    last_unread_at = models.DateTimeField(help_text="The last sync that found it unread.")

    class Meta:
        db_table = "account_unread_scopes"
        verbose_name = "unread scope"
        constraints = [
            models.UniqueConstraint(fields=["instance", "name"], name="account_unread_scopes_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (instance {self.instance_id})"


class ChangeType(models.TextChoices):
    # the first successful sync of an instance: one row for the instance (no account), what it found
    BASELINE = "baseline", "Baseline"
    ADD = "add", "Added"
    MODIFY = "modify", "Modified"
    REMOVE = "remove", "Removed"
    REACTIVATE = "reactivate", "Reactivated"


class AccountChangeLog(models.Model):
    """Append-only log of account changes found by syncs (removals included).

    The first successful sync of an instance is its **baseline**: it writes one ``baseline`` row
    for the instance (no account, ``diff.baseline`` = what it found: account count, superusers,
    grantors) and no ``add`` row per account — nothing was added, WhaleFall looked for the first
    time. Accounts that appear in later syncs are ``add``ed."""

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="account_changes", db_index=False
    )
    instance_account = models.ForeignKey(
        InstanceAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes", db_index=False
    )
    username = models.CharField(max_length=255)
    host = models.CharField(max_length=255, blank=True, default="", db_default="")
    change_type = models.CharField(max_length=20, choices=ChangeType.choices)
    diff = models.JSONField(default=dict, db_default={})
    session = models.ForeignKey(
        "sync_sessions.SyncSession",
        to_field="session_id",
        db_column="session_id",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account_changes",
    )
    changed_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "account_change_log"
        verbose_name = "account change"
        verbose_name_plural = "account changes"
        ordering = ("-changed_at",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(change_type__in=ChangeType.values), name="account_change_log_type_valid"
            ),
            # one baseline per instance (also what a sync reads to know whether it is the first)
            models.UniqueConstraint(
                fields=["instance"], condition=models.Q(change_type="baseline"), name="account_change_log_one_baseline"
            ),
        ]
        indexes = [
            models.Index(fields=["instance", "-changed_at"], name="account_changes_inst_time_idx"),
            models.Index(fields=["instance_account", "-changed_at"], name="account_changes_acct_time_idx"),
            models.Index(fields=["-changed_at"], name="account_changes_time_idx"),
        ]

    def __str__(self) -> str:
        if self.change_type == ChangeType.BASELINE:
            return f"baseline of instance {self.instance_id}"
        return f"{self.change_type} {self.username}"
