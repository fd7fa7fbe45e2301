"""Directory login (OpenLDAP, Active Directory) for the console and the API token endpoint.

Built on ``django-python3-ldap`` (on the pure-Python ``ldap3``: it installs from the package
index alone, where ``django-auth-ldap`` needs python-ldap compiled against system headers) and
configured from the ``WHALEFALL_LDAP_*`` variables (``whalefall/settings.py``; README
§ Directory login). What WhaleFall adds to the library:

- **search, then bind**: with a service account (``WHALEFALL_LDAP_BIND_DN``) the login's entry is
  found anywhere under ``WHALEFALL_LDAP_USER_BASE`` and the login binds as that DN; without one,
  the login binds as ``<attribute>=<name>,<user base>`` (the library's default);
- **groups → roles**: each directory login's WhaleFall groups (viewer/operator/admin) are set
  from its directory groups (``WHALEFALL_LDAP_ROLE_GROUPS``) at every login; a login in none
  of them is refused with a message saying so;
- **groups → team scopes**: likewise its team scopes (``WHALEFALL_LDAP_SCOPE_GROUPS``; README
  § Team scopes): the mapped scopes it is no longer in are taken away, scopes given by hand stay;
  a directory group mapped to a scope that does not exist refuses the login (it would otherwise
  see every instance);
- **a deadline that holds**: connect and receive timeouts, and one pass over the server pool
  (the library's default pool retries forever when no server answers, and ldap3 waits 10 s
  after each pass);
- **a clear message** when the directory did not answer (on the login page and from the token
  endpoint), kept apart from a wrong password;
- **local accounts first**: the model backend runs before this one, and a username that belongs
  to a local account with a password is never looked up in the directory — a directory that is
  down, or holds an entry of the same name, never locks a local admin out or takes the account.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import ldap3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django_python3_ldap.auth import LDAPBackend
from django_python3_ldap.utils import clean_ldap_name, format_username_openldap
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from unfold.forms import AuthenticationForm

from instances.models import Scope

logger = logging.getLogger(__name__)

ROLES = ("viewer", "operator", "admin")
#: where the login form and the token endpoint find why a directory login failed (request attribute)
REQUEST_ERROR = "whalefall_directory_error"
#: the team scopes a login's directory groups map to that WhaleFall lacks (user attribute)
MISSING_SCOPES = "_whalefall_missing_scopes"

# django-python3-ldap reports connection and bind failures only as warnings of this logger
# (authenticate() then answers None): they are captured per thread to tell "the directory did
# not answer" from "wrong password".
_LIBRARY_LOGGER = "django_python3_ldap.ldap"
_UNAVAILABLE = ("LDAPSocket", "LDAPServerPoolExhausted", "LDAPStartTLS", "LDAPSessionTerminated",
                "LDAPCommunicationError", "timed out")  # fmt: skip
_captured = threading.local()


class _CaptureFailures(logging.Filter):
    """Keep the library's failure messages of the capturing thread (they are still logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        messages = getattr(_captured, "messages", None)
        if messages is not None and record.levelno >= logging.WARNING:
            messages.append(record.getMessage())
        return True


logging.getLogger(_LIBRARY_LOGGER).addFilter(_CaptureFailures())

# ldap3 sleeps this long after every pass over a server pool, even after the last pass (10 s by
# default): with one pass per login (``active=1``) it would only delay the answer
ldap3.set_config_parameter("POOLING_LOOP_TIMEOUT", 0)


@contextmanager
def _library_failures() -> Iterator[list[str]]:
    _captured.messages = messages = []
    try:
        yield messages
    finally:
        _captured.messages = None


def directory_config() -> dict:
    """``settings.WHALEFALL_LDAP`` (empty when directory login is off)."""
    return getattr(settings, "WHALEFALL_LDAP", {}) or {}


def directory_enabled() -> bool:
    return bool(directory_config().get("URLS"))


def unavailable_message() -> str:
    config = directory_config()
    return (
        f"The directory ({', '.join(config['URLS'])}) did not answer within {config['TIMEOUT']:g} s, so directory "
        "logins cannot be checked now. Local accounts can still log in."
    )


class DirectoryBackend(LDAPBackend):
    """django-python3-ldap's backend, after the model backend (see the module docstring)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not directory_enabled() or not username or not password:
            return None
        User = get_user_model()
        local = User.objects.filter(username=username).first()
        if local is not None and local.has_usable_password():
            return None  # a local account: the model backend already decided
        with _library_failures() as failures:
            user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and not user.is_active:
            return None  # deactivated here: the directory does not override that
        if user is None and any(marker in message for message in failures for marker in _UNAVAILABLE):
            logger.warning("directory login of %r not checked: %s", username, failures[-1])
            if request is not None:
                setattr(request, REQUEST_ERROR, unavailable_message())
        elif user is not None and getattr(user, MISSING_SCOPES, None):
            missing = ", ".join(getattr(user, MISSING_SCOPES))
            logger.warning("directory login of %r refused: mapped to team scope(s) %s, which do not exist",
                           username, missing)  # fmt: skip
            if request is not None:
                setattr(request, REQUEST_ERROR, f"{username!r} belongs to a team scope that is not defined in "
                                                f"WhaleFall ({missing}); ask an administrator.")  # fmt: skip
            return None
        elif user is not None and not user.groups.filter(name__in=ROLES).exists():
            logger.info("directory login of %r refused: in none of the mapped directory groups", username)
            if request is not None:
                setattr(request, REQUEST_ERROR, f"{username!r} is in none of the directory groups that WhaleFall maps "
                                                "to a role (viewer, operator, admin); ask an administrator.")
            return None
        return user


class ConsoleLoginForm(AuthenticationForm):
    """The admin (unfold) login form, saying why a directory login failed when it was not the
    password (``UNFOLD["LOGIN"]["form"]``)."""

    def get_invalid_login_error(self) -> ValidationError:
        message = getattr(self.request, REQUEST_ERROR, None)
        if message:
            return ValidationError(message, code="directory")
        return super().get_invalid_login_error()


def directory_login_error(request) -> str | None:
    """Why the last directory login of ``request`` failed, when it was not the password."""
    return getattr(request, REQUEST_ERROR, None)


# --- hooks named in the LDAP_AUTH_* settings ------------------------------------------------


def format_username(model_fields: dict) -> str:
    """The DN (or name) a login binds as: the service account's own name as configured; with a
    service account, the DN of the entry found by the login attribute (search, then bind);
    otherwise ``<attribute>=<name>,<user base>``."""
    config = directory_config()
    name = model_fields.get("username", "")
    if config.get("BIND_DN") and name == config["BIND_DN"]:
        return name
    if not config.get("BIND_DN"):
        return format_username_openldap(model_fields)
    dn = _search_dn(config, name)
    # no entry: a DN that cannot bind, so the login fails like a wrong password
    return dn or f"{clean_ldap_name(config['USER_ATTRIBUTE'])}={clean_ldap_name(name)},{config['USER_BASE']}"


def _servers(config: dict) -> ldap3.ServerPool:
    """The configured servers, tried once each (``active=1``: the library's ``True`` retries forever)."""
    pool = ldap3.ServerPool(None, ldap3.FIRST, active=1, exhaust=config["TIMEOUT"])
    for url in config["URLS"]:
        pool.add(ldap3.Server(url, get_info=ldap3.NONE, connect_timeout=config["TIMEOUT"]))
    return pool


def _search_dn(config: dict, name: str) -> str | None:
    """The DN of the login's entry, searched with the service account (connection failures are
    logged on the library's logger, so the backend reports them like its own)."""
    try:
        connection = ldap3.Connection(
            _servers(config), user=config["BIND_DN"], password=config["BIND_PASSWORD"],
            receive_timeout=config["TIMEOUT"], raise_exceptions=True, read_only=True,
        )  # fmt: skip
        with connection:
            if config["START_TLS"]:
                connection.start_tls()
            connection.search(
                config["USER_BASE"],
                f"(&(objectClass={escape_filter_chars(config['USER_OBJECT_CLASS'])})"
                f"({escape_filter_chars(config['USER_ATTRIBUTE'])}={escape_filter_chars(name)}))",
                search_scope=ldap3.SUBTREE, attributes=[], size_limit=2,
            )  # fmt: skip
            entries = [e for e in connection.response if e.get("type") == "searchResEntry"]
    except LDAPException as exc:
        logging.getLogger(_LIBRARY_LOGGER).warning("LDAP connect failed: %s: %s", type(exc).__name__, exc)
        return None
    if len(entries) != 1:  # none, or ambiguous: never guess which person this is
        return None
    return entries[0]["dn"]


def sync_user_relations(user, ldap_attributes, *, connection=None, dn=None) -> None:
    """At each directory login: the WhaleFall role groups the login's directory groups map to
    (``WHALEFALL_LDAP_ROLE_GROUPS``), replacing the ones set before, and likewise its team scopes
    (``WHALEFALL_LDAP_SCOPE_GROUPS``: the mapped scopes only; scopes given by hand stay). Groups
    are read with ``WHALEFALL_LDAP_GROUP_FILTER`` (``{dn}`` = the login's DN) under the group base.
    A login with a role is staff (may use the console); one without, or mapped to a scope that
    does not exist, is refused by the backend."""
    config = directory_config()
    member_of = _directory_groups(config, connection, dn)
    roles = sorted({role for role, group_dn in config["ROLE_GROUPS"] if group_dn.lower() in member_of})
    mapped = {scope for scope, _ in config.get("SCOPE_GROUPS", ())}
    scopes = {scope for scope, group_dn in config.get("SCOPE_GROUPS", ()) if group_dn.lower() in member_of}
    with transaction.atomic():
        if user.is_staff != bool(roles):  # the admin (and the API) is for logins with a role
            user.is_staff = bool(roles)
            user.save(update_fields=["is_staff"])
        keep = user.groups.exclude(name__in=ROLES)
        user.groups.set([*keep, *Group.objects.filter(name__in=roles)])
        if mapped:
            found = list(Scope.objects.filter(name__in=scopes))
            user.instance_scopes.remove(*Scope.objects.filter(name__in=mapped - scopes))
            user.instance_scopes.add(*found)
            setattr(user, MISSING_SCOPES, sorted(scopes - {scope.name for scope in found}))
    logger.info("directory login %r: roles %s, team scopes %s", user.get_username(), ", ".join(roles) or "none",
                ", ".join(sorted(scopes)) or "none")  # fmt: skip


def _directory_groups(config: dict, connection, dn: str | None) -> set[str]:
    """Lower-cased DNs of the groups the login is a member of."""
    if connection is None or not dn or not config.get("GROUP_BASE"):
        return set()
    connection.search(
        config["GROUP_BASE"],
        config["GROUP_FILTER"].replace("{dn}", escape_filter_chars(dn)),
        search_scope=ldap3.SUBTREE,
        attributes=[],
    )
    return {entry["dn"].lower() for entry in connection.response if entry.get("type") == "searchResEntry"}


def clean_user_data(model_fields: dict) -> dict:
    """Directory attributes a login does not have stay empty (never None on Django's fields)."""
    return {name: value or "" for name, value in model_fields.items()}
