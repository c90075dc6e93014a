"""Which subscribe messages are on, with which templates, fields and pages, and how they are sent.

Each kind of message has a template id (`SUBSCRIBE_TEMPLATE_<KIND>`; empty: the kind is off) and
its fields (`SUBSCRIBE_FIELDS_<KIND>`: `key=value` pairs, the template's keys and the values this
service gives for the kind, `VALUES`). A field setting that names a key WeChat has not, or a value
the kind does not give, refuses the start (`ConfigurationError`).

Messages are sent only with the mini-program's credentials and real logins: with no
`WECHAT_APPID`/`WECHAT_SECRET`, or with `WECHAT_SANDBOX_LOGIN` (whose openids WeChat never issued),
`wechat` is None and every message is marked skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config import ConfigurationError
from models import MessageKind
from services.accounts.wechat_client import WeChatSettings
from services.notifications.message_fields import prefix_of

# The values each kind gives its template's fields (docs/wechat.md, "Subscribe messages").
VALUES: Mapping[MessageKind, tuple[str, ...]] = {
    MessageKind.CERTIFICATE_ISSUED: ("number", "kg", "issued_at", "note"),
    MessageKind.REFUND_DONE: ("order_no", "amount", "refunded_at", "note"),
    MessageKind.POINTS_EXPIRING: ("points", "expires_on", "note"),
    MessageKind.EVENT_NEUTRALISED: ("event", "kg", "offset_at", "note"),
    MessageKind.BANK_TRANSFER_EXPIRING: ("order_no", "amount", "expires_at", "note"),
}
# The page each kind's message opens: a setting naming the page.
PAGES: Mapping[MessageKind, str] = {
    MessageKind.CERTIFICATE_ISSUED: "WECHAT_CERTIFICATE_PAGE",
    MessageKind.REFUND_DONE: "SUBSCRIBE_ORDER_PAGE",
    MessageKind.POINTS_EXPIRING: "SUBSCRIBE_POINTS_PAGE",
    MessageKind.EVENT_NEUTRALISED: "WECHAT_EVENT_PAGE",
    MessageKind.BANK_TRANSFER_EXPIRING: "SUBSCRIBE_ORDER_PAGE",
}
TEMPLATE_ID_MAX = 128
MAX_FIELDS = 20


@dataclass(frozen=True)
class Template:
    """One kind's template: its id, its (key, value name) fields, and the page it opens."""

    kind: MessageKind
    template_id: str
    fields: tuple[tuple[str, str], ...]
    page: str


@dataclass(frozen=True)
class SubscribeSettings:
    """`templates` holds the kinds that are on; `wechat` None: nothing is sent (see the module)."""

    wechat: WeChatSettings | None = None
    templates: Mapping[MessageKind, Template] = field(default_factory=dict)
    miniprogram_state: str = "formal"
    points_notice_days: int = 7
    bank_transfer_notice_h: int = 48
    lookback_h: int = 24
    attempts: int = 5
    backoff_s: int = 60

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SubscribeSettings:
        """Pick the subscribe message settings out of the application's settings."""
        live = config["WECHAT_APPID"] and config["WECHAT_SECRET"] and not config["WECHAT_SANDBOX_LOGIN"]
        templates = {}
        for kind in MessageKind:
            name = kind.value.upper()
            template_id = str(config[f"SUBSCRIBE_TEMPLATE_{name}"]).strip()
            if not template_id:
                continue
            if len(template_id) > TEMPLATE_ID_MAX:
                raise ConfigurationError(f"SUBSCRIBE_TEMPLATE_{name} is longer than {TEMPLATE_ID_MAX}")
            fields = parse_fields(kind, f"SUBSCRIBE_FIELDS_{name}", config[f"SUBSCRIBE_FIELDS_{name}"])
            templates[kind] = Template(kind, template_id, fields, str(config[PAGES[kind]]).strip())
        return cls(
            wechat=WeChatSettings.from_config(config) if live else None,
            templates=templates,
            miniprogram_state=config["SUBSCRIBE_MINIPROGRAM_STATE"],
            points_notice_days=int(config["SUBSCRIBE_POINTS_NOTICE_DAYS"]),
            bank_transfer_notice_h=int(config["SUBSCRIBE_BANK_TRANSFER_NOTICE_H"]),
            lookback_h=int(config["SUBSCRIBE_LOOKBACK_H"]),
            attempts=int(config["SUBSCRIBE_SEND_ATTEMPTS"]),
            backoff_s=int(config["SUBSCRIBE_RETRY_BACKOFF_S"]),
        )

    def template_ids(self) -> set[str]:
        """Every template id a user may report a result for."""
        return {template.template_id for template in self.templates.values()}


def parse_fields(kind: MessageKind, setting: str, text: str) -> tuple[tuple[str, str], ...]:
    """`thing1=note,time2=issued_at` as its pairs; ConfigurationError names what is wrong."""
    pairs = []
    for entry in (part.strip() for part in str(text).split(",")):
        key, equals, value = (piece.strip() for piece in entry.partition("="))
        if not equals or prefix_of(key) is None:
            raise ConfigurationError(
                f"{setting}: {entry!r} is not key=value with a WeChat field key (thing1, time2, ...)"
            )
        if value not in VALUES[kind]:
            raise ConfigurationError(f"{setting}: {value!r} is not one of {', '.join(VALUES[kind])}")
        pairs.append((key, value))
    if len({key for key, _ in pairs}) != len(pairs) or len(pairs) > MAX_FIELDS:
        raise ConfigurationError(f"{setting}: each key once, {MAX_FIELDS} at most")
    return tuple(pairs)


_settings = SubscribeSettings()


def configure(settings: SubscribeSettings) -> None:
    """Use these settings from now on (the composition root calls it at start)."""
    global _settings
    _settings = settings


def current() -> SubscribeSettings:
    """The settings the process started with."""
    return _settings
