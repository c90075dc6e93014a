"""Accounts: WeChat login, admin accounts with passwords, logout and the user's own profile."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Organisation, OrganisationKind, OrganisationMember, Role, User
from models.database import read_session, unit_of_work
from services.accounts import (
    account_deletion,
    admin_login_backoff,
    content_check,
    phone_numbers,
    privacy_guide,
)
from services.accounts.admin_login_backoff import BackoffPolicy
from services.accounts.tokens import issue_token_in, revoke_token
from services.accounts.wechat_client import SessionInfo, WeChatSettings, code_to_session
from services.kernel import audit
from services.kernel.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    UpstreamError,
    ValidationFailed,
)
from services.kernel.redis_store import get_redis

# The session key decrypts WeRun and phone-number data; WeChat renews it at each wx.login.
SESSION_KEY_TTL_S = 3 * 24 * 3600
PROFILE_MAX_LENGTHS = {"display_name": 64, "avatar_url": 512, "city": 64, "region": 64}
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.@-]{3,64}")
MIN_PASSWORD_LENGTH = 12
AVATAR_URL_MESSAGE = "Use an http:// or https:// URL."

DEFAULT_BACKOFF = BackoffPolicy()

_hasher = PasswordHasher()
_dummy_hash: str | None = None


@dataclass(frozen=True)
class OrganisationRef:
    id: int
    name: str
    kind: OrganisationKind
    is_owner: bool


@dataclass(frozen=True)
class Profile:
    """What a user may see of their own account (neither the openid nor the WeChat session key)."""

    id: int
    role: Role
    username: str | None
    display_name: str
    avatar_url: str
    city: str
    region: str
    organisations: tuple[OrganisationRef, ...]
    created_at: datetime
    # The privacy guide: the current version, the latest the user accepted, and whether they must
    # accept the current one (a newer version was published since).
    privacy_version: str
    privacy_accepted_version: str | None
    privacy_acceptance_required: bool
    # When the user's pending deletion request falls due, or None.
    account_deletion_due_at: datetime | None
    # Whether others see the display name: `pass`, or `pending` / `risky` (content_check).
    display_name_status: str = "pass"
    # The bound phone number, masked (138****1234), or None.
    phone: str | None = None


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    user: Profile
    # This login cancelled a pending deletion of the account (账号注销 during its cooling-off period).
    account_deletion_cancelled: bool = False


def session_key_name(user_id: int) -> str:
    return account_deletion.SESSION_KEY_NAME.format(user_id=user_id)


def get_session_key(user_id: int) -> str | None:
    """The user's latest WeChat session key (to decrypt WeRun data), or None when it has expired."""
    try:
        value = get_redis().get(session_key_name(user_id))
    except redis.RedisError as exc:
        raise UpstreamError("The session store is unavailable; retry shortly.") from exc
    return value.decode() if isinstance(value, bytes) else value


def _store_session_key(user_id: int, session_key: str) -> None:
    try:
        get_redis().set(session_key_name(user_id), session_key, ex=SESSION_KEY_TTL_S)
    except redis.RedisError as exc:
        raise UpstreamError("The session store is unavailable; retry shortly.") from exc


def _profile(session: Session, user: User) -> Profile:
    rows = session.execute(
        select(Organisation.id, Organisation.name, Organisation.kind, Organisation.owner_id)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
        .where(OrganisationMember.user_id == user.id)
        .order_by(Organisation.id)
    ).all()
    privacy = privacy_guide.status_in(session, user)
    return Profile(
        id=user.id,
        role=user.role,
        username=user.username,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        city=user.city,
        region=user.region,
        organisations=tuple(
            OrganisationRef(row.id, row.name, row.kind, row.owner_id == user.id) for row in rows
        ),
        created_at=user.created_at,
        privacy_version=privacy.current_version,
        privacy_accepted_version=privacy.accepted_version,
        privacy_acceptance_required=privacy.acceptance_required,
        account_deletion_due_at=account_deletion.pending_due_at_in(session, user.id),
        display_name_status=content_check.status_in(session, content_check.DISPLAY_NAME, str(user.id)),
        phone=phone_numbers.masked_in(session, user.id),
    )


def _user_snapshot(user: User) -> dict[str, Any] | None:
    values = audit.snapshot(user)
    if values is not None:
        values.pop("password_hash", None)
    return values


def _login_once(info: SessionInfo, token_ttl_s: int, privacy_version: str | None) -> LoginResult:
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.openid == info.openid))
        if user is None:
            user = User(openid=info.openid, unionid=info.unionid, role=Role.USER)
            session.add(user)
            session.flush()
        elif info.unionid and user.unionid != info.unionid:
            user.unionid = info.unionid
        if not user.is_active:
            raise PermissionDenied("This account is disabled.")
        issued = issue_token_in(session, user, token_ttl_s)
        cancelled = account_deletion.cancel_on_login_in(session, user.id)
        if privacy_version is not None:
            privacy_guide.accept_in(session, user.id, privacy_version)
        _store_session_key(user.id, info.session_key)
        profile = _profile(session, user)
    return LoginResult(issued.token, issued.expires_at, profile, cancelled)


def login_with_code(
    code: str, wechat: WeChatSettings, token_ttl_s: int, privacy_version: str | None = None
) -> LoginResult:
    """Log a mini-program user in with a `wx.login` code; the first login creates the user.

    `privacy_version`: the version of the privacy guide the user accepted before logging in, recorded
    with the login. A login cancels a pending deletion of the account.
    """
    if privacy_version is not None:
        privacy_guide.check_version(privacy_version)  # before WeChat: a refused login keeps its code
    info = code_to_session(code, wechat)  # outside the transaction: never hold the database on WeChat
    try:
        return _login_once(info, token_ttl_s, privacy_version)
    except IntegrityError:
        # Two first logins of one openid raced and this one lost; now the user exists.
        return _login_once(info, token_ttl_s, privacy_version)


def _verify_password(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    if password_hash is None:
        # Spend the time of a real check, so that timing does not tell which usernames exist.
        _dummy_hash = _dummy_hash or _hasher.hash("no account has this password")
        password_hash, known = _dummy_hash, False
    else:
        known = True
    try:
        return _hasher.verify(password_hash, password) and known
    except (VerificationError, InvalidHashError):
        return False


def admin_login(
    username: str, password: str, token_ttl_s: int, backoff: BackoffPolicy = DEFAULT_BACKOFF
) -> LoginResult:
    """Log an admin in with username and password; `RateLimited` while the account is locked after
    too many failures (checked before the password, so that guessing stops during the lock)."""
    admin_login_backoff.ensure_not_locked(username)
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username, User.role == Role.ADMIN))
        ok = _verify_password(user.password_hash if user else None, password)
        if user is not None and ok and user.is_active:
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            issued = issue_token_in(session, user, token_ttl_s)
            result = LoginResult(issued.token, issued.expires_at, _profile(session, user))
        else:
            result = None
    if result is None:
        # Unknown, wrong and disabled alike, so the lock does not tell which accounts exist.
        admin_login_backoff.record_failure(username, backoff)
        raise Unauthenticated("Wrong username or password.")
    admin_login_backoff.clear(username)
    return result


def create_admin(username: str, password: str, actor_id: int | None = None) -> Profile:
    """Create an admin account; `actor_id` is the admin doing it (None from the command line)."""
    errors: dict[str, list[str]] = {}
    if not USERNAME_PATTERN.fullmatch(username):
        errors["username"] = ["Use 3 to 64 letters, digits or `_ . @ -`."]
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"Use at least {MIN_PASSWORD_LENGTH} characters."]
    if errors:
        raise ValidationFailed("The admin account is not valid.", errors=errors)
    try:
        with unit_of_work() as session:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"The username {username!r} is taken.")
            user = User(username=username, password_hash=_hasher.hash(password), role=Role.ADMIN)
            session.add(user)
            session.flush()
            audit.record(session, actor_id, "admin.create", "user", user.id, None, _user_snapshot(user))
            return _profile(session, user)
    except IntegrityError as exc:
        raise Conflict(f"The username {username!r} is taken.") from exc


def logout(authorization: str) -> None:
    """Revoke the bearer token of this request."""
    revoke_token(authorization)


def get_profile(user_id: int) -> Profile:
    """The user's own profile with their role and organisations."""
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        return _profile(session, user)


def is_http_url(value: str) -> bool:
    """An absolute http:// or https:// URL with a host and no whitespace."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def _profile_errors(changes: Mapping[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if name not in PROFILE_MAX_LENGTHS:
            errors[name] = ["This field cannot be changed."]
        elif len(value) > PROFILE_MAX_LENGTHS[name]:
            errors[name] = [f"Use at most {PROFILE_MAX_LENGTHS[name]} characters."]
    avatar = changes.get("avatar_url")
    if avatar and "avatar_url" not in errors and not is_http_url(avatar):
        errors["avatar_url"] = [AVATAR_URL_MESSAGE]
    return errors


def _current_display_name(user_id: int) -> str | None:
    session = read_session()
    try:
        return session.scalar(select(User.display_name).where(User.id == user_id))
    finally:
        session.rollback()


def update_profile(user_id: int, changes: Mapping[str, str]) -> Profile:
    """Change the user's display name, avatar URL, city or region (an empty string clears one).

    A new display name passes WeChat's content security check first (`content_check`): refused
    when risky, kept from the rankings until it passes when WeChat cannot judge it now.
    """
    cleaned = {name: value.strip() for name, value in changes.items()}
    errors = _profile_errors(cleaned)
    if errors:
        raise ValidationFailed("The profile is not valid; see `errors`.", errors=errors)
    name = cleaned.get("display_name")
    verdict = None
    if name is not None and name != _current_display_name(user_id):
        verdict = content_check.screen(user_id, "display_name", name)  # before the transaction
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        for field, value in cleaned.items():
            setattr(user, field, value)
        session.flush()
        if verdict is not None and name is not None:
            content_check.record_in(session, content_check.DISPLAY_NAME, str(user_id), name, verdict, user_id)
        return _profile(session, user)
