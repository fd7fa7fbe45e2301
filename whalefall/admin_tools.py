"""Shared building blocks for the admin (our main UI).

* :class:`ModelAdmin`, :class:`TabularInline`, :class:`StackedInline`, :class:`ActionForm` —
  django-unfold's, which every admin of the console uses (styled widgets, responsive lists).
* :class:`EstimatedCountPaginator` — no ``COUNT(*)`` over big/partitioned tables
  when the changelist is unfiltered.
* :class:`ReadOnlyAdminMixin` / :class:`ReadOnlyInlineMixin` — view-only admins
  for facts written by syncs.
* :func:`recent_date_filter` — a list filter that limits a date column to a
  recent window *by default*, so partitions are pruned.
* :class:`BigTableAdmin` — the combination of the above for big tables.
* small display helpers (sizes, JSON, counts).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cached_property

import unfold.forms
from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline as UnfoldStackedInline
from unfold.admin import TabularInline as UnfoldTabularInline
from unfold.fields import UnfoldAdminReadonlyField
from unfold.forms import ActionForm as UnfoldActionForm
from unfold.widgets import UnfoldAdminTextInputWidget

from whalefall.csv_export import CsvColumns, csv_response
from whalefall.scoping import ScopedMixin, instance_model, visible_instances
from whalefall.units import size_exact, size_format, size_parse

# --- the console's admin classes ---------------------------------------------------------------


def _database_fills_in(model: type[models.Model], name: str) -> bool:
    """Whether a new row gets ``name``'s value from the database only (``db_default`` without a
    Python default): before the row is saved there is nothing to show."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return field.db_default is not models.NOT_PROVIDED and not field.has_default()


class ModelAdmin(ScopedMixin, UnfoldModelAdmin):
    """The base of every admin in the console: unfold's, its list across the whole width; the
    site-wide "Delete selected" comes after the model's own actions, not first; an add form
    leaves out the read-only fields the database fills in (created at, updated at).

    Team scopes (whalefall.scoping): an admin whose rows belong to instances declares
    ``scope_instance_path``; its list, pages, actions and exports then hold only the user's
    instances, and an instance picked in one of its forms is one of them."""

    list_fullwidth = True

    def get_queryset(self, request):
        return self.scope_apply(super().get_queryset(request), request.user)

    def _scope_choices(self, db_field, request, kwargs) -> None:
        model = instance_model()
        if model is None or db_field.related_model is not model or "queryset" in kwargs:
            return
        visible = visible_instances(request.user)
        if visible is not None:
            kwargs["queryset"] = visible

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        hidden = {name for name in self.get_readonly_fields(request, obj) if _database_fills_in(self.model, name)}
        if not hidden:
            return fieldsets
        kept = []
        for title, options in fieldsets:
            fields = [f for f in options.get("fields", ()) if f not in hidden]
            if fields:
                kept.append((title, {**options, "fields": fields}))
        return kept

    def get_actions(self, request):
        actions = super().get_actions(request)
        delete = actions.pop("delete_selected", None)
        if delete is not None:
            actions["delete_selected"] = delete
        return actions


class ReadonlyField(UnfoldAdminReadonlyField):
    """unfold's read-only field, evaluated once per page. unfold's templates read
    ``field.contents`` up to three times and its constructor looks the value up once more, so a
    display method (an overview, a privileges table) would run its queries four or five times."""

    def _resolve_field(self):
        # only the model field matters here (is_json/is_file/is_image); the value is read once, by contents()
        name = self.field["field"]
        if not isinstance(name, str):
            return False
        try:
            return self.form.instance._meta.get_field(name), None, None
        except FieldDoesNotExist:
            return False

    def contents(self):
        if not hasattr(self, "_contents"):
            self._contents = super().contents()
        return self._contents


# unfold's Fieldline builds its read-only fields from this module global: use the caching one
unfold.forms.UnfoldAdminReadonlyField = ReadonlyField


class TabularInline(UnfoldTabularInline):
    """A tabular inline in unfold's look."""


class StackedInline(UnfoldStackedInline):
    """A stacked inline in unfold's look."""


class ActionForm(UnfoldActionForm):
    """The action bar of a changelist (extra fields an action reads go on subclasses)."""


# --- paginator ----------------------------------------------------------------

# Every leaf relation under a table (the table itself when it is not
# partitioned), following pg_inherits down any number of levels. Partitioned
# parents (relkind 'p') are never analysed by autovacuum, so only leaves count;
# reltuples = -1 means "never analysed" and counts as 0.
_ESTIMATE_SQL = """
WITH RECURSIVE tree(oid) AS (
    SELECT %s::regclass::oid
    UNION ALL
    SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid
)
SELECT COALESCE(SUM(GREATEST(c.reltuples, 0)), 0)::bigint
FROM tree JOIN pg_class c ON c.oid = tree.oid
WHERE c.relkind <> 'p'
"""


def table_row_estimate(model: type[models.Model], using: str = "default") -> int:
    """Planner estimate of the rows of ``model``'s table from ``pg_class.reltuples``,
    summed over its ``pg_inherits`` partitions for a partitioned table."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(_ESTIMATE_SQL, [connection.ops.quote_name(model._meta.db_table)])
        return int(cursor.fetchone()[0])


def is_unfiltered(queryset) -> bool:
    """True when the queryset reads the whole table (no WHERE, DISTINCT, slice or set operation)."""
    query = getattr(queryset, "query", None)
    if query is None:
        return False
    return (
        not query.where
        and not query.distinct
        and query.combinator is None
        and query.low_mark == 0
        and query.high_mark is None
        and not query.group_by
    )


class EstimatedCountPaginator(Paginator):
    """Paginator that never runs ``COUNT(*)`` over a whole big table.

    Unfiltered, the count is the planner's estimate (:func:`table_row_estimate`).
    When that estimate is below ``exact_count_limit`` (fresh or tiny tables whose
    statistics may be stale) it runs a *capped* count that reads at most
    ``exact_count_limit + 1`` rows, so a stale estimate of 0 never hides rows.
    Filtered querysets (a date window prunes partitions) are counted normally.
    ``exact_count_limit`` must stay above the admin's ``list_per_page`` and
    ``list_max_show_all``, which decide from the count whether to load
    everything on one page.
    """

    exact_count_limit = 1000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not is_unfiltered(queryset):
            return super().count
        estimate = table_row_estimate(queryset.model, using=queryset.db)
        if estimate >= self.exact_count_limit:
            return estimate
        capped = queryset.order_by()[: self.exact_count_limit + 1].count()
        return max(estimate, capped)


def adopt_saved(target: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved ``target`` the row a service just created as ``saved`` (a
    ``save_model`` that saves through a service)."""
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


# --- read-only admins ---------------------------------------------------------


class ReadOnlyAdminMixin:
    """View-only admin: rows are written by syncs and services, never by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    """View-only inline (no extra blank forms, no delete boxes, no per-row title: its columns say it all)."""

    hide_title = True
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


class LimitedInlineFormSet(BaseInlineFormSet):
    """Inline formset showing only the first ``limit`` rows of its ordered queryset.

    The admin filters the inline queryset by the parent after ``get_queryset``,
    so the slice has to be taken here, after that filter.
    """

    limit = 50

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            self._queryset = super().get_queryset()[: self.limit]
        return self._queryset


def limited_formset(limit: int) -> type[LimitedInlineFormSet]:
    """A :class:`LimitedInlineFormSet` subclass showing at most ``limit`` rows."""
    return type(f"LimitedInlineFormSet{limit}", (LimitedInlineFormSet,), {"limit": limit})


# --- default date window ------------------------------------------------------


class RecentDateFilter(admin.SimpleListFilter):
    """Limit a date/datetime column to a recent window.

    Without a parameter the ``default`` window applies (so an unqualified
    changelist of a partitioned table only reads the newest partitions); the
    user can pick a wider window or "All". Build subclasses with
    :func:`recent_date_filter`.
    """

    field_name = "collected_date"
    default = "7"
    windows: tuple[tuple[str, str], ...] = (
        ("1", "Today"),
        ("7", "Last 7 days"),
        ("30", "Last 30 days"),
        ("90", "Last 90 days"),
        ("365", "Last 365 days"),
        ("all", "All (reads every partition)"),
    )

    def lookups(self, request, model_admin):
        return self.windows

    def value(self) -> str:
        value = super().value()
        valid = {key for key, _label in self.windows}
        return value if value in valid else self.default

    def choices(self, changelist):
        current = self.value()
        for key, label in self.lookup_choices:
            yield {
                "selected": current == key,
                "query_string": changelist.get_query_string({self.parameter_name: key}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        days = int(value)
        field = queryset.model._meta.get_field(self.field_name)
        if isinstance(field, models.DateTimeField):
            return queryset.filter(**{f"{self.field_name}__gte": timezone.now() - dt.timedelta(days=days)})
        # both ends, so the planner also skips the partitions created ahead for future days
        today = timezone.localdate()
        return queryset.filter(**{f"{self.field_name}__range": (today - dt.timedelta(days=days - 1), today)})

    def get_facet_counts(self, pk_attname, filtered_qs):  # never count whole partitions for facets
        return {}


def recent_date_filter(field_name: str, *, default: str = "7", title: str | None = None) -> type[RecentDateFilter]:
    """A :class:`RecentDateFilter` on ``field_name`` whose default window is ``default`` days ("all" for none)."""
    attrs = {
        "field_name": field_name,
        "default": default,
        "parameter_name": f"{field_name}__recent",
        "title": title or field_name.replace("_", " "),
    }
    return type(f"Recent{field_name.title().replace('_', '')}Filter", (RecentDateFilter,), attrs)


# --- big tables ---------------------------------------------------------------


class BigTableAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Read-only admin for big tables: estimated counts, no full result count, no facets."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    list_max_show_all = 200
    list_select_related: tuple[str, ...] = ()


# --- CSV export ---------------------------------------------------------------


class CsvExportMixin:
    """The admin action "Export as CSV": the selected rows or, with "Select all", every row of the
    filtered list, streamed as ``csv_columns`` (whalefall.csv_export). Needs only the
    view permission: it shows what the list shows. Add ``"export_csv"`` to ``actions``."""

    csv_columns: CsvColumns = ()

    @admin.action(description="Export as CSV (selected, or all that match with “Select all”)", permissions=["view"])
    def export_csv(self, request, queryset):
        return csv_response(queryset, self.csv_columns, name=self.model._meta.db_table)


# --- actions that ask first ----------------------------------------------------


def action_confirmed(request) -> bool:
    """True on the POST of an action's confirmation page (``action_confirmation``)."""
    return request.POST.get("post") == "yes"


def action_confirmation(
    modeladmin,
    request,
    queryset,
    *,
    action: str,
    title: str,
    question: str,
    button: str,
    danger: bool = False,
    typed_names: bool = False,
    error: str = "",
    post_url: str = "",
) -> TemplateResponse:
    """The page an action shows before it acts: what it will do to which rows, and a button that
    posts the action again with ``post=yes`` (``action_confirmed``); with ``typed_names`` the
    user must type every selected row's name (field ``confirm_names``, one per line or comma
    separated). ``post_url``: the changelist URL that sees these rows (default: the plain one)."""
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "objects": list(queryset),
        "action": action,
        "question": question,
        "button": button,
        "danger": danger,
        "typed_names": typed_names,
        "error": error,
        "post_url": post_url or reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/action_confirmation.html", context)


def typed_names_match(request, objects) -> bool:
    """Whether the names typed on a confirmation page are exactly those of ``objects``."""
    typed = {name.strip() for name in re.split(r"[,\n]", request.POST.get("confirm_names", "")) if name.strip()}
    return typed == {str(obj) for obj in objects}


# --- size inputs --------------------------------------------------------------


class SizeInput(UnfoldAdminTextInputWidget):
    """A text input showing a byte count the way it can be typed back exactly ("25 GB")."""

    def format_value(self, value):
        if isinstance(value, int):
            return size_exact(value)
        return super().format_value(value)


class SizeField(forms.Field):
    """A size in bytes typed as "25 GB", "500 MiB", "1.5TB" or plain bytes (``whalefall.units``);
    the error ("Enter a size, e.g. …") shows beside the field. At least ``min_value`` bytes."""

    widget = SizeInput

    def __init__(self, *, min_value: int = 1, **kwargs):
        self.min_value = min_value
        super().__init__(**kwargs)

    def to_python(self, value) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        return size_parse(str(value))

    def validate(self, value) -> None:
        super().validate(value)
        if value is not None and value < self.min_value:
            raise ValidationError(f"Enter at least {size_format(self.min_value)}.", code="min_value")


# --- display helpers ----------------------------------------------------------


def format_bytes(value: int | None) -> str:
    """Human size ("1.5 GB") of a byte count; "-" for unknown (``whalefall.units.size_format``)."""
    return size_format(value)


def badge(text: str, tone: str = "quiet") -> str:
    """A small coloured label for a state in a list or on a page; ``tone`` is ok, warn, bad or quiet."""
    return format_html('<span class="wf-badge {}">{}</span>', tone, text)


def prose(text: str | None, limit: int = 160) -> str:
    """Free text in a list column (a title, an error): it wraps between words inside the
    column, never inside a word ("demo-mysql-orders" would break at its hyphens: such words are
    kept whole), cut at ``limit`` characters (the object page shows it all)."""
    if not text:
        return "-"
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    words = format_html_join(
        " ",
        "{}",
        ((format_html('<span class="wf-nowrap">{}</span>', word) if _BREAKABLE.search(word) else word,)
         for word in shown.split()),
    )  # fmt: skip
    return format_html('<span class="wf-prose" title="{}">{}</span>', text[:1000], words)


# characters after which a browser may break a line inside a word
_BREAKABLE = re.compile(r"[-/?!%&|}\])]")


class IsSetFilter(admin.SimpleListFilter):
    """"<title>: yes / no" for a nullable column (a timestamp that marks a state); build
    subclasses with :func:`is_set_filter`. With a ``default`` ("no"), an unqualified list shows
    only those rows and the filter offers "All"."""

    field_name = ""
    default = ""

    def lookups(self, request, model_admin):
        choices = (("yes", "Yes"), ("no", "No"))
        return (*choices, ("all", "All")) if self.default else choices

    def value(self):
        return super().value() or self.default or None

    def choices(self, changelist):
        if not self.default:
            yield from super().choices(changelist)
            return
        for key, label in self.lookup_choices:
            yield {
                "selected": self.value() == key,
                "query_string": changelist.get_query_string({self.parameter_name: key}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value in ("yes", "no"):
            return queryset.filter(**{f"{self.field_name}__isnull": value == "no"})
        return queryset


def is_set_filter(field_name: str, title: str, *, default: str = "") -> type[IsSetFilter]:
    """A yes/no filter on whether ``field_name`` is set ("Suspended: yes/no" for ``suspended_at``);
    ``default="no"`` hides the rows where it is set until the user picks "Yes" or "All"."""
    attrs = {"field_name": field_name, "title": title, "parameter_name": field_name.removesuffix("_at"),
             "default": default}  # fmt: skip
    return type(f"{field_name.title().replace('_', '')}SetFilter", (IsSetFilter,), attrs)


def pretty_json(value) -> str:
    """Indented JSON in a <pre> block for read-only display."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>', text)


def count_subquery(model: type[models.Model], fk: str, **filters) -> Coalesce:
    """Correlated ``COUNT(*)`` of ``model`` rows whose ``fk`` points at the outer row.

    Use instead of ``Count()`` when several counts over different relations are
    annotated on one queryset (joins would multiply them).
    """
    rows = (
        model._default_manager.filter(**{fk: OuterRef("pk")}, **filters)
        .order_by()
        .values(fk)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=models.IntegerField()), Value(0))
