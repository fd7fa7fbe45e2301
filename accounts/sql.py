"""Set-based SQL of the account sync (PostgreSQL).

Every statement takes the account listing as ONE jsonb parameter and works on
it with ``jsonb_to_recordset``: the comparison with the stored state happens
in the database (jsonb equality ignores key order) and writes are
``INSERT … SELECT`` / ``ON CONFLICT`` — a fixed number of statements per
instance, whatever the number of accounts.
"""

# One row per account that needs work: new, vanished (still active), returning
# (inactive but listed again), or listed with a state digest (facts + snapshot)
# different from the stored one. Unchanged accounts produce no row at all.
CHANGED_ACCOUNTS = """
WITH incoming AS (
    SELECT x.username, x.host, x.state_hash
    FROM jsonb_to_recordset(%(doc)s::jsonb) AS x(username text, host text, state_hash text)
), stored AS (
    SELECT a.id, a.username, a.host, a.is_active, p.id AS permission_id, p.facts, p.state_hash
    FROM instance_accounts a
    LEFT JOIN account_permissions p ON p.instance_account_id = a.id
    WHERE a.instance_id = %(instance_id)s
)
SELECT s.id, COALESCE(i.username, s.username), COALESCE(i.host, s.host), s.is_active,
       i.username IS NOT NULL AS listed, s.permission_id IS NOT NULL AS has_permission, s.facts::text AS old_facts
FROM incoming i
FULL JOIN stored s ON s.username = i.username AND s.host = i.host
WHERE s.id IS NULL
   OR (i.username IS NULL AND s.is_active)
   OR (i.username IS NOT NULL AND (
           NOT s.is_active OR s.permission_id IS NULL OR s.state_hash IS DISTINCT FROM i.state_hash))
"""

INSERT_ACCOUNTS = """
INSERT INTO instance_accounts (instance_id, username, host, is_active, first_seen_at, last_seen_at)
SELECT %(instance_id)s, x.username, x.host, true, %(now)s, %(now)s
FROM jsonb_to_recordset(%(doc)s::jsonb) AS x(username text, host text)
RETURNING id, username, host
"""

# ``state`` is the canonical JSON pair [facts, snapshot] that was hashed.
UPSERT_PERMISSIONS = """
INSERT INTO account_permissions
    (instance_account_id, snapshot, facts, state_hash, is_superuser, can_grant, is_locked, roles, updated_at)
SELECT x.id, x.state->1, x.state->0, x.state_hash,
       (x.state->0->>'is_superuser')::boolean, (x.state->0->>'can_grant')::boolean,
       (x.state->0->>'is_locked')::boolean, ARRAY(SELECT jsonb_array_elements_text(x.state->0->'roles')), %(now)s
FROM jsonb_to_recordset(%(doc)s::jsonb) AS x(id bigint, state jsonb, state_hash text)
ON CONFLICT (instance_account_id) DO UPDATE SET
    snapshot = EXCLUDED.snapshot, facts = EXCLUDED.facts, state_hash = EXCLUDED.state_hash,
    is_superuser = EXCLUDED.is_superuser, can_grant = EXCLUDED.can_grant, is_locked = EXCLUDED.is_locked,
    roles = EXCLUDED.roles, updated_at = EXCLUDED.updated_at
"""

REACTIVATE = "UPDATE instance_accounts SET is_active = true, deactivated_at = NULL WHERE id = ANY(%(ids)s)"
DEACTIVATE = "UPDATE instance_accounts SET is_active = false, deactivated_at = %(now)s WHERE id = ANY(%(ids)s)"
# accounts inserted by this sync already carry last_seen_at = now: skip them
TOUCH_ACTIVE = (
    "UPDATE instance_accounts SET last_seen_at = %(now)s "
    "WHERE instance_id = %(instance_id)s AND is_active AND last_seen_at < %(now)s"
)

INSERT_CHANGES = """
INSERT INTO account_change_log (instance_id, instance_account_id, username, host, change_type, diff, session_id,
                                changed_at)
SELECT %(instance_id)s, x.account_id, x.username, x.host, x.change_type, x.diff, %(session_id)s, %(now)s
FROM jsonb_to_recordset(%(doc)s::jsonb) AS x(account_id bigint, username text, host text, change_type text, diff jsonb)
"""

# "add" rows for freshly inserted accounts: their facts are copied inside the
# database from the permission rows just written (not shipped a second time).
INSERT_ADD_CHANGES = """
INSERT INTO account_change_log (instance_id, instance_account_id, username, host, change_type, diff, session_id,
                                changed_at)
SELECT %(instance_id)s, a.id, a.username, a.host, 'add', jsonb_build_object('facts', p.facts), %(session_id)s,
       %(now)s
FROM instance_accounts a JOIN account_permissions p ON p.instance_account_id = a.id
WHERE a.id = ANY(%(ids)s)
"""

TOUCH_INSTANCE = "UPDATE instances SET last_connected_at = %(now)s WHERE id = %(instance_id)s"
