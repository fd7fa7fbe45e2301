"""How the account pages show what a sync stored: a change as +/- lines, the effective-privileges
table (entries kept from an unread scope marked), the reasons of each flag, and the permission
displays the inline and the permission admin share."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from accounts.diff import diff_lines
from accounts.models import AccountPermission
from accounts.selectors import account_privileges, account_reasons, account_unread_scopes, instance_unread_scopes
from whalefall.admin_tools import pretty_json

#: lines of a change shown on a page (the rest: the collapsed JSON and the API)
DIFF_LINES_LIMIT = 100
_DIFF_STYLE = {"+": "color:#1a7f37", "-": "color:#cf222e", "~": "color:var(--body-quiet-color)"}


def diff_html(diff: dict) -> str:
    """A change as "+"/"-" lines (``accounts.diff.diff_lines``), the raw JSON collapsed under them."""
    lines = diff_lines(diff)
    rows = ((_DIFF_STYLE[sign], sign, text) for sign, text in lines[:DIFF_LINES_LIMIT])
    shown = format_html_join("", '<div style="{}"><code>{}</code> {}</div>', rows)
    hidden = len(lines) - DIFF_LINES_LIMIT
    more = format_html("<div>… {} more line(s) in the JSON</div>", hidden) if hidden > 0 else ""
    return format_html("{}{}<details><summary>JSON</summary>{}</details>", shown, more, pretty_json(diff))


#: rows of the effective-privileges table on a page (the rest: the collapsed JSON and the API)
PRIVILEGE_TABLE_LIMIT = 500


def privileges_table(permission: AccountPermission) -> str:
    """The effective privileges as an HTML table: privilege, level, object, grantable, via
    (direct ones marked; SET ROLE-only ones noted); entries kept from a scope the last sync could
    not read are marked "not read since <date>", under a note naming each such scope and why."""
    unread = instance_unread_scopes(account_id=permission.instance_account_id)
    privileges = account_privileges(facts=permission.facts, unread=unread)
    if not privileges:
        return "-"
    scopes = account_unread_scopes(facts=permission.facts, unread=unread)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                format_html("<strong>DENY</strong> {}", p["privilege"]) if p["state"] == "DENY" else p["privilege"],
                p["level"],
                p["target"] or "*",
                "yes" if p["grantable"] else "",
                ("direct" if p["direct"] else " → ".join(p["via"]) + (" (SET ROLE only)" if p["via_set_role"] else ""))
                + (f" (implied by {p['implied_by']})" if p["implied_by"] else "")
                + (f" — {_not_read_since(p['not_read_since'])}" if p["not_read"] else ""),
            )
            for p in privileges[:PRIVILEGE_TABLE_LIMIT]
        ),
    )
    more = len(privileges) - PRIVILEGE_TABLE_LIMIT
    note = format_html("<p>… {} more: see the facts JSON or the API.</p>", more) if more > 0 else ""
    unread_note = format_html_join(
        "",
        '<p class="wf-not-read"><strong>{}</strong>: {} — the last sync could not read it ({}); what is stored '
        "for it is kept as it was.</p>",
        ((view.scope.label, _not_read_since(view.not_read_since), view.reason) for view in scopes),
    )
    return format_html(
        '{}<table class="effective-privileges wf-table"><thead><tr><th>Privilege</th><th>Level</th><th>Object</th>'
        "<th>Grantable</th><th>Via</th></tr></thead><tbody>{}</tbody></table>{}",
        unread_note,
        rows,
        note,
    )


def _not_read_since(since) -> str:
    return f"not read since {since:%Y-%m-%d %H:%M} UTC" if since else "never read in full"


def reasons_list(permission: AccountPermission) -> str:
    """Why each flag is set, one list per flag."""
    reasons = account_reasons(facts=permission.facts)
    if not reasons:
        return "-"
    return format_html(
        '<dl class="wf-reasons">{}</dl>',
        format_html_join(
            "",
            "<dt>{}</dt><dd><ul>{}</ul></dd>",
            ((flag, format_html_join("", "<li>{}</li>", ((r,) for r in items))) for flag, items in reasons.items()),
        ),
    )


PERMISSION_FIELDSETS = (
    (None, {"fields": ("is_superuser", "can_grant", "is_locked", "password_policy", "roles", "updated_at",
                       "flag_reasons")}),
    ("Effective privileges", {"fields": ("effective_privileges",)}),
    ("JSON", {"fields": ("facts_json", "snapshot_json"), "classes": ("collapse",)}),
)  # fmt: skip


class PermissionDisplayMixin:
    """The read-only displays shared by the permission inline and the permission admin."""

    @admin.display(description="Direct and through roles")
    def effective_privileges(self, obj: AccountPermission) -> str:
        return privileges_table(obj)

    @admin.display(description="Password policy")
    def password_policy(self, obj: AccountPermission) -> str:
        """As the engine reports it: enforced / not enforced / unknown, with the reason."""
        policy = obj.facts.get("password_policy")
        if not isinstance(policy, dict):
            return "-"
        state = {True: "enforced", False: "not enforced"}.get(policy.get("enforced"), "unknown")
        return f"{state}: {policy.get('reason') or ''}"

    @admin.display(description="Why these flags")
    def flag_reasons(self, obj: AccountPermission) -> str:
        return reasons_list(obj)

    @admin.display(description="Facts (engine-neutral)")
    def facts_json(self, obj: AccountPermission) -> str:
        return pretty_json(obj.facts)

    @admin.display(description="Snapshot (engine-native)")
    def snapshot_json(self, obj: AccountPermission) -> str:
        return pretty_json(obj.snapshot)
