"""Settings: one declared list of every setting, read from environment variables.

Each setting has a name, a default for the embedded demo, a parser and a one-line description.
`load_settings(profile)` returns a plain dict for `app.config`; the production profile refuses
to start when something a real deployment needs is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from config import safety


class ConfigurationError(RuntimeError):
    """The settings cannot run the service in the chosen profile."""


def _bool(value: str) -> bool:
    word = value.strip().lower()
    if word not in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
        raise ValueError("use true or false")  # a typo must not turn a safeguard off
    return word in {"1", "true", "yes", "on"}


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.strip().lower() not in choices:
            raise ConfigurationError(f"{value!r} is not one of {', '.join(choices)}")
        return value.strip().lower()

    return parse


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CARBON_PROFILE", "default", "Settings profile: `default` (embedded demo), `testing` or `production`."
    ),
    Setting(
        "SECRET_KEY", "dev-only-secret", "Flask secret key; must be set to a long random value in production."
    ),
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL. Empty: SQLite file `instance/carbon.sqlite3`. `postgresql://` URLs use psycopg 3.",
    ),
    Setting(
        "DATABASE_POOL_SIZE",
        5,
        "Connections kept per process in each PostgreSQL pool (transactions; one-statement writes), as many again at peaks.",
        int,
    ),
    Setting(
        "REDIS_URL",
        "",
        "Redis URL for cache, tokens, rate limits, rankings and jobs. Empty: an "
        "in-process stand-in (fakeredis), single process only.",
    ),
    Setting(
        "REDIS_SENTINELS",
        "",
        "Redis Sentinels (`host:port`, comma-separated). Set: the Redis master is the one they name "
        "`REDIS_SENTINEL_MASTER`, found again after a failover; `REDIS_URL` then gives only the "
        "database number and credentials.",
    ),
    Setting("REDIS_SENTINEL_MASTER", "mymaster", "Name under which the Sentinels monitor the Redis master."),
    Setting(
        "REDIS_SENTINEL_PASSWORD", "", "Password of the Sentinels themselves (their `requirepass`), if any."
    ),
    Setting(
        "PRINCIPAL_LOCAL_CACHE_S",
        30,
        "Seconds (at most 30) each process keeps a resolved bearer token; logout, revocation and role or "
        "membership changes drop it everywhere through Redis at once. 0: ask Redis on every request. "
        "Needs `REDIS_URL`.",
        float,
    ),
    Setting(
        "PAYMENT_PROVIDER",
        "sandbox",
        "`wechatpay_v3`, `wechatpay_v2` or `sandbox` (never allowed in production).",
    ),
    Setting(
        "PUBLIC_BASE_URL",
        "http://127.0.0.1:5000",
        "Public base URL used in certificate QR codes and payment callback URLs. Unset in the embedded "
        "default: `http://` and the address `bin/serve` listens on (`BIND`).",
    ),
    Setting(
        "CERTIFICATE_FONT_PATH",
        "",
        "TrueType font with Chinese glyphs (`.ttf`, or the first face of a `.ttc`) that certificate PDFs "
        "embed. Empty: the first installed of Debian's `fonts-wqy-microhei`, `fonts-wqy-zenhei`, "
        "`fonts-arphic-uming` (`bin/setup` installs the first). Production refuses to start without one.",
    ),
    Setting(
        "CERTIFICATE_ISSUER_NAME",
        "碳普惠",
        "The operator every certificate PDF names as its issuer (签发机构), in the frame of every page.",
    ),
    Setting(
        "CERTIFICATE_SEAL_PATH",
        "",
        "Image (PNG or JPEG) of the issuer's seal or logo printed beside its name on every certificate "
        "PDF. Empty: none. Set but unreadable: production refuses to start; elsewhere a warning, no seal.",
    ),
    Setting("WECHAT_APPID", "", "Mini-program AppID."),
    Setting("WECHAT_SECRET", "", "Mini-program AppSecret (for jscode2session and the access token)."),
    Setting("WECHAT_API_BASE", "https://api.weixin.qq.com/", "Base URL of WeChat's mini-program API."),
    Setting("WECHAT_TIMEOUT_S", 5.0, "Seconds to wait for WeChat's API before answering 503.", float),
    Setting(
        "WECHAT_SANDBOX_LOGIN",
        True,
        "Accept any `wx.login` code without calling WeChat (embedded demo only; refused in production).",
        _bool,
    ),
    Setting(
        "CONTENT_CHECK_MAX_ATTEMPTS",
        20,
        "Times a user's text WeChat's msgSecCheck could not judge (unreachable, or `review`) is checked; "
        "it stays private meanwhile, and after the last attempt until its author writes it again.",
        int,
    ),
    Setting(
        "PHONE_ENCRYPTION_KEY",
        "",
        "Fernet key(s) that encrypt bound phone numbers at rest, comma-separated: the first encrypts, every "
        "one decrypts (rotation). Required in production; empty elsewhere: derived from SECRET_KEY.",
    ),
    Setting(
        "WECHAT_CERTIFICATE_PAGE",
        "pages/certificate/index",
        "Mini-program page a certificate's mini-program code opens, the verification code as its `scene`. "
        "Empty, or no `WECHAT_APPID`/`WECHAT_SECRET`: a QR code of the web page `/verify/<code>` instead.",
    ),
    Setting(
        "WECHAT_CLAIM_PAGE",
        "pages/claim/index",
        "Mini-program page an institutional claim's code opens (`scene`: the claim's public code). Empty: "
        "a QR code of `/claims/<code>`.",
    ),
    Setting(
        "WECHAT_EVENT_PAGE",
        "pages/event/index",
        "Mini-program page an event's code opens (`scene`: the event's public code). Empty: a QR code of "
        "`/events/<code>/disclosure`.",
    ),
    Setting(
        "WECHAT_CODE_ENV_VERSION",
        "release",
        "Version of the mini-program its codes open: `release`, `trial` or `develop` (the last two skip "
        "WeChat's check that the page is published).",
        _one_of("release", "trial", "develop"),
    ),
    Setting(
        "WECHAT_CODE_CACHE_S",
        30 * 86_400,
        "Seconds each mini-program code is kept in Redis once WeChat made it (a code never expires).",
        int,
    ),
    Setting(
        "SUBSCRIBE_TEMPLATE_CERTIFICATE_ISSUED",
        "",
        "Template id of the subscribe message (订阅消息) sent when a certificate is issued. Empty: not sent.",
    ),
    Setting(
        "SUBSCRIBE_TEMPLATE_REFUND_DONE",
        "",
        "Template id of the subscribe message sent when a refund is paid back. Empty: not sent.",
    ),
    Setting(
        "SUBSCRIBE_TEMPLATE_POINTS_EXPIRING",
        "",
        "Template id of the subscribe message sent when points expire within "
        "`SUBSCRIBE_POINTS_NOTICE_DAYS`. Empty: not sent.",
    ),
    Setting(
        "SUBSCRIBE_TEMPLATE_EVENT_NEUTRALISED",
        "",
        "Template id of the subscribe message sent to whoever ordered an event's offset once the event "
        "is neutralised. Empty: not sent.",
    ),
    Setting(
        "SUBSCRIBE_TEMPLATE_BANK_TRANSFER_EXPIRING",
        "",
        "Template id of the subscribe message sent when an order paid by bank transfer is unpaid "
        "`SUBSCRIBE_BANK_TRANSFER_NOTICE_H` before it expires. Empty: not sent.",
    ),
    Setting(
        "SUBSCRIBE_FIELDS_CERTIFICATE_ISSUED",
        "character_string1=number,number2=kg,time3=issued_at,thing4=note",
        "The certificate template's fields: `key=value` pairs, the keys of the template's `data` "
        "(`thing1`, `time3`, ...), the values `number`, `kg`, `issued_at`, `note` (docs/wechat.md).",
    ),
    Setting(
        "SUBSCRIBE_FIELDS_REFUND_DONE",
        "character_string1=order_no,amount2=amount,time3=refunded_at,thing4=note",
        "The refund template's fields; values `order_no`, `amount`, `refunded_at`, `note`.",
    ),
    Setting(
        "SUBSCRIBE_FIELDS_POINTS_EXPIRING",
        "number1=points,date2=expires_on,thing3=note",
        "The points template's fields; values `points`, `expires_on`, `note`.",
    ),
    Setting(
        "SUBSCRIBE_FIELDS_EVENT_NEUTRALISED",
        "thing1=event,number2=kg,time3=offset_at,thing4=note",
        "The event template's fields; values `event`, `kg`, `offset_at`, `note`.",
    ),
    Setting(
        "SUBSCRIBE_FIELDS_BANK_TRANSFER_EXPIRING",
        "character_string1=order_no,amount2=amount,time3=expires_at,thing4=note",
        "The bank-transfer template's fields; values `order_no`, `amount`, `expires_at`, `note`.",
    ),
    Setting(
        "SUBSCRIBE_ORDER_PAGE",
        "pages/orders/detail",
        "Mini-program page a refund's or a bank-transfer order's message opens (`?out_trade_no=`). "
        "Certificates and events open `WECHAT_CERTIFICATE_PAGE` and `WECHAT_EVENT_PAGE` (`?scene=`).",
    ),
    Setting(
        "SUBSCRIBE_POINTS_PAGE",
        "pages/points/index",
        "Mini-program page the points-expiring message opens. Empty: the message opens no page.",
    ),
    Setting(
        "SUBSCRIBE_MINIPROGRAM_STATE",
        "formal",
        "Version of the mini-program subscribe messages open: `formal`, `trial` or `developer`.",
        _one_of("formal", "trial", "developer"),
    ),
    Setting(
        "SUBSCRIBE_POINTS_NOTICE_DAYS",
        7,
        "Points expiring within this many days get a subscribe message (one per user and day of expiry).",
        int,
    ),
    Setting(
        "SUBSCRIBE_BANK_TRANSFER_NOTICE_H",
        48,
        "Hours before an unpaid bank-transfer order expires at which its subscribe message is sent.",
        int,
    ),
    Setting(
        "SUBSCRIBE_LOOKBACK_H",
        24,
        "A certificate, refund or neutralised event older than this many hours gets no subscribe message "
        "(the scan that finds them looks this far back).",
        int,
    ),
    Setting(
        "SUBSCRIBE_SEND_ATTEMPTS",
        5,
        "Attempts in all to send one subscribe message while WeChat is busy (-1), failing (5xx) or unreachable.",
        int,
    ),
    Setting(
        "SUBSCRIBE_RETRY_BACKOFF_S",
        60,
        "Wait before the second attempt of a subscribe message; doubled for each next one.",
        int,
    ),
    Setting("WECHATPAY_MCHID", "", "WeChat Pay merchant id."),
    Setting("WECHATPAY_APIV3_KEY", "", "APIv3 key (32 bytes) that decrypts callbacks."),
    Setting("WECHATPAY_API_KEY", "", "APIv2 key for MD5 / HMAC-SHA256 signatures."),
    Setting("WECHATPAY_CERT_SERIAL", "", "Serial number of the merchant API certificate."),
    Setting(
        "WECHATPAY_PRIVATE_KEY_PATH", "", "Path of the merchant API private key (PEM, `apiclient_key.pem`)."
    ),
    Setting(
        "WECHATPAY_CERT_PATH",
        "",
        "Path of the merchant API certificate (PEM, `apiclient_cert.pem`); APIv2 refunds present it.",
    ),
    Setting(
        "WECHATPAY_PUBLIC_KEY_ID",
        "",
        "APIv3 public-key mode: id of the WeChat Pay public key (`PUB_KEY_ID_...`). Empty: certificate mode.",
    ),
    Setting(
        "WECHATPAY_PUBLIC_KEY_PATH", "", "APIv3 public-key mode: path of the WeChat Pay public key (PEM)."
    ),
    Setting(
        "WECHATPAY_PLATFORM_CERT_DIR",
        "",
        "APIv3 certificate mode: directory caching WeChat Pay platform certificates (downloaded when missing).",
    ),
    Setting(
        "WECHATPAY_CERT_REFRESH_INTERVAL_S",
        600,
        "APIv3 certificate mode: a signature by an unknown serial downloads the platform certificates"
        " at most once per this many seconds (per process); otherwise it is refused without a call.",
        int,
    ),
    Setting("WECHATPAY_SIGN_TYPE", "MD5", "APIv2 signature: `MD5` or `HMAC-SHA256`."),
    Setting("WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com", "Base URL of WeChat Pay."),
    Setting(
        "WECHATPAY_TIMESTAMP_WINDOW_S", 300, "Callbacks whose timestamp is further from now are refused.", int
    ),
    Setting("WECHATPAY_TIMEOUT_S", 5.0, "Timeout in seconds of each call to WeChat Pay.", float),
    Setting(
        "WECHATPAY_RETRY_ATTEMPTS",
        3,
        "Attempts in all for an idempotent WeChat Pay call that could not reach WeChat Pay.",
        int,
    ),
    Setting(
        "WECHATPAY_RETRY_BACKOFF_S", 0.2, "Wait before the first retry; doubled for each next one.", float
    ),
    Setting("TOKEN_TTL_S", 7 * 24 * 3600, "Lifetime of a bearer token in seconds.", int),
    Setting(
        "LOGIN_RATE_LIMIT",
        "20 per minute",
        "Login attempts allowed per client address; the API's admin login and the console login form share one bucket.",
    ),
    Setting(
        "ADMIN_LOGIN_FAILURES_BEFORE_LOCK",
        5,
        "Failed admin password logins for one username (within 15 minutes) before that account refuses every try for a while.",
        int,
    ),
    Setting(
        "ADMIN_LOGIN_LOCK_S",
        60,
        "Seconds an admin account refuses logins after too many failures; doubled at each further failure, up to an hour.",
        int,
    ),
    Setting(
        "ORDER_RATE_LIMIT",
        "30 per minute",
        "Orders (and one-tap offsets) one logged-in user may place, counted per user id whatever address or token spelling.",
    ),
    Setting(
        "REDEEM_RATE_LIMIT",
        "30 per minute",
        "Reward redemptions one logged-in user may make, counted per user id.",
    ),
    Setting("CALLBACK_RATE_LIMIT", "600 per minute", "Payment callbacks accepted per client address."),
    Setting(
        "POSTER_RATE_LIMIT",
        "60 per minute",
        "Share posters (`…/poster.png`) drawn per client address; an unchanged poster (`If-None-Match`) counts too.",
    ),
    Setting("RATELIMIT_ENABLED", True, "Turn rate limits on or off.", _bool),
    Setting("MAX_CONTENT_LENGTH", 8 * 1024 * 1024, "Largest request body in bytes.", int),
    Setting("ONE_YUAN_UNIT_G", 10_000, "Grams of CO2e in one one-yuan unit.", int),
    Setting("ONE_YUAN_UNIT_PRICE_FEN", 100, "Price of one one-yuan unit in fen.", int),
    Setting(
        "RESERVATION_TTL_S", 15 * 60, "How long an order's grams stay reserved waiting for payment.", int
    ),
    Setting("ONE_YUAN_MAX_UNITS", 1_000, "Most one-yuan units in one order.", int),
    Setting(
        "EVENT_OFFSET_KINDS",
        "FFCER,SMCER,CCER",
        "Credit kinds an event or institutional purchase may offset with (comma-separated).",
    ),
    Setting(
        "BANK_TRANSFER_TTL_S",
        14 * 24 * 3600,
        "How long an order paid by bank transfer keeps its grams reserved until an admin confirms it.",
        int,
    ),
    Setting(
        "ONE_YUAN_KINDS", "FFCER,SMCER", "Credit kinds the one-yuan product draws from (comma-separated)."
    ),
    Setting("ORDER_MAX_TONNES", 100_000, "Largest credit order, in tonnes.", int),
    Setting(
        "MAX_OPEN_ORDERS_PER_USER",
        5,
        "Most unpaid orders (placed, not yet paid, cancelled or expired) one person may have at once;"
        " one more is refused (429). Organisation purchases are not counted.",
        int,
    ),
    Setting(
        "MAX_RESERVED_GRAMS_PER_USER",
        10_000_000,
        "Most grams (10,000,000 g = 10 t) one person's unpaid orders may hold reserved in the pool at"
        " once; an order that would go over it is refused (409). Organisation purchases are not counted.",
        int,
    ),
    Setting(
        "ORDER_SYNC_ENDED_DAYS",
        7,
        "The sync job asks WeChat Pay about expired or cancelled orders whose trade was not confirmed"
        " closed, up to this many days after their payment window ended.",
        int,
    ),
    Setting("REFUND_WINDOW_DAYS", 7, "Days after payment during which a user may ask for a refund.", int),
    Setting(
        "POINTS_PER_KG_OFFSET", 1, "Carbon points earned per kilogram of CO2e offset (rounded down).", int
    ),
    Setting(
        "POINTS_EXPIRY_DAYS",
        365,
        "Days after an award (or admin grant) until its unspent points expire; 0: never.",
        int,
    ),
    Setting(
        "POINTS_PENDING_DAYS",
        7,
        "Refund window in days: a purchase's points stay pending (not spendable) this long; 0: none.",
        int,
    ),
    Setting(
        "ORGANISATION_POINTS",
        "organisation",
        "Points of an organisation's purchase (event offset, institutional claim): `organisation` (its own "
        "account, read-only to its members) or `none`; never the member who placed it.",
        _one_of("organisation", "none"),
    ),
    Setting(
        "ADOPTION_POINTS_PER_TREE",
        10,
        "Carbon points per tree adopted (认建认养, pending through the refund window like a purchase's)."
        " A configured rule: the source documents name adoption points (Lishui) but give no number.",
        int,
    ),
    Setting(
        "LAND_COMPENSATION_STATE_SHARE_BP",
        5_000,
        "The state's share of a land-use compensation fee, in basis points (5000 = 50 %); the rest goes"
        " to the forest-land owner. Shuozhou's reply says the fee is shared by proportion, not which.",
        int,
    ),
    Setting(
        "INPROCESS_JOBS",
        True,
        "Run the scheduled jobs in the web process when REDIS_URL is empty "
        "(embedded demo); with Redis, run `bin/worker` instead.",
        _bool,
    ),
    Setting("LOG_JSON", False, "Write logs as JSON lines (one object per line, with the request id).", _bool),
    Setting(
        "METRICS_TOKEN",
        "",
        "Bearer token Prometheus sends to `/metrics` (compared in constant time); empty: only a local "
        "scrape (127.0.0.1 or ::1, not relayed by a proxy) is answered.",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "How many reverse proxies stand in front of the service: the client address (rate limits, logs)"
        " and scheme are read from the last this-many `X-Forwarded-For` / `X-Forwarded-Proto` entries."
        " 0: forwarded headers are ignored (the service is reached directly).",
        int,
    ),
    Setting(
        "TIER_LIGHT_GREEN_POINTS", 100, "Lifetime earned carbon points for the 浅绿 (light green) tier.", int
    ),
    Setting(
        "TIER_MID_GREEN_POINTS", 1_000, "Lifetime earned carbon points for the 中绿 (mid green) tier.", int
    ),
    Setting(
        "TIER_DEEP_GREEN_POINTS", 5_000, "Lifetime earned carbon points for the 深绿 (deep green) tier.", int
    ),
    Setting(
        "PARTNER_TIMESTAMP_WINDOW_S",
        300,
        "Signed partner requests whose `X-Timestamp` is further from now are refused.",
        int,
    ),
    Setting("PARTNER_CONSENT_MAX_DAYS", 365, "Longest consent a user may give a bank partner, in days.", int),
    Setting(
        "ORGANISATION_INVITATION_TTL_H",
        168,
        "Hours an invitation to become an organisation's organiser stays open before it expires.",
        int,
    ),
    Setting(
        "ACCOUNT_DELETION_COOLING_OFF_DAYS",
        15,
        "Days between a user's request to delete their account (账号注销) and its deletion; a login or"
        " a cancel meanwhile withdraws it. 0: deleted at the next run of the deletion job.",
        int,
    ),
    Setting(
        "DATA_EXPORT_RATE_LIMIT",
        "5 per hour",
        "Exports of all one's personal data (`GET /api/v1/me/export`) one user may download, counted per user id.",
    ),
    Setting(
        "PRIVACY_CONTACT",
        "",
        "How users reach the operator about their personal data (an e-mail address, a phone number),"
        " written into the privacy guide. Empty: the mini-program's customer-service entry.",
    ),
    Setting(
        "POINTS_PER_KG_REDUCTION",
        10,
        "Carbon points per kilogram of CO2e a low-carbon action avoided (rounded down per action).",
        int,
    ),
    Setting(
        "STEPS_DAILY_CAP", 20_000, "WeRun steps credited at most per day; steps above it earn nothing.", int
    ),
    Setting(
        "STEPS_FLAG_ABOVE",
        60_000,
        "A day with more WeRun steps than this is held for review, not credited.",
        int,
    ),
    Setting(
        "STEPS_FLAT_RUN_DAYS",
        5,
        "This many consecutive days with the same (non-zero) step count are held for review.",
        int,
    ),
    Setting(
        "ACTION_DAILY_CAP_G",
        "bus=1500,metro=2500",
        "Grams of CO2e credited at most per day for each kind of trip (`kind=grams`, comma-separated).",
    ),
    Setting("TRIP_FLAG_KM", 60, "A single bus or metro trip longer than this (km) is held for review.", int),
    Setting(
        "ACTION_MAX_AGE_DAYS",
        30,
        "Actions are accepted for today and this many days before (Beijing dates); older WeRun days are ignored.",
        int,
    ),
    Setting(
        "REDUCTION_OPERATOR_SHARE_PERMILLE",
        100,
        "Per mille of the proceeds of sold personal reductions the operator keeps (rounded down to the"
        " fen); the rest goes back to the contributing users as points.",
        int,
    ),
    Setting(
        "REDUCTION_POINTS_PER_FEN",
        1,
        "Carbon points a contributor gets for each fen of the shared proceeds of sold personal reductions.",
        int,
    ),
    Setting(
        "WERUN_MAX_AGE_S",
        600,
        "A WeRun payload whose watermark is older than this (seconds) is refused as stale.",
        int,
    ),
    Setting(
        "RANKINGS_TTL_S",
        3600,
        "Seconds a ranking kept in Redis lives before it is rebuilt from the database; 0: until Redis loses it.",
        int,
    ),
    Setting(
        "TRANSPARENCY_CACHE_S",
        60,
        "Seconds the public transparency report is kept in Redis before it is computed again; 0: never kept.",
        int,
    ),
    Setting(
        "LEDGER_SIGNING_KEY",
        "",
        "Base64 of the raw 32-byte Ed25519 seed that signs the public ledger's tree heads (required in"
        " production; empty elsewhere: a key made at each start). Make one with"
        " `python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'`.",
    ),
    Setting(
        "LEDGER_HOLDER_KEY",
        "",
        "Key of the HMAC that names a certificate's holder in the public ledger (a pseudonym, never the"
        " name). Empty: derived from SECRET_KEY, so changing SECRET_KEY changes the pseudonyms of later entries.",
    ),
    Setting(
        "BENCH_REFERENCE_ENDPOINT",
        False,
        "Serve `POST /api/v1/_reference/touch` (one UPDATE of one row) for benchmarks; refused in production.",
        _bool,
    ),
    Setting("LOG_LEVEL", "INFO", "Log level of the service."),
)

TIER_SETTINGS = ("TIER_LIGHT_GREEN_POINTS", "TIER_MID_GREEN_POINTS", "TIER_DEEP_GREEN_POINTS")

# Where Debian installs TrueType CJK fonts reportlab can embed (Noto CJK is CFF, which it cannot).
CERTIFICATE_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

_PROFILE_OVERRIDES: Mapping[str, Mapping[str, Any]] = {
    "default": {},
    "testing": {"TESTING": True, "INPROCESS_JOBS": False, "RATELIMIT_ENABLED": False},
    "production": {"WECHAT_SANDBOX_LOGIN": False, "LOG_JSON": True, "INPROCESS_JOBS": False},
}


def load_settings(
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read every setting from `environ` (the process environment by default) for `profile`."""
    env = os.environ if environ is None else environ
    profile = profile or env.get("CARBON_PROFILE", "default")
    if profile not in _PROFILE_OVERRIDES:
        raise ConfigurationError(
            f"unknown CARBON_PROFILE {profile!r}; use one of {sorted(_PROFILE_OVERRIDES)}"
        )
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        values[setting.name] = setting.default
        if setting.name in _PROFILE_OVERRIDES[profile]:
            values[setting.name] = _PROFILE_OVERRIDES[profile][setting.name]
        if setting.name in env:
            try:
                values[setting.name] = setting.parse(env[setting.name])
            except (ValueError, ConfigurationError) as error:
                problems.append(f"{setting.name}={env[setting.name][:40]!r} cannot be read: {error}")
    for key, value in _PROFILE_OVERRIDES[profile].items():
        values.setdefault(key, value)
    values["CARBON_PROFILE"] = profile
    if profile == "default" and "PUBLIC_BASE_URL" not in env:
        values["PUBLIC_BASE_URL"] = bind_base_url(env.get("BIND", "")) or values["PUBLIC_BASE_URL"]
    values.update(overrides or {})
    values["CERTIFICATE_FONT_PATH"] = certificate_font_path(values["CERTIFICATE_FONT_PATH"])
    values["DATABASE_URL"] = normalise_database_url(values["DATABASE_URL"])
    problems += safety.number_problems(values, (s.name for s in SETTINGS))
    if profile != "production" and (
        problem := safety.ledger_signing_key_problem(values["LEDGER_SIGNING_KEY"], required=False)
    ):
        problems.append(problem)  # production names it with the other production problems
    if profile != "production" and (
        problem := safety.phone_encryption_key_problem(values["PHONE_ENCRYPTION_KEY"], required=False)
    ):
        problems.append(problem)
    for check in (check_tiers, check_redis):
        try:
            check(values)
        except ConfigurationError as error:
            problems.append(str(error))
    if profile == "production":
        check_production(values, problems)
    elif problems:
        raise ConfigurationError(f"{profile} settings refused:\n  - " + "\n  - ".join(problems))
    return values


def normalise_database_url(url: str) -> str:
    """Empty means the embedded SQLite file; bare `postgresql://` means psycopg 3."""
    if not url:
        os.makedirs("instance", exist_ok=True)
        return "sqlite:///" + os.path.abspath(os.path.join("instance", "carbon.sqlite3"))
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def bind_base_url(bind: str) -> str | None:
    """`http://HOST:PORT` of a `host:port` listen address (`BIND`), a wildcard host read as loopback;
    None for anything else (empty, a Unix socket)."""
    host, colon, port = bind.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host:
        return None
    host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
    return f"http://{host}:{int(port)}"


def certificate_font_path(path: str) -> str:
    """The font file certificate PDFs use: `path` as given, or the first installed candidate, or empty."""
    if path:
        return path
    return next((candidate for candidate in CERTIFICATE_FONT_CANDIDATES if os.path.isfile(candidate)), "")


def listed(text: str) -> tuple[str, ...]:
    """A comma-separated setting (`FFCER, CCER`) as its entries, blanks dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def sentinel_addresses(text: str) -> list[tuple[str, int]]:
    """`host:port,host:port` (REDIS_SENTINELS) as pairs; ConfigurationError names a bad entry."""
    addresses = []
    for entry in (part.strip() for part in text.split(",")):  # an empty entry is an error here
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(f"REDIS_SENTINELS: {entry!r} is not host:port")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def check_redis(values: Mapping[str, Any]) -> None:
    """Sentinel addresses must parse, and come with REDIS_URL (database number and credentials)."""
    if values["REDIS_SENTINELS"]:
        sentinel_addresses(values["REDIS_SENTINELS"])
        if not values["REDIS_URL"]:
            raise ConfigurationError(
                "REDIS_SENTINELS needs REDIS_URL for the database number and credentials, "
                "e.g. redis://:PASSWORD@mymaster/0 (its host is not used)"
            )


def check_tiers(values: Mapping[str, Any]) -> None:
    """Tier thresholds must rise strictly from a non-negative first one."""
    thresholds = [values[name] for name in TIER_SETTINGS]
    if thresholds[0] < 0 or any(low >= high for low, high in pairwise(thresholds)):
        raise ConfigurationError(
            f"{', '.join(TIER_SETTINGS)} must rise strictly from 0 or more; got {thresholds}"
        )


def check_production(values: Mapping[str, Any], problems: Iterable[str] = ()) -> None:
    """Refuse a production start that would run on demo stand-ins or unsafe values, naming each
    (with `problems` found before)."""
    missing: list[str] = [*problems]
    if values["DATABASE_URL"].startswith("sqlite"):
        missing.append("DATABASE_URL must point at PostgreSQL (SQLite is for the embedded demo only)")
    if not values["REDIS_URL"]:
        missing.append("REDIS_URL must be set (the in-process Redis stand-in is for one process only)")
    missing += safety.production_problems(values)  # SECRET_KEY, PUBLIC_BASE_URL, METRICS_TOKEN, limits, font
    for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHATPAY_MCHID"):
        if not values[name]:
            missing.append(f"{name} must be set")
    provider = values["PAYMENT_PROVIDER"]
    if provider == "sandbox":
        missing.append("PAYMENT_PROVIDER=sandbox is not allowed in production")
    elif provider == "wechatpay_v3":
        missing += [
            f"{n} must be set for wechatpay_v3"
            for n in ("WECHATPAY_APIV3_KEY", "WECHATPAY_CERT_SERIAL", "WECHATPAY_PRIVATE_KEY_PATH")
            if not values[n]
        ]
        if bool(values["WECHATPAY_PUBLIC_KEY_ID"]) != bool(values["WECHATPAY_PUBLIC_KEY_PATH"]):
            missing.append("WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_PATH must be set together")
    elif provider == "wechatpay_v2":
        if not values["WECHATPAY_API_KEY"]:
            missing.append("WECHATPAY_API_KEY must be set for wechatpay_v2")
        if values["WECHATPAY_SIGN_TYPE"] not in ("MD5", "HMAC-SHA256"):
            missing.append("WECHATPAY_SIGN_TYPE must be MD5 or HMAC-SHA256")
    if values["WECHAT_SANDBOX_LOGIN"]:
        missing.append("WECHAT_SANDBOX_LOGIN is not allowed in production")
    if values["BENCH_REFERENCE_ENDPOINT"]:
        missing.append("BENCH_REFERENCE_ENDPOINT is not allowed in production")
    if missing:
        raise ConfigurationError("production settings refused:\n  - " + "\n  - ".join(missing))
