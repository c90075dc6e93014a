"""The privacy guide (用户隐私保护指引): its versions, the current one, and which version each user accepted.

The guide the service ships (`data/privacy/guide.md`, its version id and title in the two lines
before `---`) is current until an admin publishes one; from then on the newest published version
is. A version's id never changes meaning: publishing an id already used is refused. The text may
name `{{contact}}`, `{{cooling_off_days}}` and `{{action_max_age_days}}`, filled in from the
settings when the guide is served, so the guide always states what this deployment does.

A user accepts a version at login (`privacy_version`) or afterwards; while the current version is
not among those they accepted, their profile says `privacy_acceptance_required`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import PrivacyAcceptance, PrivacyGuideVersion, Role, User, utcnow
from models.database import read_session, unit_of_work
from services.kernel import audit
from services.kernel.errors import Conflict, NotFound, ValidationFailed

GUIDE_FILE = Path(__file__).resolve().parents[2] / "data" / "privacy" / "guide.md"
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
VERSION_MESSAGE = "Use 1 to 32 letters, digits or `. _ -`, starting with a letter or digit."
TITLE_MAX = 200
BODY_MAX = 100_000
DEFAULT_CONTACT = "小程序内的「客服」入口"


@dataclass(frozen=True)
class GuideTerms:
    """What the guide's placeholders say, from the settings."""

    contact: str = DEFAULT_CONTACT
    cooling_off_days: int = 15
    action_max_age_days: int = 30

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> GuideTerms:
        return cls(
            contact=settings["PRIVACY_CONTACT"].strip() or DEFAULT_CONTACT,
            cooling_off_days=settings["ACCOUNT_DELETION_COOLING_OFF_DAYS"],
            action_max_age_days=settings["ACTION_MAX_AGE_DAYS"],
        )

    def fill(self, text: str) -> str:
        return (
            text.replace("{{contact}}", self.contact)
            .replace("{{cooling_off_days}}", str(self.cooling_off_days))
            .replace("{{action_max_age_days}}", str(self.action_max_age_days))
        )


@dataclass(frozen=True)
class GuideVersion:
    version: str
    title: str
    body: str
    # None for the guide the service ships (it was never published through the API).
    published_at: datetime | None
    current: bool = False


@dataclass(frozen=True)
class PrivacyStatus:
    """Which version is current, the latest one the user accepted, and whether they must accept again."""

    current_version: str
    accepted_version: str | None
    acceptance_required: bool


@functools.cache
def shipped() -> GuideVersion:
    """The guide in `data/privacy/guide.md`."""
    head, _, body = GUIDE_FILE.read_text(encoding="utf-8").partition("\n---\n")
    fields = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    version, title = fields["version"].strip(), fields["title"].strip()
    if not VERSION_PATTERN.fullmatch(version) or not body.strip():
        raise RuntimeError(f"{GUIDE_FILE} has no valid version or no text")
    return GuideVersion(version, title, body.strip() + "\n", None)


def _published(row: PrivacyGuideVersion, current: bool) -> GuideVersion:
    return GuideVersion(row.version, row.title, row.body, row.published_at, current)


def _newest(session: Session) -> PrivacyGuideVersion | None:
    return session.scalar(select(PrivacyGuideVersion).order_by(PrivacyGuideVersion.id.desc()).limit(1))


def current_version_in(session: Session) -> str:
    """The id of the current version."""
    newest = session.scalar(
        select(PrivacyGuideVersion.version).order_by(PrivacyGuideVersion.id.desc()).limit(1)
    )
    return newest or shipped().version


def _filled(guide: GuideVersion, terms: GuideTerms) -> GuideVersion:
    return dataclasses.replace(guide, body=terms.fill(guide.body))


def current(terms: GuideTerms) -> GuideVersion:
    """The guide users must accept now, its placeholders filled in."""
    session = read_session()
    try:
        newest = _newest(session)
        guide = _published(newest, True) if newest else dataclasses.replace(shipped(), current=True)
    finally:
        session.rollback()
    return _filled(guide, terms)


def get_version(version: str, terms: GuideTerms) -> GuideVersion:
    """One version of the guide, current or not, by its id."""
    session = read_session()
    try:
        row = session.scalar(select(PrivacyGuideVersion).where(PrivacyGuideVersion.version == version))
        current_id = current_version_in(session)
        found = _published(row, row.version == current_id) if row is not None else None
    finally:
        session.rollback()
    if found is not None:
        return _filled(found, terms)
    if version == shipped().version:
        return _filled(dataclasses.replace(shipped(), current=version == current_id), terms)
    raise NotFound(f"The privacy guide has no version {version!r}.")


def list_versions(page: int, page_size: int) -> tuple[list[GuideVersion], int]:
    """Every version, newest first, without its text; the shipped guide comes last."""
    session = read_session()
    try:
        published = int(session.scalar(select(func.count()).select_from(PrivacyGuideVersion)) or 0)
        rows = session.scalars(
            select(PrivacyGuideVersion)
            .order_by(PrivacyGuideVersion.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
        first = (page - 1) * page_size
        items = [
            GuideVersion(row.version, row.title, "", row.published_at, first + index == 0)
            for index, row in enumerate(rows)
        ]
    finally:
        session.rollback()
    if first + len(items) == published and len(items) < page_size:
        items.append(GuideVersion(shipped().version, shipped().title, "", None, published == 0))
    return items, published + 1


def publish(actor_id: int, version: str, title: str, body: str) -> GuideVersion:
    """Publish a new version, which becomes current at once: every user is asked to accept it."""
    version, title = version.strip(), title.strip()
    errors: dict[str, list[str]] = {}
    if not VERSION_PATTERN.fullmatch(version):
        errors["version"] = [VERSION_MESSAGE]
    if not title or len(title) > TITLE_MAX:
        errors["title"] = [f"Use 1 to {TITLE_MAX} characters."]
    if not body.strip() or len(body) > BODY_MAX:
        errors["body"] = [f"Use 1 to {BODY_MAX} characters."]
    if errors:
        raise ValidationFailed("The privacy guide version is not valid.", errors=errors)
    taken = Conflict(f"The privacy guide already has a version {version!r}; publish a new id.")
    if version == shipped().version:
        raise taken
    try:
        with unit_of_work() as session:
            row = PrivacyGuideVersion(
                version=version, title=title, body=body, published_at=utcnow(), published_by=actor_id
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor_id,
                "privacy_guide.publish",
                "privacy_guide_version",
                row.id,
                None,
                {"version": version, "title": title, "body_length": len(body)},
            )
            return _published(row, True)
    except IntegrityError as exc:
        raise taken from exc


def _known_in(session: Session, version: str) -> bool:
    return version == shipped().version or (
        session.scalar(select(PrivacyGuideVersion.id).where(PrivacyGuideVersion.version == version))
        is not None
    )


def check_version(version: str) -> None:
    """Refuse (422) a version id the guide never had, before anything else is done with a request."""
    session = read_session()
    try:
        known = _known_in(session, version)
    finally:
        session.rollback()
    if not known:
        raise ValidationFailed(
            f"The privacy guide has no version {version!r}; show the current one and send its version.",
            errors={"privacy_version": ["Unknown version of the privacy guide."]},
        )


def accept_in(session: Session, user_id: int, version: str) -> None:
    """Record, in the caller's unit of work, that the user accepted `version` (once per version)."""
    if not _known_in(session, version):
        raise ValidationFailed(
            f"The privacy guide has no version {version!r}.",
            errors={"version": ["Unknown version of the privacy guide."]},
        )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(PrivacyAcceptance)
        .values(user_id=user_id, version=version, accepted_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "version"])
    )


def status_in(session: Session, user: User) -> PrivacyStatus:
    """Where the user stands with the guide; admins (not mini-program users) are never asked."""
    current_id = current_version_in(session)
    latest = session.execute(
        select(PrivacyAcceptance.version, PrivacyAcceptance.version == current_id)
        .where(PrivacyAcceptance.user_id == user.id)
        .order_by((PrivacyAcceptance.version == current_id).desc(), PrivacyAcceptance.id.desc())
        .limit(1)
    ).first()
    accepted_current = bool(latest and latest[1])
    return PrivacyStatus(
        current_version=current_id,
        accepted_version=latest[0] if latest else None,
        acceptance_required=user.role == Role.USER and not accepted_current,
    )


def accept(user_id: int, version: str) -> PrivacyStatus:
    """The user accepts `version` of the guide (normally the current one)."""
    with unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        accept_in(session, user_id, version)
        return status_in(session, user)
