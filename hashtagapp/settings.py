"""Settings for the Image Hashtag Generator.

Everything comes from the environment (see .env.example). With nothing set the
site runs on SQLite, local files and a broker that needs no server. DEBUG off
means production: SECRET_KEY and ALLOWED_HOSTS must then be given.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class StrictEnv(environ.Env):
    """An Env whose malformed values fail naming their variable.

    django-environ reads any unknown word as a false boolean and lets int()
    fail with a message that does not say which variable was wrong.
    """

    BOOLEAN_FALSE_STRINGS = ("false", "off", "no", "n", "0", "")

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        raw = self.ENVIRON.get(var)
        if cast is bool and raw is not None:
            word = raw.strip().lower()
            if word not in self.BOOLEAN_TRUE_STRINGS + self.BOOLEAN_FALSE_STRINGS and not word.isdigit():
                raise ImproperlyConfigured(f"{var} must be true or false, not {raw!r}.")
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{var} has a malformed value {raw!r}: {exc}") from exc


env = StrictEnv()
env_file = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if Path(env_file).is_file():
    environ.Env.read_env(env_file)

DEBUG = env.bool("DEBUG", default=False)
# With DEBUG on, Django's technical 404 and 500 pages (URL patterns, tracebacks) only when asked for.
DEBUG_TECHNICAL_PAGES = env.bool("DEBUG_TECHNICAL_PAGES", default=False)
RUN_DIR = Path(env.str("RUN_DIR", default=str(BASE_DIR / "var")))

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="development-only-not-secret")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    try:
        SECRET_KEY = env.str("SECRET_KEY")
        ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            f"{exc}. With DEBUG off, SECRET_KEY and ALLOWED_HOSTS must be set."
        ) from exc
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin with its own site: staff reach it only from a two-factor session (hashtagapp/admin.py).
    "hashtagapp.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "captions",
]

MIDDLEWARE = [
    # Operations: a request id for the logs, then /healthz, /readyz and /metrics for any Host.
    "hashtagapp.request_id.RequestIdMiddleware",
    "hashtagapp.probes.ProbesMiddleware",
    # With DEBUG on, the site's own 404 and 500 pages rather than Django's technical ones.
    "hashtagapp.error_pages.FriendlyErrorPagesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hashtagapp.middleware.PrivatePagesNoStoreMiddleware",
    # Before any view, form or library reads the request's fields: refuses control characters
    # and oversized values with a page that says so.
    "hashtagapp.middleware.RequestInputGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns lockouts into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hashtagapp.urls"
WSGI_APPLICATION = "hashtagapp.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{RUN_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# Operations: with CONN_MAX_AGE above 0, test a kept connection before a request reuses it, so a
# database restart or a pooler closing idle connections costs a reconnect, not an error page.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
# Behind pgbouncer in transaction pooling mode, where a server-side cursor cannot outlive its transaction.
DATABASES["default"].setdefault(
    "DISABLE_SERVER_SIDE_CURSORS", env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # A file, not memory, so worker processes started by integration tests see the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(RUN_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "captions:photo_list"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: 5 failures for one username from one address locks that pair.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0) or None
# What allauth's login form sends as credentials, cut to the length of axes' own column.
AXES_USERNAME_CALLABLE = "captions.accounts.throttling.axes_username"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Static files are collected and served by whitenoise.
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(RUN_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Media are private: no MEDIA_URL is routed; captions.views.media serves them after an owner check.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(RUN_DIR / "media")))
MEDIA_URL = "/private-media-not-served/"
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=300),
            # botocore may fall back to SigV2 with a custom endpoint; S3 and most compatible stores want v4.
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Uploads (captions.services.uploads). Django's own caps sit above ours so our
# messages, which name the limit, are the ones people see.
UPLOAD_MAX_FILES = env.int("UPLOAD_MAX_FILES", default=10)
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
UPLOAD_MAX_PIXELS = env.int("UPLOAD_MAX_PIXELS", default=40_000_000)
UPLOAD_MAX_SIDE = env.int("UPLOAD_MAX_SIDE", default=12_000)
UPLOAD_MAX_ASPECT = env.float("UPLOAD_MAX_ASPECT", default=20.0)
THUMBNAIL_SIZE = env.int("THUMBNAIL_SIZE", default=512)
DATA_UPLOAD_MAX_NUMBER_FILES = UPLOAD_MAX_FILES + 100
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Mail: printed to the console unless an SMTP URL is given.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: Redis when CELERY_BROKER_URL is set, else kombu's filesystem transport.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(RUN_DIR / "broker")))
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Jobs (captions.services.dispatch and .recovery). A worker running a step keeps its claim
# JOB_CLAIM_SECONDS ahead with a heartbeat; a claim that lapsed means the worker is gone.
JOB_CLAIM_SECONDS = env.int("JOB_CLAIM_SECONDS", default=30)
# A step started this many times without finishing (its worker died each time) fails for good.
JOB_MAX_CLAIMS = env.int("JOB_MAX_CLAIMS", default=3)
# How often the recovery pass runs (beat, on the "maintenance" queue), and after how long a sent
# step nobody has started is looked for in the broker (and re-sent only if its message is gone).
RECOVERY_INTERVAL_SECONDS = env.int("RECOVERY_INTERVAL_SECONDS", default=10)
DISPATCH_CHECK_AFTER_SECONDS = env.int("DISPATCH_CHECK_AFTER_SECONDS", default=15)
# For brokers whose queues cannot be looked into: re-send after this long, plus this much per
# message waiting in the queue.
DISPATCH_TIMEOUT_SECONDS = env.int("DISPATCH_TIMEOUT_SECONDS", default=600)
DISPATCH_SECONDS_PER_QUEUED_MESSAGE = env.float("DISPATCH_SECONDS_PER_QUEUED_MESSAGE", default=10.0)
# Photos a re-sent message carries at most (the models run them as one batch).
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=10)
# Total time a step may take, retries included; then it ends with a reason (or the offline writer).
VISION_DEADLINE_SECONDS = env.int("VISION_DEADLINE_SECONDS", default=180)
REFINE_DEADLINE_SECONDS = env.int("REFINE_DEADLINE_SECONDS", default=90)
# Retries of a provider call that failed for a reason that can heal (timeout, 429, 5xx), within the
# step's deadline; a timeout is retried once at most.
PROVIDER_MAX_RETRIES = env.int("PROVIDER_MAX_RETRIES", default=4)
PROVIDER_RETRY_BACKOFF_MAX = env.int("PROVIDER_RETRY_BACKOFF_MAX", default=15)
# A photo left with no job (a write cut off half-way) gets one after this long.
ORPHAN_PHOTO_SECONDS = env.int("ORPHAN_PHOTO_SECONDS", default=120)
# On SIGTERM a worker stops taking work and gives running tasks this long before handing them back.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=60.0)

# Backends ("auto" picks as docs/architecture.md says).
CAPTIONS_CAPTIONER = env.str("CAPTIONS_CAPTIONER", default="auto")  # auto | local | hf
CAPTIONS_REFINER = env.str("CAPTIONS_REFINER", default="auto")  # auto | openai | offline
CAPTIONS_BLIP_MODEL = env.str("CAPTIONS_BLIP_MODEL", default="Salesforce/blip-image-captioning-base")
CAPTIONS_VIT_GPT2_MODEL = env.str("CAPTIONS_VIT_GPT2_MODEL", default="nlpconnect/vit-gpt2-image-captioning")
CAPTIONS_MODEL_CACHE_DIR = env.str("CAPTIONS_MODEL_CACHE_DIR", default=None)
CAPTIONS_DEVICE = env.str("CAPTIONS_DEVICE", default="auto")
CAPTIONS_BLIP_MAX_LENGTH = env.int("CAPTIONS_BLIP_MAX_LENGTH", default=30)
CAPTIONS_VIT_GPT2_MAX_LENGTH = env.int("CAPTIONS_VIT_GPT2_MAX_LENGTH", default=16)
CAPTIONS_NUM_BEAMS = env.int("CAPTIONS_NUM_BEAMS", default=4)  # 2 or 1 (greedy): faster, other words
# Local captioners' numerics (docs/benchmarks.md, section 1). "auto": float16 on CUDA, float32 on a CPU.
CAPTIONS_DTYPE = env.str("CAPTIONS_DTYPE", default="auto")  # auto | float32 | float16 | bfloat16
# The beams of one image share its cross-attention keys and values: exact, less CPU and memory.
CAPTIONS_SHARE_CROSS_ATTENTION = env.bool("CAPTIONS_SHARE_CROSS_ATTENTION", default=True)
# The decoders' linear layers on a CPU take the fastest of the ways MKL gives the same bits (weight
# first, split across lent threads, plain; decoder_products): the same words, less CPU; a child
# holding ViT-GPT2 keeps 0.41 GB more (its GPT-2 weights stored transposed).
CAPTIONS_WEIGHT_FIRST = env.bool("CAPTIONS_WEIGHT_FIRST", default=True)
# A vision worker's children lend each other idle cores while they decode (spare_cores): one photo's
# BLIP takes its neighbour's core once ViT-GPT2 is done.
CAPTIONS_LEND_CORES = env.bool("CAPTIONS_LEND_CORES", default=True)
# "int8": dynamic int8 linear layers on a CPU; faster, but most captions change. Off by default.
CAPTIONS_QUANTIZE = env.str("CAPTIONS_QUANTIZE", default="none")  # none | int8
# A worker child keeps one local caption model at a time: a child's memory is bounded by the larger
# model (docs/operations.md, Memory); switching models costs a reload (~0.6 s from a warm disk cache).
CAPTIONS_ONE_MODEL_PER_CHILD = env.bool("CAPTIONS_ONE_MODEL_PER_CHILD", default=True)
# Images per generate() call (0: 4 on a CPU, 64 on a CUDA GPU, 16 on Apple's mps). 1 keeps a CPU
# caption child under 1.5 GB (docs/benchmarks.md, section 4) at the price of speed at batch sizes above 1.
CAPTIONS_MAX_BATCH = env.int("CAPTIONS_MAX_BATCH", default=0)
if CAPTIONS_MAX_BATCH < 0:
    raise ImproperlyConfigured(f"CAPTIONS_MAX_BATCH must be 0 or more, not {CAPTIONS_MAX_BATCH}.")
# Photos one caption task takes (each caption model's share of an upload goes out in tasks this size).
# Small tasks let every free worker child take a part of a large upload instead of one child running
# a model over all of it while the others idle (docs/benchmarks.md, section 1). A GPU worker wants
# one task per upload: set it to DISPATCH_BATCH_SIZE or more there.
CAPTIONS_TASK_PHOTOS = env.int("CAPTIONS_TASK_PHOTOS", default=4)
if CAPTIONS_TASK_PHOTOS < 1:
    raise ImproperlyConfigured(f"CAPTIONS_TASK_PHOTOS must be 1 or more, not {CAPTIONS_TASK_PHOTOS}.")
# A caption task also takes other uploads' photos waiting in the queue (sent, held by no worker), up
# to this many photos in all. Unset: the local captioner's batch (CAPTIONS_MAX_BATCH; 4 on a CPU, 64 on
# a CUDA GPU), none for a hosted one. Under a backlog of single photos a CPU then decodes them in fours
# (12 uploads drained 1.4x sooner for 30 % less CPU) and a GPU in batches of 64 (docs/benchmarks.md,
# sections 1 and 5); with no backlog nothing waits and nothing changes. 0 turns it off. Read by the worker.
CAPTIONS_GATHER_PHOTOS = env.int("CAPTIONS_GATHER_PHOTOS", default=None)
if CAPTIONS_GATHER_PHOTOS is not None and CAPTIONS_GATHER_PHOTOS < 0:
    raise ImproperlyConfigured(f"CAPTIONS_GATHER_PHOTOS must be 0 or more, not {CAPTIONS_GATHER_PHOTOS}.")
for _var, _choices in (
    ("CAPTIONS_DTYPE", "auto float32 float16 bfloat16"),
    ("CAPTIONS_QUANTIZE", "none int8"),
):
    if globals()[_var] not in _choices.split():
        raise ImproperlyConfigured(
            f"{_var} must be one of {', '.join(_choices.split())}, not {globals()[_var]!r}."
        )
CAPTIONS_TAGGER_TOP_K = env.int("CAPTIONS_TAGGER_TOP_K", default=5)
# Broad tags sum many fine classes ("dog" has 118): drop the faint ones.
CAPTIONS_TAGGER_MIN_SCORE = env.float("CAPTIONS_TAGGER_MIN_SCORE", default=0.05)
HF_TOKEN = env.str("HF_TOKEN", default="")
HF_PROVIDER = env.str("HF_PROVIDER", default="")
HF_BLIP_ENDPOINT_URL = env.str("HF_BLIP_ENDPOINT_URL", default="")
HF_VIT_GPT2_ENDPOINT_URL = env.str("HF_VIT_GPT2_ENDPOINT_URL", default="")
HF_TIMEOUT = env.float("HF_TIMEOUT", default=30.0)
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=60.0)

# Moderation.
NSFW_ENABLED = env.bool("NSFW_ENABLED", default=True)
NSFW_THRESHOLD = env.float("NSFW_THRESHOLD", default=0.8)
NSFW_HOLD = env.bool("NSFW_HOLD", default=True)
DAILY_GENERATION_QUOTA = env.int("DAILY_GENERATION_QUOTA", default=100)

# Production hardening: on whenever DEBUG is off.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])
if not SECURE_HSTS_PRELOAD:
    # Preloading is a one-way decision for the domain owner, not a default.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# --- Accounts (django-allauth), two-factor, rate limits, browser security headers ---------------
# Sign-up, login, email verification, password reset and TOTP two-factor come from django-allauth;
# docs/architecture.md ("Accounts and security") says why each choice was made.
ACCOUNT_ADAPTER = "captions.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "login": "captions.accounts.forms.LoginForm",
    "signup": "captions.accounts.forms.SignupForm",
    "reset_password": "captions.accounts.forms.ResetPasswordForm",
    "reset_password_from_key": "captions.accounts.forms.ResetPasswordKeyForm",
    "add_email": "captions.accounts.forms.AddEmailForm",
    "change_password": "captions.accounts.forms.ChangePasswordForm",
    "set_password": "captions.accounts.forms.SetPasswordForm",
}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# mandatory: no login (so no upload) before the address is confirmed; optional: a reminder mail only.
ACCOUNT_EMAIL_VERIFICATION = env.str(
    "ACCOUNT_EMAIL_VERIFICATION", default="optional" if DEBUG else "mandatory"
)
if ACCOUNT_EMAIL_VERIFICATION not in ("mandatory", "optional", "none"):
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be mandatory, optional or none.")
# Sign-up and reset answer the same whether or not an address is registered; the owner gets a mail.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # a reset for an unknown address sends nothing
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# A mail to the account on every security change (password, email, two-factor), naming address and browser.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_REDIRECT_URL = LOGOUT_REDIRECT_URL
ACCOUNT_SIGNUP_REDIRECT_URL = "captions:photo_upload"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Image Hashtag Generator: "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"


# allauth's limits, and the site's own on upload, regenerate and report (captions.accounts.throttling).
# Failed password logins are django-axes' (above); allauth counts only failed two-factor codes.
def _rates(var: str, value: str, scopes: str = "ip|user") -> str:
    """A rate list as allauth reads it (COUNT/PERIOD/SCOPE, comma-separated), checked at start-up."""
    if not all(re.fullmatch(rf"\s*\d+/\d*[smhd]/({scopes})\s*", part) for part in value.split(",")):
        example = "10/h/ip" if scopes == "ip" else "10/m/user,30/m/ip"
        raise ImproperlyConfigured(f"{var} must look like {example}, not {value!r}.")
    return value


ACCOUNT_RATE_LIMITS = {
    # Nobody is logged in yet at sign-up: per address only.
    "signup": _rates("RATE_LIMIT_SIGNUP", env.str("RATE_LIMIT_SIGNUP", default="10/h/ip"), scopes="ip"),
    "upload": _rates("RATE_LIMIT_UPLOAD", env.str("RATE_LIMIT_UPLOAD", default="10/m/user,30/m/ip")),
    "regenerate": _rates(
        "RATE_LIMIT_REGENERATE", env.str("RATE_LIMIT_REGENERATE", default="20/m/user,60/m/ip")
    ),
    "report": _rates("RATE_LIMIT_REPORT", env.str("RATE_LIMIT_REPORT", default="10/h/user,30/h/ip")),
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Image Hashtag Generator"
# The rate limits and TOTP replay guard live in the cache: give several web processes a shared one.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the TOTP QR code; blob: for the upload page's previews of the chosen files
        # (object URLs of local files); signed S3 URLs when media live in a bucket (see below).
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
if AWS_STORAGE_BUCKET_NAME:
    # Signed URLs point at the endpoint, path-style, or at a bucket subdomain of it.
    _endpoint = urlsplit(env.str("AWS_S3_ENDPOINT_URL", default="") or "https://amazonaws.com")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += [
        f"{_endpoint.scheme}://{_endpoint.netloc}",
        f"{_endpoint.scheme}://*.{_endpoint.netloc}",
    ]
CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += env.list("CSP_IMG_SRC", default=[])
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "usb": [],
    "clipboard-write": ["self"],
}

# --- API (captions.api): Django REST framework, OpenAPI 3 by drf-spectacular -----------------------
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
# Requests per user per period (second, minute, hour or day) before 429 with Retry-After.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="120/minute")
# The API rate limit counts in the cache set above (CACHE_URL): with several web processes, Redis.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an anonymous request gets 401 with WWW-Authenticate: Bearer.
        "captions.api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # Enforces CSRF.
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["captions.api.throttling.ApiUserThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "captions.api.parsers.BoundedJSONParser",
        "captions.api.parsers.BoundedFormParser",
        "captions.api.parsers.BoundedMultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "captions.api.problems.problem_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Image Hashtag Generator API",
    "DESCRIPTION": (
        "Photos in; captions from two vision models, object tags and ready-to-post captions with "
        "hashtags out. Authenticate with a personal access token: `Authorization: Bearer ihg_…`. "
        "Errors are RFC 9457 problem details (application/problem+json)."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "captions.models.Generation.Status",
        "SourceStatusEnum": "captions.api.serializers.SOURCE_STATUSES",
    },
    # The docs page works offline: Swagger UI is served from the installed sidecar package.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Operations: logs, errors, metrics, memory, media URLs (docs/operations.md) --------------
from hashtagapp.error_reporting import sentry_init  # noqa: E402
from hashtagapp.logs import logging_config  # noqa: E402

# plain: "2026-01-02T03:04:05.678Z INFO logger [request_id=…] message"; json: one object a line.
LOGGING = logging_config(
    level=env.str("LOG_LEVEL", default="INFO"), fmt=env.str("LOG_FORMAT", default="plain")
)
# Errors go to Sentry (or a compatible service) only when a DSN is set.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENABLED = sentry_init(
    dsn=SENTRY_DSN,
    environment=env.str("SENTRY_ENVIRONMENT", default=""),
    release=env.str("SENTRY_RELEASE", default=""),
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
)
# /metrics is off until a token is set; Prometheus then sends it as a bearer token.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Latency and model-time quantiles cover jobs finished in this many seconds before the scrape.
METRICS_WINDOW_SECONDS = env.int("METRICS_WINDOW_SECONDS", default=3600)
# The long side of the model copy an upload stores, which the vision tasks decode (the largest model
# input is BLIP's 384; the tagger and NSFW scorer resize to 256 first); a photo without a large enough
# copy is decoded from its original to this size.
VISION_MAX_SIDE = env.int("VISION_MAX_SIDE", default=768)
# A worker child whose peak memory has passed this is replaced after its task (0: never). Above the
# ~2.9 GB a child holding both caption models peaks at (docs/benchmarks.md), so only a leak or a
# spike recycles one; lower it to trade model reloads for memory.
# glibc malloc in vision workers (MiB, 0: glibc's own): large blocks stay in the heap instead of
# being mapped and unmapped at every decoding step (captions.backends.allocator).
VISION_MALLOC_MMAP_THRESHOLD_MB = env.int("VISION_MALLOC_MMAP_THRESHOLD_MB", default=64)
VISION_MALLOC_TRIM_THRESHOLD_MB = env.int("VISION_MALLOC_TRIM_THRESHOLD_MB", default=128)
CELERY_WORKER_MAX_MEMORY_PER_CHILD_MB = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD_MB", default=3584)
# Signed media URLs for browsers: an S3 endpoint reachable from outside when the app's own
# (AWS_S3_ENDPOINT_URL) is an internal name, e.g. http://minio:9000 inside compose.
AWS_S3_PUBLIC_ENDPOINT_URL = env.str("AWS_S3_PUBLIC_ENDPOINT_URL", default="")
if AWS_STORAGE_BUCKET_NAME and AWS_S3_PUBLIC_ENDPOINT_URL:
    STORAGES["default"]["BACKEND"] = "captions.media_storage.PublicEndpointS3Storage"
    STORAGES["default"]["OPTIONS"]["public_endpoint_url"] = AWS_S3_PUBLIC_ENDPOINT_URL
if AWS_S3_PUBLIC_ENDPOINT_URL:
    _public = urlsplit(AWS_S3_PUBLIC_ENDPOINT_URL)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += [
        f"{_public.scheme}://{_public.netloc}",
        f"{_public.scheme}://*.{_public.netloc}",
    ]
