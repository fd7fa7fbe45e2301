"""Console output shared by the batch commands: progress lines and a summary table."""

from __future__ import annotations

from sync_sessions.models import RECORD_SUCCEEDED, RecordStatus, SyncInstanceRecord, SyncSession


def progress_line(record: SyncInstanceRecord, index: int) -> str:
    """"[3/40] db-name: ok  synced=…" for a finished record (its session is loaded)."""
    if record.status in RECORD_SUCCEEDED:
        counts = (
            f"synced={record.items_synced} created={record.items_created} "
            f"updated={record.items_updated} deleted={record.items_deleted}"
        )
        partial = record.status == RecordStatus.PARTIAL
        detail = f"PARTIAL  {counts}  {record.error_message}" if partial else f"ok  {counts}"
    else:
        detail = f"{record.status.upper()}  {record.error_code}: {record.error_message}"
    return f"[{index}/{record.session.total_instances}] {record.instance_name}: {detail}"


def summary_table(session: SyncSession) -> str:
    rows = list(session.records.order_by("instance_name"))
    width = max([len("instance"), *(len(r.instance_name) for r in rows)])
    lines = [
        f"{'instance':<{width}}  {'status':<9}  {'synced':>7}  {'created':>7}  {'updated':>7}  {'deleted':>7}  error",
    ]
    for r in rows:
        lines.append(
            f"{r.instance_name:<{width}}  {r.status:<9}  {r.items_synced:>7}  {r.items_created:>7}  "
            f"{r.items_updated:>7}  {r.items_deleted:>7}  {r.error_code}"
        )
    lines.append(
        f"session {session.session_id}: {session.status} — {session.successful_instances} succeeded"
        + (f" ({session.partial_instances} partially)" if session.partial_instances else "")
        + f", {session.failed_instances} failed"
        + (f", {session.skipped_instances} skipped" if session.skipped_instances else "")
        + (f", {session.cancelled_instances} cancelled" if session.cancelled_instances else "")
        + f" of {session.total_instances}"
    )
    return "\n".join(lines)
