"""Named reads of classifications, their rules' subjects, assignments, history and stats."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import InstanceAccount
from classification import dsl
from classification.models import (
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
    ClassificationRule,
    RiskLevel,
)

# --- account lists (registered on the accounts app by classification/api/accounts.py) ------


def accounts_prefetch_classifications(queryset: QuerySet[InstanceAccount]) -> QuerySet[InstanceAccount]:
    """``queryset`` with each account's current assignments (and their
    classification) prefetched, highest priority first: one query per page."""
    assignments = AccountClassificationAssignment.objects.select_related("classification").order_by(
        "-classification__priority", "classification__code"
    )
    return queryset.prefetch_related(Prefetch("classifications", queryset=assignments))


def accounts_with_classification(queryset: QuerySet[InstanceAccount], *, codes: list[str]) -> QuerySet:
    """Accounts of ``queryset`` currently assigned any of the classification ``codes``
    (an EXISTS, so no duplicate rows)."""
    assigned = AccountClassificationAssignment.objects.filter(account=OuterRef("pk"), classification__code__in=codes)
    return queryset.filter(Exists(assigned))


# --- what rules see ---------------------------------------------------------------------------

_SUBJECTS = """
SELECT a.id, i.id, a.username, p.facts, i.db_type, i.environment,
       COALESCE((SELECT array_agg(t.name) FROM instance_tags it JOIN tags t ON t.id = it.tag_id
                 WHERE it.instance_id = i.id), '{{}}')
FROM instance_accounts a
JOIN instances i ON i.id = a.instance_id
LEFT JOIN account_permissions p ON p.instance_account_id = a.id
WHERE a.is_active AND {where}
ORDER BY a.id
"""


@dataclass(frozen=True)
class AccountSubject:
    account_id: int
    instance_id: int
    subject: dsl.Subject


def account_subjects(*, instance_id: int | None = None, db_type: str | None = None) -> list[AccountSubject]:
    """Every active account of one instance (or of every live instance of ``db_type``) as
    rules see it: facts, db type, environment, tags. One query, whatever the count."""
    if instance_id is not None:
        where, params = "i.id = %s", [instance_id]
    else:
        where, params = "i.db_type = %s AND i.deleted_at IS NULL", [db_type]
    with connection.cursor() as cursor:
        cursor.execute(_SUBJECTS.format(where=where), params)
        rows = cursor.fetchall()
    subjects = []
    for account_id, iid, username, facts, kind, environment, tags in rows:
        if isinstance(facts, str):  # Django hands jsonb over as text
            facts = json.loads(facts)
        subject = dsl.Subject(
            username=username, facts=facts or {}, db_type=kind, environment=environment, tags=frozenset(tags)
        )
        subjects.append(AccountSubject(account_id, iid, subject))
    return subjects


@dataclass
class RuleSet:
    """The active rules of one engine, compiled, grouped by classification (priority order);
    ``errors`` holds the rules whose stored expression no longer validates."""

    by_classification: dict[int, list[tuple[ClassificationRule, dsl.CompiledRule]]] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)

    @property
    def rule_count(self) -> int:
        return sum(len(rules) for rules in self.by_classification.values())

    @property
    def frozen_classifications(self) -> set[int]:
        """Classifications with a broken rule: their auto assignments are left as they are."""
        return {error["classification_id"] for error in self.errors}


def active_rules(*, db_type: str) -> QuerySet[ClassificationRule]:
    """Active rules of active classifications for ``db_type``, highest priority first."""
    return (
        ClassificationRule.objects.filter(is_active=True, db_type_id=db_type, classification__is_active=True)
        .select_related("classification")
        .order_by("-classification__priority", "classification__code", "name", "id")
    )


def rule_set_compile(rules: Sequence[ClassificationRule]) -> RuleSet:
    """Compile ``rules`` (in memory); broken ones go to ``errors``, never silently away."""
    result = RuleSet()
    for rule in rules:
        try:
            compiled = dsl.compile_rule(rule.expression)
        except dsl.RuleInvalid as exc:
            result.errors.append(
                {"rule_id": rule.pk, "rule": rule.name, "classification_id": rule.classification_id, "error": str(exc)}
            )
            continue
        result.by_classification.setdefault(rule.classification_id, []).append((rule, compiled))
    return result


def subjects_evaluate(
    *, subjects: Sequence[AccountSubject], rule_set: RuleSet
) -> dict[tuple[int, int], tuple[int, list[str]]]:
    """In memory: ``{(account id, classification id): (rule id, why)}`` for every account a
    rule of the classification matches (the first matching rule gives the why)."""
    matches: dict[tuple[int, int], tuple[int, list[str]]] = {}
    groups = list(rule_set.by_classification.items())
    for item in subjects:
        for classification_id, rules in groups:
            for rule, compiled in rules:
                why = compiled.evaluate(item.subject)
                if why is not None:
                    matches[(item.account_id, classification_id)] = (rule.pk, list(why))
                    break
    return matches


# --- rule preview -------------------------------------------------------------------------------


@dataclass
class PreviewAccount:
    account_id: int
    instance_id: int
    username: str
    why: list[str]
    host: str = ""
    instance_name: str = ""

    @property
    def account(self) -> str:
        """user@host as the engine names it (the user alone where there is no host)."""
        return f"{self.username}@{self.host}" if self.host else self.username


@dataclass
class RulePreview:
    """What saving a draft rule would change for its classification (``limit`` rows listed)."""

    evaluated: int
    matched: int
    adds: list[PreviewAccount]
    removes: list[PreviewAccount]
    add_count: int
    remove_count: int


def rule_preview(
    *,
    classification: AccountClassification,
    db_type: str,
    expression,
    replacing_rule_id: int | None = None,
    limit: int = 200,
) -> RulePreview:
    """Evaluate ``expression`` (a draft: validated first, ``RuleInvalid`` otherwise) together
    with the classification's other active rules for ``db_type`` over every active account of
    that engine, and compare with its current assignments: who would be added, who removed
    (auto assignments only; manual ones never change), and why. Writes nothing."""
    draft = dsl.compile_rule(expression)
    others = [r for r in active_rules(db_type=db_type).filter(classification=classification)
              if r.pk != replacing_rule_id]  # fmt: skip
    rule_set = rule_set_compile(others)
    draft_rule = ClassificationRule(pk=0, classification=classification, name="(draft)", expression=expression)
    rule_set.by_classification.setdefault(classification.pk, []).append((draft_rule, draft))
    subjects = account_subjects(db_type=db_type)
    wanted = subjects_evaluate(subjects=subjects, rule_set=rule_set)
    current = dict(
        AccountClassificationAssignment.objects.filter(
            classification=classification, account__instance__db_type_id=db_type, account__is_active=True
        ).values_list("account_id", "source")
    )
    by_id = {item.account_id: item for item in subjects}
    adds = [
        PreviewAccount(a, by_id[a].instance_id, by_id[a].subject.username, why)
        for (a, _), (_, why) in sorted(wanted.items()) if a not in current
    ]  # fmt: skip
    matched = {a for a, _ in wanted}
    removes = [
        PreviewAccount(a, by_id[a].instance_id, by_id[a].subject.username, [])
        for a, source in sorted(current.items()) if source == "auto" and a not in matched and a in by_id
    ]  # fmt: skip
    return RulePreview(
        len(subjects), len(matched), _named(adds[:limit]), _named(removes[:limit]), len(adds), len(removes)
    )


def _named(rows: list[PreviewAccount]) -> list[PreviewAccount]:
    """``rows`` with each account's host and instance name (one query for the rows listed)."""
    names = {
        pk: (host, instance)
        for pk, host, instance in InstanceAccount.objects.filter(pk__in=[r.account_id for r in rows]).values_list(
            "pk", "host", "instance__name"
        )
    }
    return [replace(r, host=names[r.account_id][0], instance_name=names[r.account_id][1]) for r in rows]


# --- stats ---------------------------------------------------------------------------------------


def classification_counts(
    *,
    start: dt.date,
    end: dt.date,
    classification_id: int | None = None,
    instance_id: int | None = None,
    visible: QuerySet | None = None,
) -> QuerySet:
    """Daily account counts per classification (summed over instances unless one is given;
    over ``visible`` — a team scope's instances — when given)."""
    rows = ClassificationDailyStat.objects.filter(date__gte=start, date__lte=end)
    if visible is not None:
        rows = rows.filter(instance_id__in=visible.values("pk"))
    if classification_id is not None:
        rows = rows.filter(classification_id=classification_id)
    if instance_id is not None:
        rows = rows.filter(instance_id=instance_id)
    return rows.values("date", "classification_id").annotate(accounts=Sum("account_count")).order_by("date")


def classification_count_series(
    *,
    start: dt.date,
    end: dt.date,
    classification_id: int | None = None,
    instance_id: int | None = None,
    visible: QuerySet | None = None,
) -> list[tuple[AccountClassification, dict[dt.date, int]]]:
    """The daily counts of :func:`classification_counts` as one series per classification
    that has any in the window, in the classifications' priority order (two queries)."""
    by_classification: dict[int, dict[dt.date, int]] = {}
    counts = classification_counts(
        start=start, end=end, classification_id=classification_id, instance_id=instance_id, visible=visible
    )
    for row in counts:
        by_classification.setdefault(row["classification_id"], {})[row["date"]] = row["accounts"]
    classifications = AccountClassification.objects.filter(pk__in=by_classification)
    return [(c, by_classification[c.pk]) for c in classifications]


def assignment_count(*, visible: QuerySet | None = None) -> Coalesce:
    """The number of current assignments of the classification being annotated (``OuterRef("pk")``),
    on ``visible`` instances — a team scope's — when given: one correlated subquery, 0 for none.
    Every count of a classification's accounts (lists, API, dashboard) is this one."""
    assignments = AccountClassificationAssignment.objects.all()
    if visible is not None:
        assignments = assignments.filter(account__instance__in=visible.values("pk"))
    assigned = (
        assignments.filter(classification=OuterRef("pk"))
        .order_by()
        .values("classification")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(assigned), 0)


def classifications_with_counts(*, visible: QuerySet | None = None) -> QuerySet[AccountClassification]:
    """Active classifications, priority order, each with ``accounts``: its current assignments
    (on ``visible`` instances — a team scope's — when given)."""
    return AccountClassification.objects.filter(is_active=True).annotate(accounts=assignment_count(visible=visible))


#: risk levels whose additions the console calls out
HIGH_RISK_LEVELS = (RiskLevel.HIGH, RiskLevel.CRITICAL)


def high_risk_additions(
    *, since: dt.datetime, visible: QuerySet | None = None
) -> QuerySet[AccountClassificationHistory]:
    """Assignments of a high or critical classification added since ``since`` (new
    superusers, new grantors…; on ``visible`` instances — a team scope's — when given), newest
    first, with account, instance and classification. Not those found at an instance's baseline
    (``at_baseline``: its onboarding, not an addition)."""
    history = AccountClassificationHistory.objects.all()
    if visible is not None:
        history = history.filter(account__instance__in=visible.values("pk"))
    return (
        history.filter(
            action=AccountClassificationHistory.Action.ADD,
            at_baseline=False,
            changed_at__gte=since,
            classification__risk_level__in=HIGH_RISK_LEVELS,
        )
        .select_related("account__instance", "classification")
        .order_by("-changed_at", "-pk")
    )


def instance_risky_assignments(*, instance_id: int) -> QuerySet[AccountClassificationAssignment]:
    """The current high or critical classifications of an instance's active accounts, riskiest
    first, with account and classification (one join over the instance's accounts)."""
    return (
        AccountClassificationAssignment.objects.filter(
            account__instance_id=instance_id,
            account__is_active=True,
            classification__risk_level__in=HIGH_RISK_LEVELS,
        )
        .select_related("account", "classification")
        .order_by("-classification__priority", "account__username", "account__host")
    )
