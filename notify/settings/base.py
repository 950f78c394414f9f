"""Django, DRF and OpenAPI settings."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from notify.settings.env import BASE_DIR, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-only-key-set-SECRET_KEY-in-production"  # noqa: S105
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind a TLS-terminating proxy, webhook signatures are computed over the public URL.
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if env.bool("SECURE_PROXY_SSL", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    # Admin login lockout (notify/settings/security.py); its attempt log shows in the admin.
    "axes",
    "csp",
    "notify.apps.NotifyConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "notify.middleware.BodySizeLimitMiddleware",
    "notify.middleware.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username+address before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "notify.urls"
WSGI_APPLICATION = "notify.wsgi.application"

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
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/notify"),
}
# Persistent connections with a health check: workers survive a Postgres restart without
# "connection already closed" (reliability.md §1).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A web process may turn the check off (DB_CONN_HEALTH_CHECKS=0): it saves a round trip
# per request, and a connection Postgres dropped while idle then fails one request with a
# 503 (nothing stored, Retry-After) before it is replaced.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
    "DB_CONNECT_TIMEOUT", default=5
)

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date format on every admin page: ISO 8601 with the offset (notify/formats/en).
FORMAT_MODULE_PATH = ["notify.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Messages stay server-side: the admin shows a new API key's raw value once through them.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=256 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["notify.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["notify.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "notify.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["notify.api.throttling.ApiKeyThrottle"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Notify API",
    "DESCRIPTION": (
        "Send a notification to one recipient over email, SMS and push. Notify picks the "
        "channels, renders the content, delivers through the configured providers, retries "
        "what failed and records the state of every delivery."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # The channel list appears in several serializers: one name for it in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "channels.names",  # the channel registry
        "DeliveryStatusEnum": "notify.models.notifications.DeliveryStatus",
        "BroadcastStatusEnum": "notify.models.audiences.Broadcast.Status",
    },
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notify.api.schema.add_error_responses",
    ],
}

# Requests per API key; "" disables. DRF syntax: N/s, N/m, N/h.
NOTIFY_API_RATE = env.str("NOTIFY_API_RATE", default="100/s")
# Each web process remembers a checked API key this long instead of querying per request:
# the bound on how late a revocation or a new rate limit reaches the other processes. 0: no
# cache.
NOTIFY_API_KEY_CACHE_SECONDS = env.float("NOTIFY_API_KEY_CACHE_SECONDS", default=10.0)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "notify",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# Set SECURE_HTTPS=1 where Notify is served over HTTPS (production): redirects, HSTS and
# secure cookies; `manage.py check --deploy` is then clean.
if env.bool("SECURE_HTTPS", default=False):
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Joining browsers' preload list is a one-way commitment for the whole domain: opt in.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Health probes come from the orchestrator over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# LOG_FORMAT=json: one JSON object per line, with notification/delivery/task ids
# (notify/observability/jsonlogs.py); "plain" for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "notify.observability.jsonlogs.JsonFormatter"},
    },
    "filters": {
        "mask_pii": {"()": "notify.logs.MaskPII"},
        "log_context": {"()": "notify.observability.jsonlogs.LogContextFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["mask_pii", "log_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # twilio logs every request and response at INFO.
    "loggers": {
        # One line per delivery status change: on by default for JSON logs only.
        "notify.events": {
            "level": env.str(
                "LOG_EVENTS_LEVEL", default="INFO" if LOG_FORMAT == "json" else "WARNING"
            )
        },
        "mail.log": {"level": "WARNING"},
        # django-axes: failed logins and lockouts are warnings; its INFO lines (successful
        # login, attempts reset, cleaned up) come four to each admin login.
        "axes": {"level": "WARNING"},
        "twilio.http_client": {"level": "WARNING"},
        # One line per task (a sweep every few seconds) buries everything else; Flower
        # shows tasks. CELERY_TASK_LOG_LEVEL=INFO brings them back.
        "celery.app.trace": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.beat": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.worker.strategy": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
    },
}
