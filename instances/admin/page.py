"""The top of an instance's page, above its form: what is wrong first (state, reachability,
last errors, last runs), then the buttons that act on it, then what the apps above register
(the capacity chart, the risky accounts, the recent account changes).

This package names no app above it: each registers its part here from its own ``admin``
module (INSTALLED_APPS order) with the ``instance_admin_*_register`` functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.html import format_html

from instances.models import Instance
from whalefall.admin_tools import badge
from whalefall.units import datetime_html


@dataclass(frozen=True)
class Button:
    """A button on the instance page: runs the instance admin's action ``action`` on this one
    instance (a POST with CSRF; shown to who may run the action)."""

    action: str
    label: str
    hint: str = ""
    primary: bool = False
    danger: bool = False


@dataclass(frozen=True)
class Section:
    """A card of the instance page: ``render(instance)`` returns safe HTML (a few queries at most)."""

    title: str
    render: Callable[[Instance], str]
    order: int = 100
    wide: bool = True


@dataclass
class InstancePage:
    """What the apps registered, in registration order (sections by ``order``)."""

    buttons: list[Button] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    #: ``problems_for(instance)`` → safe HTML lines (failed last runs, …)
    problem_makers: list[Callable[[Instance], list[str]]] = field(default_factory=list)
    #: (label, html_for(instance)) rows of the status card (last runs, accounts, …)
    fact_makers: list[tuple[str, Callable[[Instance], str]]] = field(default_factory=list)
    #: (label, url_for(instance)) links to the other pages of an instance
    link_makers: list[tuple[str, Callable[[Instance], str]]] = field(default_factory=list)


PAGE = InstancePage()


def instance_admin_button_register(action: str, label: str, *, hint: str = "", primary: bool = False) -> None:
    """Add a button for the instance admin's action ``action`` (registered with
    ``instance_admin_action_register`` or its own) to the instance page."""
    if all(b.action != action for b in PAGE.buttons):
        PAGE.buttons.append(Button(action, label, hint, primary))


def instance_admin_section_register(title: str, render: Callable[[Instance], str], *, order: int = 100) -> None:
    """Add a card to the instance page, below the buttons (lower ``order`` first)."""
    if all(s.title != title for s in PAGE.sections):
        PAGE.sections.append(Section(title, render, order))
        PAGE.sections.sort(key=lambda s: s.order)


def instance_admin_problem_register(problems_for: Callable[[Instance], list[str]]) -> None:
    """Add what ``problems_for(instance)`` reports (safe HTML lines) to the instance's problems."""
    if problems_for not in PAGE.problem_makers:
        PAGE.problem_makers.append(problems_for)


def instance_admin_summary_register(label: str, html_for: Callable[[Instance], str]) -> None:
    """Add a row (``html_for(instance)``, safe HTML; a few queries at most) to the instance's
    status card: last runs, accounts… from the apps that own them."""
    if all(existing != label for existing, _ in PAGE.fact_makers):
        PAGE.fact_makers.append((label, html_for))


def instance_admin_link_register(label: str, url_for: Callable[[Instance], str]) -> None:
    """Add a link (``url_for(instance)``) to the instance page's links."""
    if all(existing != label for existing, _ in PAGE.link_makers):
        PAGE.link_makers.append((label, url_for))


def instance_state(instance: Instance) -> str:
    """deleted, inactive, suspended (the circuit breaker) or active, as a label."""
    if instance.deleted_at is not None:
        return badge("deleted", "bad")
    if not instance.is_active:
        return badge("inactive", "quiet")
    if instance.suspended_at is not None:
        return badge("suspended", "bad")
    return badge("active", "ok")


def _own_problems(instance: Instance) -> list[str]:
    problems = []
    if instance.deleted_at is not None:
        problems.append(format_html(
            "Deleted on {}: no run contacts it, its history is kept. “Restore” brings it back.",
            datetime_html(instance.deleted_at)))  # fmt: skip
    elif not instance.is_active:
        problems.append("Inactive: no run contacts it (tick “Active” below to monitor it again).")
    if instance.suspended_at is not None:
        problems.append(format_html(
            "Suspended on {} after {} failed contacts in a row: scheduled runs skip it until it is resumed or a "
            "connection test succeeds.",
            datetime_html(instance.suspended_at), instance.consecutive_failures,
        ))  # fmt: skip
    elif instance.consecutive_failures:
        problems.append(f"{instance.consecutive_failures} failed contact(s) in a row.")
    if instance.last_connected_at is None:
        problems.append("Never reached: “Test connection” tries it now.")
    return problems


def instance_page_context(model_admin, request, instance: Instance) -> dict:
    """The context of ``admin/instances/instance/lead.html`` for ``instance``."""
    actions = model_admin.get_actions(request)
    buttons = [b for b in PAGE.buttons if b.action in actions]
    if instance.suspended_at is not None and "resume_action" in actions:
        buttons.append(Button("resume_action", "Resume scheduled runs"))
    if instance.deleted_at is not None:  # only what applies to a deleted instance
        buttons = [b for b in (Button("restore_action", "Restore", "active again, its history as it was", primary=True),
                               Button("purge_action", "Purge…", "delete it for good with its history", danger=True))
                   if b.action in actions]  # fmt: skip
    problems = _own_problems(instance)
    for problems_for in PAGE.problem_makers:
        problems += problems_for(instance)
    facts = [
        ("State", instance_state(instance)),
        ("Address", f"{instance.host}:{instance.port}"),
        ("Engine", f"{instance.db_type.display_name} {instance.version}".strip()),
        ("Last contact", datetime_html(instance.last_connected_at) if instance.last_connected_at else "never"),
        *((label, html_for(instance)) for label, html_for in PAGE.fact_makers),
    ]
    run_url = "admin:instances_instance_run"
    return {
        "facts": facts,
        "problems": problems,
        "buttons": [(b, reverse(run_url, args=[instance.pk, b.action])) for b in buttons],
        "sections": [(s.title, s.render(instance)) for s in PAGE.sections],
        "links": [(label, url_for(instance)) for label, url_for in PAGE.link_makers],
    }
