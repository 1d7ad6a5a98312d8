"""
Settings for the S-I program site: one module, driven by environment variables.

Secure by default: DEBUG is off unless DJANGO_DEBUG is set, and there is no secret key
default outside debug. architecture.md lists every variable production reads.
"""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.env import env_bool, env_int, env_list, env_str, mailer_from_url

BASE_DIR = Path(__file__).resolve().parent.parent

# ------------------------------------------------------------------------------
# Core
# https://docs.djangoproject.com/en/6.1/ref/settings/#core-settings
# ------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local work).")
    SECRET_KEY = "django-insecure-local-development-only-key-not-for-production-use"  # noqa: S105

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The name pages, emails and the admin show.
SITE_NAME = "Comforting Your S-I Joints"
ADMIN_URL = env_str("DJANGO_ADMIN_URL", "admin/").strip("/") + "/"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
SITE_ID = 1

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

INSTALLED_APPS = [
    # django.contrib.admin, with the site's AdminSite (core.admin.StaffAdminSite).
    "core.apps.SiteAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks_db",
    "core",
    "accounts",
    "program",
    "billing",
    "comments",
    "help",
    "members",
    "announcements",
    "demo",
]

MIDDLEWARE = [
    # Answers visitors' public pages from the cache, before anything else runs (config.caching).
    "config.caching.OriginCacheMiddleware",
    # Compresses pages (WhiteNoise serves static files pre-compressed; media is never touched).
    "config.caching.PageGZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A NUL byte in the address is a 400 before any view reads it (core.http).
    "core.http.RefuseNulInAddressMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.caching.CacheControlMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Staff reach the admin and staff pages only after a second factor (accounts.middleware).
    "accounts.middleware.StaffTwoFactorMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
                "program.practice.today.comfort_context",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Database: SQLite by default, PostgreSQL through DATABASE_URL
# https://docs.djangoproject.com/en/6.1/ref/settings/#databases
# ------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL and a busy timeout let the web server and the task worker share the file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation cost seconds on the member admin's large queries (scripts/bench_members.py,
    # 100,000 members) and buys nothing for this site's short queries; DATABASE_URL's ?options=
    # still wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

# ------------------------------------------------------------------------------
# Cache: rate limits (allauth's and core.ratelimit's) and visitors' public pages
# (config.caching.OriginCacheMiddleware) live here, so with several gunicorn workers or hosts it
# must be shared: REDIS_URL (redis://host:6379/0) selects Django's Redis backend; without it
# production keeps it in a database table (`manage.py createcachetable` at deploy).
# ------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    try:
        import redis  # noqa: F401  (Django's Redis backend needs it; fail at start, not per request)
    except ImportError as missing:
        raise ImproperlyConfigured(
            "REDIS_URL is set but the redis package is not installed"
        ) from missing
    CACHES = {
        "default": {
            # Django's, reusing one redis-py client per pool (core/rediscache.py).
            "BACKEND": "core.rediscache.RedisCache",
            "LOCATION": REDIS_URL,
            # Two sites (or a test) sharing one Redis keep apart by prefix.
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX"),
        }
    }
elif DEBUG:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }

# Sessions are read from the cache and written through to the database (cached_db): with Redis a
# signed-in page makes no session query, on any web host. Not signed cookies: a session must be
# revocable on the server (sign-out, account deletion delete it), its key must stay the same while
# it lives (HLS segment links are bound to it), and allauth keeps sign-in and MFA state in it.
# Without Redis the cache is a database table, so this is one query either way. Code that ends
# sessions deletes them through SessionStore(key).delete(), which clears the cached copy too.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# ------------------------------------------------------------------------------
# Authentication: django-allauth, email login, mandatory verification
# https://docs.allauth.org/en/latest/account/configuration.html
# ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {
    "login": "accounts.forms.LoginForm",
    "signup": "accounts.forms.SignupForm",
    "reset_password_from_key": "accounts.forms.ResetPasswordKeyForm",
    "change_password": "accounts.forms.ChangePasswordForm",
}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    # "key" is the account AND the client's address (AccountAdapter): no lock-out from elsewhere.
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_email": "1/m/user",
    "request_login_code": "20/m/ip,3/m/key",
}
# Two-factor sign-in (allauth.mfa): an authenticator app (TOTP) with recovery codes, and passkeys
# (WebAuthn) where the browser has them. Required for staff (accounts.middleware), offered to
# members on their account pages.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = SITE_NAME
# One 30-second step either side: a phone's clock a little off, or a code typed as it changes.
MFA_TOTP_TOLERANCE = 1
# WebAuthn needs HTTPS, except on localhost for the local run.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# How many proxies in front of the site append to X-Forwarded-For (0: REMOTE_ADDR is the client).
# The one proxy setting: allauth's rate limits and core.http.client_ip (our forms, comments) read it.
ALLAUTH_TRUSTED_PROXY_COUNT = 0
LOGIN_REDIRECT_URL = "program:today"
LOGIN_URL = "account_login"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

# ------------------------------------------------------------------------------
# Email: console locally, SMTP in production (EMAIL_URL or EMAIL_HOST...)
# https://docs.djangoproject.com/en/6.1/topics/email/
# ------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{SITE_NAME} <hello@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
STAFF_NOTIFICATION_EMAILS = env_list("STAFF_NOTIFICATION_EMAILS")
if env_str("EMAIL_URL"):
    MAILERS = {"default": mailer_from_url(env_str("EMAIL_URL"))}
elif env_str("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("EMAIL_HOST"),
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 10,
            },
        }
    }
elif DEBUG:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
else:
    # Production without settings: a local MTA on port 25. Django's MAILERS need the host named
    # (without it every send fails); `check --deploy` still asks for EMAIL_URL (core.checks).
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "localhost", "port": 25, "timeout": 10},
        }
    }
# Whether email was configured at all (read by core.checks' deploy check).
EMAIL_FROM_ENVIRONMENT = bool(env_str("EMAIL_URL") or env_str("EMAIL_HOST"))

# ------------------------------------------------------------------------------
# Background work: Django Tasks with the database backend, run by `manage.py db_worker`
# https://docs.djangoproject.com/en/6.1/topics/tasks/
# ------------------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# ------------------------------------------------------------------------------
# Privacy: how long personal data is kept (the Privacy page is written from these values)
# https://docs.allauth.org/en/latest/account/configuration.html (reauthentication)
# ------------------------------------------------------------------------------
# Stored Stripe event bodies lose their personal fields (names, e-mail addresses, phone numbers,
# postal addresses) this many days after they arrived; amounts and ids stay.
STRIPE_EVENT_PERSONAL_DATA_DAYS = env_int("STRIPE_EVENT_PERSONAL_DATA_DAYS", 90)
# A "Download my data" archive can be downloaded for this many days, then it is removed.
DATA_EXPORT_DAYS = env_int("DATA_EXPORT_DAYS", 7)
# Deleting an account needs a password (or a sign-in code) entered within this many seconds.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("ACCOUNT_REAUTHENTICATION_TIMEOUT", 300)

# ------------------------------------------------------------------------------
# Stripe: the real API with keys; the local stand-in (STRIPE_API_BASE) without them
# https://docs.stripe.com/api
# ------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
if not STRIPE_SECRET_KEY and DEBUG:
    # The stand-in accepts these; they never reach Stripe (no STRIPE_API_BASE, no key).
    STRIPE_SECRET_KEY = "sk_test_standin"  # noqa: S105
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or "whsec_standin"  # noqa: S105
    STRIPE_API_BASE = STRIPE_API_BASE or "http://127.0.0.1:12111"
# Stripe Tax and invoices: Checkout computes tax from the customer's billing address (asked for),
# takes tax ids, and Stripe makes an invoice for every paid checkout. Needs Stripe Tax set up in
# the Stripe dashboard first (README: Tax and invoices). Off: the checkout is as before.
STRIPE_TAX = env_bool("STRIPE_TAX", False)
# Stripe's hosted checkout page. The Buy form's answer redirects there, and browsers apply CSP
# form-action to that redirect, so these origins are allowed (the stand-in serves its own page).
STRIPE_CHECKOUT_ORIGINS = env_list("STRIPE_CHECKOUT_ORIGINS", ["https://checkout.stripe.com"])
if STRIPE_API_BASE:
    STRIPE_CHECKOUT_ORIGINS.append(STRIPE_API_BASE.rstrip("/"))

# ------------------------------------------------------------------------------
# Static files (WhiteNoise) and private media
# https://docs.djangoproject.com/en/6.1/ref/settings/#storages
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "var" / "private-media")))
USE_S3 = env_bool("USE_S3", False)
if USE_S3:
    PRIVATE_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "querystring_auth": True,
            "signature_version": "s3v4",
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600),
            "file_overwrite": False,
        },
    }
    # The media view redirects the browser to a presigned URL on the bucket's host, and CSP
    # applies media-src/img-src to redirect targets: the bucket's origins must be allowed.
    _bucket, _region = env_str("AWS_STORAGE_BUCKET_NAME"), env_str("AWS_S3_REGION_NAME")
    if env_str("AWS_S3_ENDPOINT_URL"):
        _endpoint = urlsplit(env_str("AWS_S3_ENDPOINT_URL"))
        S3_MEDIA_ORIGINS = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
    else:
        S3_MEDIA_ORIGINS = [f"https://{_bucket}.s3.amazonaws.com"]
        if _region:
            S3_MEDIA_ORIGINS.append(f"https://{_bucket}.s3.{_region}.amazonaws.com")
else:
    S3_MEDIA_ORIGINS = []
    # No MEDIA_URL serves this folder: every file goes through a view that checks access.
    PRIVATE_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    }
# Adaptive streaming: segment URLs in a playlist carry a signed token that lives this many
# seconds (a refunded member's tokens die within it; the player fetches fresh playlists when one
# has expired). With S3 the segment URLs are presigned for the same time.
HLS_TOKEN_SECONDS = env_int("HLS_TOKEN_SECONDS", 600)
STORAGES = {
    "default": PRIVATE_STORAGE,
    "private": PRIVATE_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_MAX_AGE = 31536000 if not DEBUG else 0
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# ------------------------------------------------------------------------------
# Security
# https://docs.djangoproject.com/en/6.1/ref/middleware/#module-django.middleware.security
# ------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"] + S3_MEDIA_ORIGINS + env_list("CSP_MEDIA_HOSTS"),
    "media-src": [CSP.SELF, "blob:"] + S3_MEDIA_ORIGINS + env_list("CSP_MEDIA_HOSTS"),
    # hls.js fetches playlists and segments with XHR: with S3 the presigned segments are there.
    "connect-src": [CSP.SELF] + S3_MEDIA_ORIGINS + env_list("CSP_MEDIA_HOSTS"),
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF] + STRIPE_CHECKOUT_ORIGINS + env_list("CSP_FORM_ACTION_HOSTS"),
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# ------------------------------------------------------------------------------
# Logging: structured lines to stdout
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"format": "level=%(levelname)s logger=%(name)s time=%(asctime)s msg=%(message)s"}
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["stdout"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# ------------------------------------------------------------------------------
# Abandoned-checkout recovery (billing/recovery.py): one e-mail after an unpaid checkout expired
# ------------------------------------------------------------------------------
CHECKOUT_RECOVERY_EMAILS = env_bool("CHECKOUT_RECOVERY_EMAILS", True)
# Minutes the worker waits after the expiry before deciding (the person may come back and buy).
CHECKOUT_RECOVERY_DELAY_MINUTES = env_int("CHECKOUT_RECOVERY_DELAY_MINUTES", 60)
# Stripe's checkout page asks for consent to promotional e-mails (consent_collection.promotions
# "auto"); a session that asked sends the e-mail only to those who said yes.
CHECKOUT_RECOVERY_CONSENT = env_bool("CHECKOUT_RECOVERY_CONSENT", False)

# ------------------------------------------------------------------------------
# Announcements (announcements/): staff's e-mails to members and course subscribers
# ------------------------------------------------------------------------------
# Recipients sent per task run (one SMTP connection each); the next batch is queued after it.
ANNOUNCEMENT_BATCH_SIZE = env_int("ANNOUNCEMENT_BATCH_SIZE", 100)
# An announcement still sending with no progress for this long had its worker die: the
# `announcements-resume` job queues it again (nobody is sent twice: each recipient is claimed).
ANNOUNCEMENT_STALL_SECONDS = env_int("ANNOUNCEMENT_STALL_SECONDS", 300)
