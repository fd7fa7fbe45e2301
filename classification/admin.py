"""Admin for account classifications, their rules, current assignments,
assignment history and daily statistics.

Classifications and rules are edited here; assignments, history and daily
stats are written by the classification services and are read-only.
"""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
)

from accounts.admin import account_admin_extend
from accounts.models import InstanceAccount
from classification.models import (
    ASSIGN_PERMISSION,
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    AssignmentSource,
    ClassificationDailyStat,
    ClassificationRule,
    InstanceClassificationState,
)
from classification.selectors import (
    accounts_with_classification,
    assignment_count,
    classification_count_series,
    instance_risky_assignments,
    rule_preview,
)
from classification.services import (
    classification_assign,
    classification_auto_classify,
    classification_unassign,
    rule_create,
    rule_update,
)
from instances.admin import (
    instance_admin_action_register,
    instance_admin_button_register,
    instance_admin_section_register,
)
from instances.models import Instance
from sync_sessions.admin import SessionFilter, batch_admin_action, session_admin_link_register
from whalefall.admin_tools import (
    BigTableAdmin,
    ModelAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    TabularInline,
    count_subquery,
    prose,
    recent_date_filter,
)
from whalefall.charts import PALETTE, line_chart
from whalefall.scoping import require_instance_in_scope, visible_instances


def _swatch(color: str, name: str) -> str:
    return format_html('<i class="wf-swatch" style="background:{}"></i>{}', color, name)


class AccountClassificationForm(forms.ModelForm):
    """A classification: its code in the built-in codes' shape (made from the name when left
    empty), its priority on a stated scale, its colour from a palette people tell apart."""

    code = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]*$", max_length=64, required=False, widget=UnfoldAdminTextInputWidget,
        help_text="Lowercase letters, digits and underscores, like the built-in codes (can_grant); "
        "empty: made from the name.",
        error_messages={"invalid": "Use lowercase letters, digits and underscores, starting with a letter "
                        "(write_on_prod)."},
    )  # fmt: skip
    priority = forms.IntegerField(
        min_value=0, max_value=100, initial=50, widget=UnfoldAdminIntegerFieldWidget,
        help_text="0–100, higher wins: an account's primary classification (first in the account list, on "
        "the dashboard) is its highest-priority one. The built-in ones use 20 (locked) to 100 (superuser).",
    )  # fmt: skip
    color = forms.ChoiceField(
        label="Colour",
        widget=UnfoldAdminRadioSelectWidget(),
        help_text="Its colour on the charts and labels: a palette whose colours stay distinct, also for "
        "colour-blind readers.",
    )  # fmt: skip

    class Meta:
        model = AccountClassification
        fields = ("name", "code", "description", "risk_level", "color", "priority", "is_active", "is_system")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(color, _swatch(color, name)) for color, name in PALETTE]
        current = self.instance.color if self.instance.pk else None
        if current and current.lower() not in {color.lower() for color, _ in PALETTE}:
            choices.append((current, _swatch(current, f"{current} (chosen before the palette)")))
        self.fields["color"].choices = choices
        if self.instance.pk is None:
            self.fields["color"].initial = PALETTE[0][0]

    def clean(self):
        data = super().clean()
        if not data.get("code") and data.get("name"):
            data["code"] = slugify(data["name"]).replace("-", "_")[:64] or None
            if not data["code"] or not data["code"][0].isalpha():
                self.add_error("code", "Give a code: the name gives none that starts with a letter.")
        return data


@admin.register(AccountClassification)
class AccountClassificationAdmin(ModelAdmin):
    """Risk classifications; system classifications cannot be deleted."""

    form = AccountClassificationForm

    list_select_related = ()
    list_display = (
        "name",
        "code",
        "risk_level",
        "color_swatch",
        "priority_shown",
        "is_system",
        "is_active",
        "rule_count",
        "account_count",
    )
    list_filter = ("risk_level", "is_active", "is_system")
    search_fields = ("name", "code")
    readonly_fields = ("rule_link", "created_at", "updated_at")
    ordering = ("-priority", "name")
    fieldsets = (
        (None, {"fields": ("name", "code", "description")}),
        ("Display", {"fields": ("risk_level", "color", "priority")}),
        ("Status", {"fields": ("is_active", "is_system", "rule_link", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        visible = visible_instances(request.user)  # a team scope counts the accounts of its instances
        return (
            super()
            .get_queryset(request)
            .annotate(
                _rule_count=count_subquery(ClassificationRule, "classification"),
                _account_count=assignment_count(visible=visible),
            )
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="Colour")
    def color_swatch(self, obj: AccountClassification) -> str:
        return _swatch(obj.color, dict((c.lower(), n) for c, n in PALETTE).get(obj.color.lower(), obj.color))

    @admin.display(description="Priority (of 100)", ordering="priority")
    def priority_shown(self, obj: AccountClassification) -> int:
        return obj.priority

    @admin.display(description="Rules", ordering="_rule_count")
    def rule_count(self, obj: AccountClassification) -> int:
        return obj._rule_count

    @admin.display(description="Accounts", ordering="_account_count")
    def account_count(self, obj: AccountClassification) -> str:
        url = (
            reverse("admin:classification_accountclassificationassignment_changelist")
            + f"?classification__id__exact={obj.pk}"
        )
        return format_html('<a href="{}">{}</a>', url, obj._account_count)

    @admin.display(description="Rules")
    def rule_link(self, obj: AccountClassification) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:classification_classificationrule_changelist") + f"?classification__id__exact={obj.pk}"
        return format_html('<a href="{}">{} rule(s)</a>', url, obj._rule_count)


class PrettyJSONField(forms.JSONField):
    """JSON form field that shows its value indented."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


class ClassificationRuleAdminForm(forms.ModelForm):
    """Rule form; the expression is edited as indented JSON (validated by the model)."""

    expression = PrettyJSONField(
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 16, "class": "font-mono"}),
        help_text='JSON DSL, e.g. {"op": "or", "args": [{"fn": "is_superuser"}, {"fn": "can_grant"}]}',
    )

    class Meta:
        model = ClassificationRule
        fields = ("classification", "db_type", "name", "expression", "is_active")


@admin.register(ClassificationRule)
class ClassificationRuleAdmin(ModelAdmin):
    """Rules (boolean JSON expressions over account facts), one engine each."""

    form = ClassificationRuleAdminForm
    list_display = ("name", "classification", "db_type", "is_active", "version", "updated_at")
    list_select_related = ("classification", "db_type")
    list_filter = ("db_type", "is_active", "classification")
    search_fields = ("name", "classification__name", "classification__code")
    autocomplete_fields = ("classification",)
    readonly_fields = ("version", "created_at", "updated_at")
    ordering = ("classification__name", "name")
    fieldsets = (
        (None, {"fields": ("name", "classification", "db_type", "is_active")}),
        ("Expression", {"fields": ("expression",)}),
        ("Status", {"fields": ("version", "created_at", "updated_at")}),
    )
    change_form_template = "admin/classification/classificationrule/change_form.html"

    def save_model(self, request, obj, form, change):
        """Through the services: the expression is validated, ``version`` goes up when what
        the rule decides changes."""
        if change:
            stored = ClassificationRule.objects.get(pk=obj.pk)
            updated = rule_update(rule=stored, **{name: form.cleaned_data[name] for name in form.changed_data})
            obj.version = updated.version
        else:
            data = form.cleaned_data
            created = rule_create(
                classification=data["classification"], db_type=data["db_type"].pk, name=data["name"],
                expression=data["expression"], is_active=data.get("is_active", True),
            )  # fmt: skip
            obj.pk, obj.version, obj._state.adding = created.pk, created.version, False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """"Preview" (the ``_preview`` button) evaluates the draft against the engine's accounts
        and shows who it would add and remove, and why, then redisplays the form unsaved."""
        if request.method == "POST" and "_preview" in request.POST:
            return self._preview(request, object_id, form_url)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview(self, request, object_id, form_url):
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if (obj is None and not self.has_add_permission(request)) or (
            obj is not None and not self.has_change_permission(request, obj)
        ):
            raise PermissionDenied
        if visible_instances(request.user) is not None:  # as the API's preview: it reads every instance
            raise PermissionDenied("A rule applies to every instance: previewing one needs the global view.")
        fieldsets = self.get_fieldsets(request, obj)
        form_class = self.get_form(request, obj, change=obj is not None, fields=flatten_fieldsets(fieldsets))
        form = form_class(request.POST, instance=obj or self.model())
        preview = None
        if form.is_valid():  # includes the rule's own validation (the JSON paths of every problem)
            data = form.cleaned_data
            preview = rule_preview(
                classification=data["classification"], db_type=data["db_type"].pk, expression=data["expression"],
                replacing_rule_id=obj.pk if obj else None,
            )  # fmt: skip
        admin_form = helpers.AdminForm(
            form, list(fieldsets), self.get_prepopulated_fields(request, obj), self.get_readonly_fields(request, obj),
            model_admin=self,
        )  # fmt: skip
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview of {obj or 'a new rule'}",
            "subtitle": None,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "preview": preview,
        }
        return self.render_change_form(request, context, add=obj is None, change=obj is not None, obj=obj,
                                       form_url=form_url)  # fmt: skip


@admin.register(AccountClassificationAssignment)
class AccountClassificationAssignmentAdmin(BigTableAdmin):
    """Current assignments (one row per account and classification)."""

    scope_instance_path = "account__instance"

    list_display = ("account", "instance", "classification", "source", "assigned_by", "assigned_at")
    list_select_related = ("account__instance", "classification", "rule", "assigned_by")
    list_filter = ("classification", "source")
    search_fields = ("^account__username", "=account__instance__name")
    fields = ("account", "classification", "source", "rule", "why", "assigned_by", "assigned_at")
    readonly_fields = fields
    ordering = ("-assigned_at",)

    @admin.display(description="Instance", ordering="account__instance__name")
    def instance(self, obj: AccountClassificationAssignment):
        return obj.account.instance

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("assign/<int:account_id>/", wrap(self.assign_view), name="classification_assign"),
            path("unassign/<int:account_id>/<int:classification_id>/", wrap(self.unassign_view),
                 name="classification_unassign"),  # fmt: skip
            *super().get_urls(),
        ]

    def _manual(self, request, account_id: int, classification_id, change_fn, verb: str):
        """POST from the account page: assign/unassign by hand, then back to the account."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(ASSIGN_PERMISSION):
            raise PermissionDenied
        account = get_object_or_404(InstanceAccount, pk=account_id)
        require_instance_in_scope(request.user, account.instance_id, acting=True)
        classification = AccountClassification.objects.filter(pk=classification_id or None).first()
        if classification is None:
            self.message_user(request, "Choose a classification.", messages.ERROR)
        else:
            result = change_fn(account_ids=[account.pk], classification=classification, user=request.user)
            done = f"{verb}ed" if result.changed else f"not {verb}ed (nothing to change)"
            self.message_user(request, f"{classification.name} {done} for {account.username}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:accounts_instanceaccount_change", args=[account.pk]))

    def assign_view(self, request, account_id: int):
        return self._manual(request, account_id, request.POST.get("classification"), classification_assign, "assign")

    def unassign_view(self, request, account_id: int, classification_id: int):
        return self._manual(request, account_id, classification_id, classification_unassign, "unassign")


@admin.register(AccountClassificationHistory)
class AccountClassificationHistoryAdmin(BigTableAdmin):
    """Every add/remove of an assignment, grouped by batch."""

    scope_instance_path = "account__instance"

    # the rule and the batch are on the row's page (the batch links to its other rows)
    list_display = ("changed_at", "account", "instance", "classification", "action", "source", "changed_by")
    list_select_related = ("account__instance", "classification", "rule", "changed_by")
    list_filter = (recent_date_filter("changed_at", default="all", title="changed"), SessionFilter, "action", "source")
    search_fields = ("^account__username", "=account__instance__name")
    fields = (
        "changed_at",
        "account",
        "classification",
        "action",
        "source",
        "rule",
        "batch_id",
        "session",
        "changed_by",
    )
    readonly_fields = fields
    # newest first by the primary key (there is no index on changed_at alone)
    ordering = ("-id",)

    @admin.display(description="Instance", ordering="account__instance__name")
    def instance(self, obj: AccountClassificationHistory):
        return obj.account.instance

    @admin.display(description="Batch", ordering="batch_id")
    def short_batch(self, obj: AccountClassificationHistory) -> str:
        url = reverse("admin:classification_accountclassificationhistory_changelist") + f"?batch_id={obj.batch_id}"
        return format_html('<a href="{}">{}</a>', url, str(obj.batch_id)[:8])


@admin.register(ClassificationDailyStat)
class ClassificationDailyStatAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Accounts per classification per instance per day."""

    scope_instance_path = "instance"

    list_display = ("date", "classification", "db_type", "instance", "account_count")
    list_select_related = ("classification", "db_type", "instance")
    list_filter = (recent_date_filter("date", default="30"), "classification", "db_type")
    search_fields = ("=instance__name", "classification__name")
    autocomplete_fields = ("instance",)
    fields = ("date", "classification", "db_type", "instance", "account_count")
    readonly_fields = fields
    ordering = ("-date", "classification_id", "instance_id")
    show_facets = admin.ShowFacets.NEVER
    paginator = BigTableAdmin.paginator
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        # The chart follows the classification and instance filters, over a fixed window.
        end = timezone.localdate()
        start = end - dt.timedelta(days=COUNTS_CHART_DAYS - 1)
        classification_id = _int_param(request, "classification__id__exact")
        instance_id = _int_param(request, "instance__id__exact")
        visible = visible_instances(request.user)
        series = classification_count_series(
            start=start, end=end, classification_id=classification_id, instance_id=instance_id, visible=visible
        )
        chart = line_chart(
            [(c.name, counts) for c, counts in series],
            start=start,
            end=end,
            colors=[c.color for c, _ in series] or None,
        )
        instances = Instance.objects.all() if visible is None else visible
        instance = instances.filter(pk=instance_id).first() if instance_id is not None else None
        context = {"counts_chart": chart, "counts_instance": instance, **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)


#: days the classification counts chart spans
COUNTS_CHART_DAYS = 90


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


@admin.register(InstanceClassificationState)
class InstanceClassificationStateAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """The state digest each instance's last auto-classification left (see docs/classification.md)."""

    scope_instance_path = "instance"

    list_display = ("instance", "classified_at", "fingerprint")
    list_select_related = ("instance",)
    search_fields = ("^instance__name",)
    fields = ("instance", "classified_at", "fingerprint")
    readonly_fields = fields
    ordering = ("instance__name",)


# --- on the account pages -------------------------------------------------------------


class ClassificationFilter(admin.SimpleListFilter):
    """Accounts currently assigned a classification (by code; the table is small)."""

    title = "classification"
    parameter_name = "classification"

    def lookups(self, request, model_admin):
        return tuple(AccountClassification.objects.order_by("-priority", "name").values_list("code", "name"))

    def queryset(self, request, queryset):
        value = self.value()
        return accounts_with_classification(queryset, codes=[value]) if value else queryset


class ClassificationAssignmentInline(ReadOnlyInlineMixin, TabularInline):
    """Current classifications of the account, why each holds, and (with the permission)
    assign/unassign by hand."""

    model = AccountClassificationAssignment
    fk_name = "account"
    fields = ("classification", "source", "reasons", "rule", "assigned_by", "assigned_at")
    readonly_fields = fields
    verbose_name_plural = "Classifications"
    template = "admin/classification/assignment_inline.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("classification", "rule", "assigned_by")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # what the template offers: assign/unassign forms for those who may
        formset.can_assign = request.user.has_perm(ASSIGN_PERMISSION)
        formset.account = obj
        formset.classifications = AccountClassification.objects.filter(is_active=True).order_by("-priority", "name")
        return formset

    @admin.display(description="Why")
    def reasons(self, obj: AccountClassificationAssignment) -> str:
        return reasons_text(obj)


def reasons_text(assignment: AccountClassificationAssignment) -> str:
    """Why an account holds a classification: the rule's reasons, or who assigned it by hand."""
    if assignment.source == AssignmentSource.MANUAL:
        return f"assigned by hand by {getattr(assignment.assigned_by, 'username', None) or 'someone'}"
    return "; ".join(assignment.why or []) or "-"


@admin.display(description="Primary classification")
def primary_classification(account) -> str:
    """The highest-priority current classification (from the prefetched assignments)."""
    first = next(iter(account.classifications.all()), None)
    if first is None:
        return "-"
    return format_html(
        '<span style="border-left:0.8em solid {};padding-left:0.3em">{}</span>',
        first.classification.color,
        first.classification.name,
    )


class _ClassificationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name


def _manual(change_fn, verb: str):
    @admin.action(description=f"{verb.capitalize()} the classification chosen beside by hand", permissions=["assign"])
    def action(modeladmin, request, queryset):
        classification = AccountClassification.objects.filter(pk=request.POST.get("classification") or None).first()
        if classification is None:
            modeladmin.message_user(request, "Choose a classification beside the action.", messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        result = change_fn(account_ids=ids, classification=classification, user=request.user)
        modeladmin.message_user(
            request,
            f"{classification.name}: {verb}ed {result.changed} account(s), {result.unchanged} left as they were.",
            messages.SUCCESS,
        )

    action.__name__ = f"{verb}_classification_action"
    return action


def _has_assign_permission(self, request) -> bool:
    return request.user.has_perm(ASSIGN_PERMISSION)


account_admin_extend(
    list_filters=(ClassificationFilter,),
    inlines=(ClassificationAssignmentInline,),
    list_display=(primary_classification,),
    actions=(_manual(classification_assign, "assign"), _manual(classification_unassign, "unassign")),
    permission_checks={"assign": _has_assign_permission},
    action_form_fields={
        "classification": _ClassificationChoice(
            queryset=AccountClassification.objects.filter(is_active=True), required=False, label="",
            empty_label="Classification…", widget=UnfoldAdminSelectWidget,
        )
    },
)


# --- on the instance pages ------------------------------------------------------------

classify_accounts_action = batch_admin_action(
    name="classify_accounts_action", description="Classify accounts", label="Classification",
    start=classification_auto_classify,
)  # fmt: skip
instance_admin_action_register(classify_accounts_action)
instance_admin_button_register("classify_accounts_action", "Classify",
                               hint="queued: a session applies the rules to its accounts")  # fmt: skip

#: rows of the instance page's "Risky accounts" card (the account list has them all)
RISKY_ROWS = 10


def _risky_accounts(instance: Instance) -> str:
    assignments = instance_risky_assignments(instance_id=instance.pk)
    shown = list(assignments[: RISKY_ROWS + 1])
    accounts_url = reverse("admin:accounts_instanceaccount_changelist") + f"?instance={instance.pk}"
    if not shown:
        return format_html('<p class="wf-ok">No active account holds a high or critical classification. '
                           '<a href="{}">Accounts</a></p>', accounts_url)  # fmt: skip
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (format_html('<a href="{}">{}</a>', reverse("admin:accounts_instanceaccount_change", args=[a.account_id]),
                     a.account),
         format_html('<i class="wf-swatch" style="background:{}"></i>{}', a.classification.color,
                     a.classification.name),
         a.classification.get_risk_level_display(),
         prose(reasons_text(a), limit=160))
        for a in shown[:RISKY_ROWS]
    ))  # fmt: skip
    more = f" (more than {RISKY_ROWS} — see the list)" if len(shown) > RISKY_ROWS else ""
    return format_html(
        '<table class="wf-table"><thead><tr><th>Account</th><th>Classification</th><th>Risk</th><th>Why</th></tr>'
        '</thead><tbody>{}</tbody></table><p class="wf-links"><a class="wf-link" href="{}">All accounts of this '
        "instance</a>{}</p>",
        rows, accounts_url, more,
    )  # fmt: skip


instance_admin_section_register("Risky accounts", _risky_accounts, order=20)
session_admin_link_register(
    "Classification changes",
    lambda session: reverse("admin:classification_accountclassificationhistory_changelist")
    + f"?session={session.session_id}",
)
