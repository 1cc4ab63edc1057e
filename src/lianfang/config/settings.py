"""Settings, all from LIANFANG_* environment variables (see .env.example)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from lianfang.config.env import env

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env("DATA_DIR", "var")).resolve()

PRODUCTION = env("PRODUCTION", False, cast=bool)
TESTING = "pytest" in sys.modules or env("TESTING", False, cast=bool)
# Off unless asked for: a traceback page shows settings and the submitted form (a login password).
DEBUG = env("DEBUG", False, cast=bool)

if PRODUCTION:
    SECRET_KEY = env("SECRET_KEY", required=True)
    ALLOWED_HOSTS = env("ALLOWED_HOSTS", cast=list, required=True)
    SESSION_COOKIE_SECURE = env("SECURE_COOKIES", True, cast=bool)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # TLS ends at the proxy in front (docs/security.md); it says so in X-Forwarded-Proto.
    SECURE_SSL_REDIRECT = env("SSL_REDIRECT", True, cast=bool)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env("HSTS_SECONDS", 31536000, cast=int)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # An intranet host name cannot be on the browsers' public preload list: asking for it is moot.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
else:
    SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-not-for-production")
    ALLOWED_HOSTS = env("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"], cast=list)
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS", [], cast=list)
CSRF_FAILURE_VIEW = "lianfang.web.errors.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "axes",
    "csp",
    "lianfang.accounts",
    "lianfang.geo",
    "lianfang.people",
    "lianfang.imports",
    "lianfang.edition",
    "lianfang.screening",
    "lianfang.tracing",
    # After every app that states facts it reads (tracing's cases) and fills `lianfang trace`.
    "lianfang.companions",
    "lianfang.custody",
    "lianfang.zones",
    "lianfang.livelihood",
    "lianfang.command",
    "lianfang.simulate",
    "lianfang.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "lianfang.config.headers.NoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lianfang.core.fields.RefuseControlCharacters",
    "lianfang.config.load.LoadShedMiddleware",
    "lianfang.config.load.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "lianfang.config.headers.SessionIdleMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lianfang.accounts.scoping.JurisdictionMiddleware",
    # Last: turns a login refused for too many failures into the login page's 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lianfang.config.urls"
WSGI_APPLICATION = "lianfang.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lianfang.web.context.navigation",
            ],
        },
    },
]

SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    # Only settings safe for several processes writing one file (docs/operations.md,
    # "SQLite settings"): WAL; NORMAL sync (WAL stays consistent, a power loss may undo
    # the last commits); a 64 MB page cache and in-memory temp tables, both private to
    # the connection. No memory map: a page read through one cannot report an I/O error
    # (SIGBUS instead); ``mmap_size=0`` says so whatever the build's default.
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=0;"
    ),
}

# Database: embedded SQLite (WAL) by default, PostgreSQL by LIANFANG_DATABASE_URL.
DATABASE_URL = env("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "lianfang.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Login throttling (django-axes) on every login path, /login/ and /admin/login/ alike: failures are
# counted per account *and* address together, so nobody elsewhere can lock a user out; a success
# clears the count; the lock lifts by itself after the cool-off (each failure inside it restarts it).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # The back office's rights come from the role (admin), not from groups and permissions.
    "lianfang.accounts.backends.RolePermissions",
]
AXES_FAILURE_LIMIT = env("LOGIN_FAILURE_LIMIT", 5, cast=int)
LOGIN_COOLOFF_MINUTES = env("LOGIN_COOLOFF_MINUTES", 15, cast=int)
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "lianfang.accounts.throttle.username_of"
AXES_CLIENT_IP_CALLABLE = "lianfang.accounts.scoping.client_ip"
AXES_LOCKOUT_CALLABLE = "lianfang.web.views.login_locked_out"
AXES_DISABLE_ACCESS_LOG = True  # successes and failures are in the audit log already
AXES_VERBOSE = False

# Sessions end after this many idle minutes (MLPS level 3: session timeout) and with the browser.
SESSION_IDLE_MINUTES = env("SESSION_IDLE_MINUTES", 30, cast=int)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# API budgets a minute (accounts/ratelimit.py): every request of a token; person searches and
# look-ups of a user. 0 switches a limit off.
API_RATE_PER_MINUTE = env("API_RATE_PER_MINUTE", 1200, cast=int)
API_SEARCH_PER_MINUTE = env("API_SEARCH_PER_MINUTE", 60, cast=int)

# The client address of the audit log and the login throttle: REMOTE_ADDR, unless the request
# came through one of these proxies, whose X-Forwarded-For is then believed (its last hop only).
TRUSTED_PROXIES = env("TRUSTED_PROXIES", [], cast=list)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Counts grouped by thousands in Chinese as in English (config/formats/zh_Hans).
FORMAT_MODULE_PATH = ["lianfang.config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "uploads"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPORT_MAX_UPLOAD_MB = env("IMPORT_MAX_UPLOAD_MB", 512, cast=int)

# Load shedding (config/load.py): requests running at once per server process, how long a request
# may wait for a slot before it is answered 503, and the Retry-After it is given.
LIANFANG_ACTIVE_REQUESTS = env("ACTIVE_REQUESTS", 2, cast=int)
LIANFANG_QUEUE_WAIT_MS = env("QUEUE_WAIT_MS", 500, cast=int)
LIANFANG_MAX_WAITING = env("MAX_WAITING", 2, cast=int)
LIANFANG_RETRY_AFTER_S = env("RETRY_AFTER_S", 2, cast=int)

# The protocol edition in force until a commander switches it on the protocol page (lianfang.protocol):
# every duration, clock, test day and threshold comes from it.
LIANFANG_PROTOCOL = env("PROTOCOL", "p9")

TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING or env("TASKS_IMMEDIATE", False, cast=bool)
            else "django_tasks_db.backend.DatabaseBackend"
        )
    }
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp): scripts and styles only from our own static files, so a
# name that slipped past escaping still cannot run. Pages carry no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}

# Residents' one-time codes (livelihood): "log" writes the text to the log (no gateway on the
# closed network), "outbox" keeps it in memory (tests, demo). Limits: livelihood/services/resident.py.
LIVELIHOOD_SMS_BACKEND = env("SMS_BACKEND", "log")
