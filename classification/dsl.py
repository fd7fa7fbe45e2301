"""The classification rule DSL (DESIGN.md § Classification): validate, compile, evaluate.

Pure: no ORM, no I/O. A rule is JSON, exactly this grammar (other tools write it too):

- ``{"op": "and"|"or", "args": [rule, …]}`` (one or more), ``{"op": "not", "args": [rule]}``
- ``{"fn": "is_superuser"}``, ``{"fn": "can_grant"}``, ``{"fn": "is_locked"}``, ``{"fn": "can_login"}``
- ``{"fn": "has_role", "role": "name"}`` — direct or inherited (``facts.roles``)
- ``{"fn": "has_privilege", "privilege": "DELETE", "level"?: "global|database|schema|object|column",
  "target"?: "glob", "grantable"?: true, "include_set_role"?: true}`` — over the effective
  privileges (``facts.privileges``)
- ``{"fn": "password_policy", "enforced": true|false}`` — the engine reported that value
  (``facts.password_policy.enforced``; null — the engine cannot tell — never matches)
- ``{"fn": "db_type_in", "values": […]}``, ``{"fn": "environment_in", "values": […]}``,
  ``{"fn": "instance_tag", "tag": "prod"}``, ``{"fn": "username_matches", "pattern": "app_*"}``

``has_privilege`` semantics — the matching rules of ``instances.adapters.matching`` (the
one answer to "does this account hold P on O"), over every effective entry including the
implied ones (``implied_by``: superuser, owner, sysadmin, dbo, any_privilege, …):

- the privilege name is compared case-insensitively; a held ``ALL`` / ``ALL PRIVILEGES``
  counts as every privilege (PostgreSQL below the global level: the privileges that kind
  of object has), SQL Server ``CONTROL`` / ``CONTROL SERVER`` too;
- ``level`` keeps privileges held at that level or a broader one (global ⊃ database ⊃
  schema ⊃ object ⊃ column): a global privilege satisfies any narrower level;
- ``target`` is a glob (``fnmatch``: ``*`` matches any text, dots included) over the
  privilege's target (``db``, ``db.table``, ``db.schema.table.column``…); a broader
  privilege covers it when its own dotted parts match the glob's leading parts
  (``DELETE`` on ``app`` covers ``app.orders``) where the engine passes that level down
  (PostgreSQL: table → column only); global privileges cover every target (PostgreSQL's
  ``USAGE`` only schemas: matching rule 3);
- ``grantable: true`` keeps only privileges held WITH GRANT/ADMIN OPTION (``false``, the
  default, does not filter);
- privileges reachable only by ``SET ROLE`` (``via_set_role``) count only with
  ``include_set_role: true``;
- a ``DENY`` that gives the privilege and whose scope covers a granted entry's cancels it
  (not a column GRANT by a table DENY; never what sysadmin, dbo, an owner or a superuser hold).

Evaluation returns ``None`` (no match) or the reasons it matched ("why": the leaves
that decided it, e.g. ``"DELETE on app (database) via reporting → app_rw"``) and
never raises on a valid rule, whatever the facts hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

from instances.adapters import matching
from instances.adapters.matching import mysql as mysql_matching

LEVELS = matching.LEVELS
_RANK = matching.RANK
OPERATORS = ("and", "or", "not")
#: bounds that keep a stored rule cheap to validate and evaluate
MAX_DEPTH = 32
MAX_NODES = 500

Why = tuple[str, ...]


# --- what a rule sees ----------------------------------------------------------------


class Subject:
    """One account as rules see it: its engine-neutral facts plus its instance.

    Its roles and privilege index are built on first use and kept (a plain class with
    slots: rules read them 100,000s of times)."""

    __slots__ = ("_denials", "_index", "_roles", "db_type", "environment", "facts", "tags", "username")

    def __init__(
        self,
        *,
        username: str,
        facts: Mapping[str, Any],
        db_type: str = "",
        environment: str = "",
        tags: frozenset[str] = frozenset(),
    ):
        self.username, self.facts, self.db_type, self.environment, self.tags = (
            username, facts, db_type, environment, tags,
        )  # fmt: skip
        self._roles: frozenset[str] | None = None
        self._index: dict[str, list[_Held]] | None = None
        self._denials: list[_Held] | None = None

    def __repr__(self) -> str:
        return f"<Subject {self.username!r} {self.db_type}>"

    def fresh(self) -> Subject:
        """The same account without its built indexes."""
        return Subject(username=self.username, facts=self.facts, db_type=self.db_type, environment=self.environment,
                       tags=self.tags)  # fmt: skip

    @property
    def roles(self) -> frozenset[str]:
        if self._roles is None:
            roles = self.facts.get("roles")
            self._roles = (
                frozenset(r for r in roles if type(r) is str) if isinstance(roles, list | tuple) else frozenset()
            )
        return self._roles

    @property
    def privileges_by_name(self) -> dict[str, list[_Held]]:
        """Effective privileges indexed by upper-case name (built once per account)."""
        if self._index is None:
            index: dict[str, list[_Held]] = {}
            entries = self.facts.get("privileges")
            for entry in entries if isinstance(entries, list | tuple) else ():
                held = _held(entry)
                if held is not None:
                    index.setdefault(held.privilege, []).append(held)
            self._index = index
        return self._index

    @property
    def denials(self) -> list[_Held]:
        """The DENY entries (SQL Server), built once per account."""
        if self._denials is None:
            self._denials = [held for entries in self.privileges_by_name.values() for held in entries if held.denied]
        return self._denials

    @property
    def has_denials(self) -> bool:
        return bool(self.denials)

    def flag(self, name: str) -> bool:
        return self.facts.get(name) is True


class _Held(NamedTuple):
    """One effective privilege entry, normalised for matching (a tuple: built 100,000s of times).
    Its attribute names are those ``instances.adapters.matching`` reads."""

    privilege: str
    level: str
    target: str
    parts: tuple[str, ...]
    grantable: bool
    state: str
    via: tuple[str, ...]
    via_set_role: bool
    implied_by: str | None

    @property
    def denied(self) -> bool:
        return self.state == "DENY"

    def describe(self) -> str:
        text = f"{self.privilege} on {self.target or '*'} ({self.level})"
        if self.grantable:
            text += " WITH GRANT OPTION"
        if self.via:
            text += " via " + " → ".join(self.via) + (" (SET ROLE)" if self.via_set_role else "")
        else:
            text += " (direct)"
        if self.implied_by:
            text += f" (implied by {self.implied_by})"
        return text


def _held(entry: Any) -> _Held | None:
    """A facts entry as a ``_Held`` (None when it is not a privilege entry at all)."""
    if type(entry) is not dict:
        return None
    name = entry.get("privilege")
    if type(name) is not str:
        return None
    level = entry.get("level")
    if level not in _RANK:
        level = "object"
    target = entry.get("target")
    if type(target) is not str:
        target = ""
    via = entry.get("via")
    via = tuple(str(v) for v in via) if via and isinstance(via, list | tuple) else ()
    state = entry.get("state")
    implied_by = entry.get("implied_by")
    return _Held(
        matching.normal_name(name),
        level,
        target,
        matching.target_parts(target) if target else (),
        entry.get("grantable") is True,
        "DENY" if state == "DENY" or (type(state) is str and state.upper() == "DENY") else "GRANT",
        via,
        entry.get("via_set_role") is True,
        implied_by if type(implied_by) is str else None,
    )


# --- validation ----------------------------------------------------------------------


class RuleError(ValueError):
    """One problem in a rule, with the JSON path of the offending node or key."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path or 'rule'}: {self.message}"


class RuleInvalid(ValueError):
    """A rule with one or more problems (``errors``, each with its path)."""

    def __init__(self, errors: list[RuleError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def _string(value: Any) -> bool:
    # jsonb cannot store NUL: a rule holding one could not be saved
    return isinstance(value, str) and value.strip() != "" and "\x00" not in value


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_string(v) for v in value)


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _level(value: Any) -> bool:
    return isinstance(value, str) and value in _RANK  # a dict or list is unhashable


# JSON Schema of the same checks (json_schema below): some non-space character, no NUL
_STRING_SCHEMA = {"type": "string", "pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"}
_STRINGS_SCHEMA = {"type": "array", "minItems": 1, "items": _STRING_SCHEMA}
_BOOLEAN_SCHEMA = {"type": "boolean"}
_LEVEL_SCHEMA = {"type": "string", "enum": list(LEVELS)}


@dataclass(frozen=True)
class _Param:
    check: Callable[[Any], bool]
    expected: str
    schema: dict
    required: bool = True


_FUNCTIONS: dict[str, dict[str, _Param]] = {
    "is_superuser": {},
    "can_grant": {},
    "is_locked": {},
    "can_login": {},
    "has_role": {"role": _Param(_string, "a role name (non-empty string)", _STRING_SCHEMA)},
    "has_privilege": {
        "privilege": _Param(_string, "a privilege name (non-empty string)", _STRING_SCHEMA),
        "level": _Param(_level, f"one of {', '.join(LEVELS)}", _LEVEL_SCHEMA, required=False),
        "target": _Param(_string, "a glob (non-empty string)", _STRING_SCHEMA, required=False),
        "grantable": _Param(_boolean, "true or false", _BOOLEAN_SCHEMA, required=False),
        "include_set_role": _Param(_boolean, "true or false", _BOOLEAN_SCHEMA, required=False),
    },
    "password_policy": {"enforced": _Param(_boolean, "true or false", _BOOLEAN_SCHEMA)},
    "db_type_in": {"values": _Param(_strings, "a non-empty list of database type names", _STRINGS_SCHEMA)},
    "environment_in": {"values": _Param(_strings, "a non-empty list of environments", _STRINGS_SCHEMA)},
    "instance_tag": {"tag": _Param(_string, "a tag name (non-empty string)", _STRING_SCHEMA)},
    "username_matches": {"pattern": _Param(_string, "a glob (non-empty string)", _STRING_SCHEMA)},
}
FUNCTIONS = tuple(_FUNCTIONS)
#: what the functions whose meaning is not in their name do (published in the JSON Schema)
_FUNCTION_DOCS = {
    "has_role": "The account holds the role, directly or inherited (exact name).",
    "has_privilege": "Some effective privilege gives it — held directly, through roles, or implied by the engine "
    "(superuser, owner, sysadmin, db_owner, dbo, ANY privileges); ALL counts as every privilege; level keeps that "
    "level and broader ones; target is a glob; DENY (SQL Server) cancels what it covers; SET ROLE-only privileges "
    "count with include_set_role (instances/adapters/matching/ has the exact rules).",
    "password_policy": "The engine reported that value for facts.password_policy.enforced (SQL Server CHECK_POLICY, "
    "an Oracle profile's PASSWORD_VERIFY_FUNCTION, MySQL validate_password, MariaDB password-check plugins, "
    "PostgreSQL passwordcheck); null — the engine cannot tell — never matches, whichever value is asked.",
}


def json_schema(ref: str) -> dict:
    """The grammar as a JSON Schema (OpenAPI 3.0 dialect), built from the same table the
    validator uses; ``ref`` is where this schema itself is referenced (rules nest). Not
    expressible there: the MAX_DEPTH and MAX_NODES bounds."""
    nested = {"$ref": ref}
    variants = [
        {
            "type": "object",
            "required": ["op", "args"],
            "additionalProperties": False,
            "properties": {"op": {"type": "string", "enum": ["and", "or"]},
                           "args": {"type": "array", "minItems": 1, "items": nested}},
        },
        {
            "type": "object",
            "required": ["op", "args"],
            "additionalProperties": False,
            "properties": {"op": {"type": "string", "enum": ["not"]},
                           "args": {"type": "array", "minItems": 1, "maxItems": 1, "items": nested}},
        },
    ]  # fmt: skip
    for name, params in _FUNCTIONS.items():
        variants.append(
            {
                "type": "object",
                "required": ["fn", *(key for key, param in params.items() if param.required)],
                "additionalProperties": False,
                "properties": {"fn": {"type": "string", "enum": [name]}}
                | {key: param.schema for key, param in params.items()},
            }
            | ({"description": _FUNCTION_DOCS[name]} if name in _FUNCTION_DOCS else {})
        )
    return {"oneOf": variants, "description": "A classification rule (DESIGN.md § Classification)."}


def _join(path: str, key: str | int) -> str:
    return f"{path}/{key}" if path else str(key)


@dataclass
class _Validator:
    errors: list[RuleError] = field(default_factory=list)
    nodes: int = 0

    def node(self, rule: Any, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.errors.append(RuleError(path, f"rule too large (more than {MAX_NODES} nodes)"))
            return
        if depth > MAX_DEPTH:
            self.errors.append(RuleError(path, f"rule nested too deeply (more than {MAX_DEPTH} levels)"))
            return
        if not isinstance(rule, dict):
            self.errors.append(RuleError(path, 'must be an object: {"op": …, "args": […]} or {"fn": …}'))
            return
        if "op" in rule and "fn" in rule:
            self.errors.append(RuleError(path, "has both 'op' and 'fn'; a rule is one or the other"))
        elif "op" in rule:
            self.operator(rule, path, depth)
        elif "fn" in rule:
            self.function(rule, path)
        else:
            self.errors.append(RuleError(path, "needs 'op' (and, or, not) or 'fn'"))

    def operator(self, rule: dict, path: str, depth: int) -> None:
        op = rule["op"]
        for key in rule:
            if key not in ("op", "args"):
                self.errors.append(RuleError(_join(path, key), f"unknown key {key!r} (an operator has op, args)"))
        if op not in OPERATORS:
            self.errors.append(RuleError(_join(path, "op"), f"unknown operator {op!r} (and, or, not)"))
            return
        args_path = _join(path, "args")
        args = rule.get("args")
        if not isinstance(args, list):
            self.errors.append(RuleError(args_path, "must be a list of rules"))
            return
        if op == "not" and len(args) != 1:
            self.errors.append(RuleError(args_path, f"'not' takes exactly one rule, got {len(args)}"))
        elif op != "not" and not args:
            self.errors.append(RuleError(args_path, f"{op!r} needs at least one rule"))
        for index, arg in enumerate(args):
            self.node(arg, _join(args_path, index), depth + 1)

    def function(self, rule: dict, path: str) -> None:
        name = rule["fn"]
        params = _FUNCTIONS.get(name) if isinstance(name, str) else None
        if params is None:
            self.errors.append(RuleError(_join(path, "fn"), f"unknown function {name!r}"))
            return
        for key in rule:
            if key != "fn" and key not in params:
                allowed = ", ".join(params) or "no other keys"
                self.errors.append(RuleError(_join(path, key), f"unknown key {key!r} for {name} ({allowed})"))
        for key, param in params.items():
            if key not in rule:
                if param.required:
                    self.errors.append(RuleError(_join(path, key), f"required: {param.expected}"))
            elif not param.check(rule[key]):
                self.errors.append(RuleError(_join(path, key), f"must be {param.expected}, not {rule[key]!r}"))


def validate(rule: Any) -> list[RuleError]:
    """Every problem of ``rule`` (empty when valid), each with its JSON path."""
    validator = _Validator()
    validator.node(rule, "", 0)
    return validator.errors


# --- compilation and evaluation --------------------------------------------------------

Evaluator = Callable[[Subject], Why | None]


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule, compiled once into closures; ``evaluate`` is the hot path."""

    expression: Any
    evaluate: Evaluator

    def __call__(self, subject: Subject) -> Why | None:
        return self.evaluate(subject)


def compile_rule(rule: Any) -> CompiledRule:
    """Validate and compile ``rule``; ``RuleInvalid`` (with every error) when it is not valid."""
    errors = validate(rule)
    if errors:
        raise RuleInvalid(errors)
    return CompiledRule(rule, _compile(rule))


def evaluate(rule: Any, subject: Subject) -> Why | None:
    """One-off evaluation (validates and compiles first)."""
    return compile_rule(rule)(subject)


def _compile(rule: dict) -> Evaluator:
    if "op" in rule:
        parts = [_compile(arg) for arg in rule["args"]]
        if rule["op"] == "not":
            (inner,) = parts
            label = f"not {describe(rule['args'][0])}"

            def negation(subject: Subject) -> Why | None:
                return None if inner(subject) is not None else (label,)

            return negation
        if rule["op"] == "and":

            def conjunction(subject: Subject) -> Why | None:
                why: list[str] = []
                for part in parts:
                    reason = part(subject)
                    if reason is None:
                        return None
                    why.extend(reason)
                return tuple(why)

            return conjunction

        def disjunction(subject: Subject) -> Why | None:
            for part in parts:
                reason = part(subject)
                if reason is not None:
                    return reason
            return None

        return disjunction
    return _FUNCTION_COMPILERS[rule["fn"]](rule)


def _flag(name: str) -> Callable[[dict], Evaluator]:
    def compile_flag(rule: dict) -> Evaluator:
        why = (name,)
        return lambda subject: why if subject.flag(name) else None

    return compile_flag


def _password_policy(rule: dict) -> Evaluator:
    """The engine reported exactly that value (``facts.password_policy.enforced``); ``null``
    (the engine cannot tell) and a missing fact never match, whichever value is asked."""
    enforced = rule["enforced"]
    label = "password policy enforced" if enforced else "password policy not enforced"

    def check(subject: Subject) -> Why | None:
        policy = subject.facts.get("password_policy")
        if type(policy) is not dict or policy.get("enforced") is not enforced:
            return None
        reason = policy.get("reason")
        return (f"{label}: {reason}" if type(reason) is str and reason else label,)

    return check


def _has_role(rule: dict) -> Evaluator:
    role = rule["role"]
    why = (f"role {role}",)
    return lambda subject: why if role in subject.roles else None


def _in_values(attribute: str, label: str) -> Callable[[dict], Evaluator]:
    def compile_in(rule: dict) -> Evaluator:
        values = frozenset(rule["values"])

        def check(subject: Subject) -> Why | None:
            value = getattr(subject, attribute)
            return (f"{label} {value}",) if value in values else None

        return check

    return compile_in


def _instance_tag(rule: dict) -> Evaluator:
    tag = rule["tag"]
    why = (f"instance tag {tag}",)
    return lambda subject: why if tag in subject.tags else None


def _username_matches(rule: dict) -> Evaluator:
    pattern = rule["pattern"]

    def check(subject: Subject) -> Why | None:
        return (f"username {subject.username} matches {pattern}",) if fnmatchcase(subject.username, pattern) else None

    return check


#: index keys an entry giving a privilege can have (``matching.gives`` decides, per engine)
_COVERING_NAMES = ("ALL", "ALL PRIVILEGES", "CONTROL", "CONTROL SERVER")


def _has_privilege(rule: dict) -> Evaluator:
    """Some effective entry gives the privilege (``instances.adapters.matching``: names, ``ALL``,
    SQL Server CONTROL, PostgreSQL's ``ALL`` per kind of object, implied entries), within the
    rule's level and target, and is not cancelled by a DENY at its own scope (``matching.holds``
    asked about that entry's level and target returns it; a MariaDB first-match DENY cancels a
    database row only when it matches all of the row's names) nor, when the rule names one
    database, on that database."""
    name = matching.normal_name(rule["privilege"])
    names = (name, *(n for n in _COVERING_NAMES if n != name))
    max_rank = _RANK[rule.get("level", "column")]
    target = rule.get("target")
    glob_parts = matching.target_parts(target) if target else ()
    # a database the rule names literally (no glob character): where a MySQL partial revoke applies
    literal_db = glob_parts[0] if glob_parts and not any(c in glob_parts[0] for c in "*?[") else None
    grantable = rule.get("grantable") is True
    include_set_role = rule.get("include_set_role") is True

    def in_scope(held: _Held, db_type: str) -> bool:
        if _RANK[held.level] > max_rank or (held.via_set_role and not include_set_role):
            return False
        if target is None:
            return True
        if held.level == "global":  # everything, but PostgreSQL's USAGE only schemas (matching rule 3)
            schemas = len(glob_parts) == 2 and not matching.is_kind_named(glob_parts[-1])
            return schemas or not matching.schemas_only(held, db_type)
        if not held.parts:
            return True
        if len(held.parts) >= len(glob_parts):
            return fnmatchcase(held.target, target)
        if matching.is_kind_named(held.parts[-1]):  # a KIND::name object holds nothing (matching rule 3)
            return False
        # a broader entry covers the glob's objects where the engine passes its level down
        return matching.passes_down(db_type, held.level) and all(
            fnmatchcase(part, glob) for part, glob in zip(held.parts, glob_parts, strict=False)
        )

    def check(subject: Subject) -> Why | None:
        index, db_type = subject.privileges_by_name, subject.db_type
        for n in names:
            for held in index.get(n, ()):
                if held.denied or (grantable and not held.grantable) or not in_scope(held, db_type):
                    continue
                if not matching.gives(held, name, db_type):
                    continue
                if subject.has_denials and _denied(subject, name, held, include_set_role):
                    continue
                if (
                    held.level in ("global", "database")
                    and literal_db
                    and subject.has_denials
                    and _denied(subject, name, held, include_set_role, ("database", literal_db))
                ):  # MySQL: asked about one database — a partial revoke of the global grant's holder, or
                    # a more specific row that matches that database first (MariaDB)
                    continue
                return (held.describe(),)
        return None

    return check


def _denied(subject: Subject, name: str, held: _Held, include_set_role: bool,
            scope: tuple[str, str] | None = None) -> bool:  # fmt: skip
    """A counted DENY that gives the privilege and covers ``held``'s own scope cancels it
    (``matching.cancels``: not a column GRANT by a table DENY, never sysadmin/dbo/owner/superuser; a
    MySQL partial revoke only its holder's global grant). ``scope``: (level, target) asked instead
    of ``held``'s own."""
    db_type = subject.db_type
    level, target = scope or (held.level, held.target)
    for deny in subject.denials:
        if not ((include_set_role or not deny.via_set_role) and matching.gives(deny, name, db_type)):
            continue
        if scope is None and mysql_matching.is_first_match(deny):
            # a MariaDB first-match DENY stands for a more specific row: it hides the held row (a
            # pattern, which ``covers`` would read as one name) everywhere only when every name the
            # held row matches matches the DENY's row first; elsewhere the held row still applies
            covered = mysql_matching.mysql_pattern_contains(deny.target, held.target)
        else:
            covered = matching.covers(deny, level, target, db_type)
        if covered and matching.cancels(deny, held, db_type):
            return True
    return False


_FUNCTION_COMPILERS: dict[str, Callable[[dict], Evaluator]] = {
    "is_superuser": _flag("is_superuser"),
    "can_grant": _flag("can_grant"),
    "is_locked": _flag("is_locked"),
    "can_login": _flag("can_login"),
    "has_role": _has_role,
    "has_privilege": _has_privilege,
    "password_policy": _password_policy,
    "db_type_in": _in_values("db_type", "db type"),
    "environment_in": _in_values("environment", "environment"),
    "instance_tag": _instance_tag,
    "username_matches": _username_matches,
}


def describe(rule: Any) -> str:
    """A short human reading of a (valid) rule, for reasons and the admin."""
    if "op" in rule:
        inner = [describe(arg) for arg in rule["args"]]
        if rule["op"] == "not":
            return f"not {inner[0]}"
        return "(" + f" {rule['op']} ".join(inner) + ")" if len(inner) > 1 else inner[0]
    fn = rule["fn"]
    args = [f"{key}={value!r}" for key, value in rule.items() if key != "fn"]
    return f"{fn}({', '.join(args)})"
