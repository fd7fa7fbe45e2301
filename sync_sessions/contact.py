"""Connection tests and monitoring-privilege checks of several instances, as batch sessions.

``instances`` owns both checks (``instance_test_connection``, ``instances_check_privileges``);
run over many instances they are a batch like any other — one ``config`` session (the category
of checks of how an instance is set up for monitoring), one record per instance, each contacting
one target within its deadlines — so no request waits on more than one target. The record's
``sync_details`` hold the result: ``check`` ("connection" or "privileges"), then the version and
latency, or every privilege check with its GRANT. A check that finds missing privileges is
``partial``: it ran, and its message names what the monitoring login cannot do.

Neither counts towards the circuit breaker (``config`` is not a contact category); a connection
test that succeeds lifts a suspension, as it does run alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict

from instances.models import Instance
from instances.selectors import instances_check_privileges
from instances.services import instance_test_connection
from sync_sessions.models import SyncCategory, SyncInstanceRecord, SyncSession
from sync_sessions.runner import Unit, batch_start
from sync_sessions.services import RecordOutcome


def connection_test_instance(*, instance: Instance, session: SyncSession | None = None) -> RecordOutcome:
    """The batch unit of a connection test: connect, read the version, measure the latency (ms)."""
    result = instance_test_connection(instance=instance)
    return RecordOutcome(
        details={"check": "connection", "version": result.version, "latency_ms": round(result.latency_ms, 1)}
    )


def privilege_check_instance(*, instance: Instance, session: SyncSession | None = None) -> RecordOutcome:
    """The batch unit of a privilege check: every check in the details; each failing one (with the
    GRANT that fixes it) named in the record's message, which makes the record ``partial``."""
    report = instances_check_privileges(instance=instance)
    outcome = RecordOutcome(
        details={"check": "privileges", "ok": report.ok, "checks": [asdict(check) for check in report.checks]}
    )
    for check in report.failures:
        where = f"{check.collector} {check.target}".strip()
        outcome.incomplete.append(f"{where}: {check.detail}" + (f" — fix: {check.fix}" if check.fix else "") + ".")
    return outcome


#: what a batch runs per instance (no retries: an operator asked now, and reads the answer now)
CONNECTION_TEST_UNIT = Unit(connection_test_instance)
PRIVILEGE_CHECK_UNIT = Unit(privilege_check_instance)


def instances_test_connection_batch(
    *,
    instance_ids: Sequence[int],
    created_by=None,
    enqueue: bool = False,
    progress: Callable[[SyncInstanceRecord], None] | None = None,
) -> SyncSession:
    """Test the connection of the given instances: one ``config`` session, a record each (the
    version and latency, or the typed error); inline, or one django-q2 task per instance."""
    return batch_start(
        unit=CONNECTION_TEST_UNIT, sync_category=SyncCategory.CONFIG, instance_ids=instance_ids,
        created_by=created_by, enqueue=enqueue, progress=progress,
    )  # fmt: skip


def instances_check_privileges_batch(
    *,
    instance_ids: Sequence[int],
    created_by=None,
    enqueue: bool = False,
    progress: Callable[[SyncInstanceRecord], None] | None = None,
) -> SyncSession:
    """Check the monitoring privileges of the given instances: one ``config`` session, a record
    each (every check in its details; ``partial`` naming the GRANTs when some fail)."""
    return batch_start(
        unit=PRIVILEGE_CHECK_UNIT, sync_category=SyncCategory.CONFIG, instance_ids=instance_ids,
        created_by=created_by, enqueue=enqueue, progress=progress,
    )  # fmt: skip
