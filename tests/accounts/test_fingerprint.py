"""The unchanged-listing shortcut: a resync whose catalog rows (and the code
reading them) are those of the last applied listing skips parsing and
comparing — and never skips a real change."""

import pathlib
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import fingerprint
from accounts.models import AccountChangeLog, AccountListing, InstanceAccount
from accounts.services import accounts_apply, accounts_sync_instance
from instances.adapters.base import AccountFacts
from instances.adapters.mysql.adapter import MySQLAdapter
from instances.adapters.postgresql.adapter import PostgreSQLAdapter
from instances.adapters.rows import Rows
from tests.support.factories import make_fake_instance
from tests.support.fake_adapter import FAKE_ACCOUNTS, FakeAdapter, generated_accounts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_fakes():
    yield
    FAKE_ACCOUNTS.clear()


def test_unchanged_listing_is_recognised_and_only_touches_timestamps():
    instance = make_fake_instance("accounts=40")
    first = accounts_sync_instance(instance=instance)
    listing = AccountListing.objects.get(instance=instance)
    assert (listing.account_count, first.created) == (40, 40)
    seen = dict(InstanceAccount.objects.filter(instance=instance).values_list("pk", "last_seen_at"))

    with CaptureQueriesContext(connection) as queries:
        outcome = accounts_sync_instance(instance=instance)

    assert (outcome.synced, outcome.created, outcome.updated, outcome.deleted) == (40, 0, 0, 0)
    assert outcome.details == {"unchanged_listing": True}
    # advisory lock, listing check, last_seen_at bump, instance timestamp, unlock
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 5, statements
    after = dict(InstanceAccount.objects.filter(instance=instance).values_list("pk", "last_seen_at"))
    assert all(after[pk] > seen[pk] for pk in seen)
    refreshed = AccountListing.objects.get(instance=instance)
    assert (refreshed.fingerprint, refreshed.changed_at) == (listing.fingerprint, listing.changed_at)


def test_a_changed_listing_takes_the_full_path():
    instance = make_fake_instance()
    FAKE_ACCOUNTS[instance.name] = generated_accounts(5)
    accounts_sync_instance(instance=instance)
    before = AccountListing.objects.get(instance=instance).fingerprint

    FAKE_ACCOUNTS[instance.name] = generated_accounts(5)[:4] + [AccountFacts("user00004", "%", is_locked=True)]
    outcome = accounts_sync_instance(instance=instance)

    assert outcome.updated == 1 and "unchanged_listing" not in outcome.details
    assert AccountListing.objects.get(instance=instance).fingerprint != before
    assert AccountChangeLog.objects.filter(instance=instance, change_type="modify").count() == 1


def test_apply_without_fingerprint_forgets_the_listing_so_the_next_sync_compares():
    instance = make_fake_instance("accounts=3")
    accounts_sync_instance(instance=instance)
    accounts_apply(instance=instance, accounts=[])  # stored state no longer matches any read listing
    assert not AccountListing.objects.filter(instance=instance).exists()

    outcome = accounts_sync_instance(instance=instance)

    assert outcome.updated == 3  # reactivated, not skipped as "unchanged"
    assert InstanceAccount.objects.filter(instance=instance, is_active=True).count() == 3


def test_fingerprint_covers_rows_and_the_reading_code():
    rows = {"users": [{"User": "app", "Host": "%"}]}
    mysql = MySQLAdapter.__new__(MySQLAdapter)
    postgres = PostgreSQLAdapter.__new__(PostgreSQLAdapter)
    same = fingerprint.listing_fingerprint(adapter=mysql, rows=rows)
    assert same == fingerprint.listing_fingerprint(adapter=mysql, rows={"users": [{"User": "app", "Host": "%"}]})
    assert same != fingerprint.listing_fingerprint(adapter=mysql, rows={"users": [{"User": "app", "Host": "h"}]})
    # the same rows read by another engine's code are another listing
    assert same != fingerprint.listing_fingerprint(adapter=postgres, rows=rows)


def test_rows_never_built_are_fingerprinted_from_the_driver_tuples_as_their_dicts_would_be():
    mysql = MySQLAdapter.__new__(MySQLAdapter)
    lazy = Rows(("User", "Host", "plugin"), [("app", "%", None), ("ro", "10.0.%", "ed25519")])
    as_dicts = [{"User": "app", "Host": "%", "plugin": None}, {"User": "ro", "Host": "10.0.%", "plugin": "ed25519"}]
    digest = fingerprint.listing_fingerprint(adapter=mysql, rows={"users": lazy, "db_privs": Rows(("Db",), [])})
    assert digest == fingerprint.listing_fingerprint(adapter=mysql, rows={"users": as_dicts, "db_privs": []})
    assert not lazy.built and lazy.column("Host") == ["%", "10.0.%"] and len(lazy) == 2
    assert lazy == as_dicts and lazy.built  # reading a row builds them all
    lazy[1]["User"] = "changed by a reader"  # what the parse would see: another listing
    assert fingerprint.listing_fingerprint(adapter=mysql, rows={"users": lazy, "db_privs": []}) != digest


def test_equal_values_fingerprint_equal_whatever_objects_the_driver_shared():
    """marshal's format 2 writes values, never references to objects met before."""
    mysql = MySQLAdapter.__new__(MySQLAdapter)
    shared = "app"
    same_object = {"users": [{"User": shared, "Host": "%"}, {"User": shared, "Host": "%"}]}
    copies = {"users": [{"User": "".join(["a", "pp"]), "Host": "%"}, {"User": "".join(["ap", "p"]), "Host": "%"}]}
    assert fingerprint.listing_fingerprint(adapter=mysql, rows=same_object) == fingerprint.listing_fingerprint(
        adapter=mysql, rows=copies
    )


def test_values_marshal_does_not_take_are_fingerprinted_by_their_repr():
    mysql = MySQLAdapter.__new__(MySQLAdapter)

    def digest(when):
        return fingerprint.listing_fingerprint(adapter=mysql, rows={"users": [{"User": "app", "changed": when}]})

    first = datetime(2026, 1, 1, tzinfo=UTC)
    assert digest(first) == digest(datetime(2026, 1, 1, tzinfo=UTC))
    assert digest(first) != digest(datetime(2026, 1, 2, tzinfo=UTC))
    assert digest(Decimal("1.0")) != digest(Decimal("1.00"))  # the text the driver gave


def test_fingerprint_changes_when_the_reading_code_changes(tmp_path, monkeypatch):
    module = tmp_path / "wf_fp_probe.py"
    module.write_text("VERSION = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(fingerprint, "_STATE_MODULES", (*fingerprint._STATE_MODULES, "wf_fp_probe"))
    adapter = FakeAdapter.__new__(FakeAdapter)
    try:
        fingerprint._code_digest.cache_clear()
        before = fingerprint.listing_fingerprint(adapter=adapter, rows={})
        module.write_text(textwrap.dedent("VERSION = 2  # an upgrade changed how rows are read\n"))
        fingerprint._code_digest.cache_clear()  # a new process after the upgrade
        assert fingerprint.listing_fingerprint(adapter=adapter, rows={}) != before
    finally:
        sys.modules.pop("wf_fp_probe", None)
        fingerprint._code_digest.cache_clear()


def test_every_module_of_the_shared_rule_packages_is_covered():
    """A module added to a package the state depends on (``matching`` became one) is fingerprinted
    too: else an upgrade of it would leave unchanged listings with the old rules' state."""
    from instances.adapters import matching

    package = pathlib.Path(matching.__file__).parent
    names = {f"instances.adapters.matching.{path.stem}" for path in package.glob("*.py") if path.stem != "__init__"}
    assert names <= set(fingerprint._STATE_MODULES)


def test_postgresql_rows_carry_the_connected_database():
    """Object privileges are read from the instance's database: the same ACL
    rows read from another database are another listing."""
    from instances.adapters.base import ConnectionParams

    def adapter(database):
        return PostgreSQLAdapter(ConnectionParams(None, "pg", "127.0.0.1", 5432, "u", "", database=database))

    rows = {"roles": [], "memberships": [], "databases": [], "objects": []}
    first = adapter("app").parse_account_rows({**rows, "connected_database": "app"})
    assert first == []
    fingerprints = {
        fingerprint.listing_fingerprint(adapter=adapter(db), rows={**rows, "connected_database": db})
        for db in ("app", "billing")
    }
    assert len(fingerprints) == 2
