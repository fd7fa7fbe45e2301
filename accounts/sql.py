"""Set-based SQL of the account sync and of the who-can search (PostgreSQL).

Every statement takes its accounts as a few array parameters (``unnest``,
``ANY``), a jsonb document (``jsonb_to_recordset``) or a ``COPY`` stream;
writes are ``INSERT … SELECT`` / ``ON CONFLICT`` / ``COPY`` — a fixed number
of statements per instance, whatever the number of accounts (the changed
permissions: one statement per 64 MB of their JSON, ``encoding.DOC_LIMIT``).
"""

# The stored side of the comparison: every account of the instance with its
# state digest (NULL without a permission row). The listing is compared with
# it in Python (accounts/services.py:_plan), by digest.
STORED_ACCOUNTS = """
SELECT a.id, a.username, a.host, a.is_active, p.state_hash
FROM instance_accounts a
LEFT JOIN account_permissions p ON p.instance_account_id = a.id
WHERE a.instance_id = %(instance_id)s
"""

INSERT_ACCOUNTS = """
INSERT INTO instance_accounts (instance_id, username, host, is_active, first_seen_at, last_seen_at)
SELECT %(instance_id)s, x.username, x.host, true, %(now)s, %(now)s
FROM unnest(%(usernames)s::text[], %(hosts)s::text[]) AS x(username, host)
RETURNING id, username, host
"""

# Facts before this sync of the accounts that changed, return or vanished
# (for the field-level diff of their change-log rows).
OLD_FACTS = "SELECT instance_account_id, facts::text FROM account_permissions WHERE instance_account_id = ANY(%(ids)s)"

# Changed permissions of stored accounts (new accounts' rows go by COPY_PERMISSIONS).
UPSERT_PERMISSIONS = """
INSERT INTO account_permissions
    (instance_account_id, snapshot, facts, state_hash, is_superuser, can_grant, is_locked, roles, updated_at)
SELECT x.id, x.snapshot, x.facts, x.state_hash,
       (x.facts->>'is_superuser')::boolean, (x.facts->>'can_grant')::boolean,
       (x.facts->>'is_locked')::boolean, ARRAY(SELECT jsonb_array_elements_text(x.facts->'roles')), %(now)s
FROM jsonb_to_recordset(%(doc)s::jsonb) AS x(id bigint, facts jsonb, snapshot jsonb, state_hash text)
ON CONFLICT (instance_account_id) DO UPDATE SET
    snapshot = EXCLUDED.snapshot, facts = EXCLUDED.facts, state_hash = EXCLUDED.state_hash,
    is_superuser = EXCLUDED.is_superuser, can_grant = EXCLUDED.can_grant, is_locked = EXCLUDED.is_locked,
    roles = EXCLUDED.roles, updated_at = EXCLUDED.updated_at
"""

# The who-can index (account_privilege_entries, accounts/whocan.py): an account's entries are
# its facts.privileges, one row each in the same order, rewritten whenever its facts are:
# changed accounts lose their old entries, then the entries of the new and changed accounts
# are streamed by COPY (accounts/encoding.py:copy_entries, from the same privileges that were
# encoded into the facts). A deactivated account keeps its facts, and so its entries.
DELETE_ENTRIES = "DELETE FROM account_privilege_entries WHERE account_id = ANY(%(ids)s)"
COPY_ENTRIES = (
    "COPY account_privilege_entries (account_id, ordinal, instance_id, privilege, level, target, grantable, state, "
    "via, via_set_role, implied_by, pattern_prefix, pattern_suffix) FROM STDIN"
)

REACTIVATE = "UPDATE instance_accounts SET is_active = true, deactivated_at = NULL WHERE id = ANY(%(ids)s)"
DEACTIVATE = "UPDATE instance_accounts SET is_active = false, deactivated_at = %(now)s WHERE id = ANY(%(ids)s)"
# accounts inserted by this sync already carry last_seen_at = now: skip them
TOUCH_ACTIVE = (
    "UPDATE instance_accounts SET last_seen_at = %(now)s "
    "WHERE instance_id = %(instance_id)s AND is_active AND last_seen_at < %(now)s"
)

# Has the instance had its first sync (accounts/services.py: only asked when nothing is stored)?
# The partial unique index account_change_log_one_baseline answers it.
BASELINE_EXISTS = "SELECT 1 FROM account_change_log WHERE instance_id = %(instance_id)s AND change_type = 'baseline'"

# Accounts inserted by this sync: their permission rows are new, so they are streamed with COPY (no
# conflict to handle); so are the change-log rows of every sync ("add" rows of new accounts — none
# at the baseline — and the modify, remove, reactivate and baseline rows).
COPY_PERMISSIONS = (
    "COPY account_permissions (instance_account_id, snapshot, facts, state_hash, is_superuser, can_grant, "
    "is_locked, roles, updated_at) FROM STDIN"
)
COPY_CHANGES = (
    "COPY account_change_log (instance_id, instance_account_id, username, host, change_type, diff, session_id, "
    "changed_at) FROM STDIN"
)


# The stored listing fingerprint (accounts/fingerprint.py): a resync with the
# same fingerprint only bumps the timestamps (gets the account count, and the stored unread
# scopes with their since-dates: a partial read's fingerprint covers its scopes, accounts/unread.py).
# The instance's unread scopes (accounts/unread.py) with their since-dates: JSON text, name → date.
UNREAD_SINCE = """(SELECT coalesce(jsonb_object_agg(s.name, s.not_read_since), '{}') FROM account_unread_scopes s
                   WHERE s.instance_id = %(instance_id)s)::text"""
SAME_LISTING = f"""
SELECT l.account_count, {UNREAD_SINCE}
FROM instance_account_listings l
WHERE l.instance_id = %(instance_id)s AND l.fingerprint = %(fingerprint)s
"""
# The same partial read again: its scopes are still unread (their since-dates stay)
TOUCH_UNREAD = "UPDATE account_unread_scopes SET last_unread_at = %(now)s WHERE instance_id = %(instance_id)s"
# A full read: the instance has no unread scopes any more (accounts/unread.py), deleted by the
# same statement that stores or forgets the fingerprint.
UPSERT_LISTING = """
WITH read_in_full AS (DELETE FROM account_unread_scopes WHERE instance_id = %(instance_id)s)
INSERT INTO instance_account_listings (instance_id, fingerprint, account_count, changed_at)
VALUES (%(instance_id)s, %(fingerprint)s, %(account_count)s, %(now)s)
ON CONFLICT (instance_id) DO UPDATE SET
    fingerprint = EXCLUDED.fingerprint, account_count = EXCLUDED.account_count, changed_at = EXCLUDED.changed_at
"""
FORGET_LISTING = """
WITH read_in_full AS (DELETE FROM account_unread_scopes WHERE instance_id = %(instance_id)s)
DELETE FROM instance_account_listings WHERE instance_id = %(instance_id)s
"""


# The who-can search's candidate entries (accounts.whocan.narrowing), from the indexes alone (both
# carry every column read; three arms of a UNION ALL, so that each is an index-only scan, where an
# OR would be a bitmap scan of the table): privilege in %(names)s and a target containing the
# object (privilege_entries_on_idx); a MySQL database pattern whose literal prefix and suffix may
# match the object's first part (privilege_entries_pattern_idx), not already selected by its
# target; for "anything inside", a target in [%(inside)s, %(inside_end)s)
# (privilege_entries_on_idx, a range: the column compares byte-wise; empty otherwise). Of the
# chosen instances. The rules decide in Python (accounts.whocan.account_answer); then
# WHO_CAN_ACCOUNTS reads the answering accounts.
WHO_CAN_CANDIDATES = """
SELECT e.account_id, e.instance_id, e.privilege, e.level, e.target, e.grantable, e.state, e.via, e.via_set_role,
       e.implied_by
FROM account_privilege_entries e
WHERE e.privilege = ANY(%(names)s) AND e.target = ANY(%(targets)s)
  AND e.instance_id = ANY(%(instance_ids)s::bigint[]) AND (NOT e.via_set_role OR %(include_set_role)s)
UNION ALL
SELECT e.account_id, e.instance_id, e.privilege, e.level, e.target, e.grantable, e.state, e.via, e.via_set_role,
       e.implied_by
FROM account_privilege_entries e
WHERE e.privilege = ANY(%(names)s) AND e.pattern_prefix = ANY(%(prefixes)s) AND e.pattern_suffix = ANY(%(suffixes)s)
  AND e.target <> ALL(%(targets)s)
  AND e.instance_id = ANY(%(instance_ids)s::bigint[]) AND (NOT e.via_set_role OR %(include_set_role)s)
UNION ALL
SELECT e.account_id, e.instance_id, e.privilege, e.level, e.target, e.grantable, e.state, e.via, e.via_set_role,
       e.implied_by
FROM account_privilege_entries e
WHERE e.privilege = ANY(%(names)s) AND e.target >= %(inside)s AND e.target < %(inside_end)s
  AND e.instance_id = ANY(%(instance_ids)s::bigint[]) AND (NOT e.via_set_role OR %(include_set_role)s)
"""
WHO_CAN_ACCOUNTS = """
SELECT id, username, host FROM instance_accounts
WHERE id = ANY(%(ids)s::bigint[]) AND (is_active OR %(include_inactive)s)
"""
