"""Share posters of public records: a certificate, an institutional claim, an event's neutralisation.

Each builder turns what the public may read of a record (the holder's name masked, as on its
verification page) into a `poster_drawing.Poster`: the words, the amount with its plain-language
equivalent (`equivalents`), the project facts, and the code that opens the record (`share_code`).
The route answers 304 from the poster's ETag before anything is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from models import GRAMS_PER_TONNE, Certificate, CertificateStatus, Channel, Order, Project
from models.database import read_session
from services.certificates import certificates, equivalents, share_code
from services.certificates.poster_drawing import Fact, Poster, facts_text
from services.certificates.public_urls import (
    certificate_verification_url,
    claim_record_url,
    event_disclosure_url,
)
from services.kernel.beijing_time import beijing_date

# (kicker, title, subtitle, what the amount is) by the channel the certificate's order came through.
_CERTIFICATE_WORDS: Mapping[Channel, tuple[str, str, str, str]] = {
    Channel.ONE_YUAN: ("碳普惠 · 一元碳汇", "碳普惠证书", "Carbon Inclusion Certificate", "认购的林业碳汇"),
    Channel.CREDITS: ("碳普惠 · 碳汇认购", "碳普惠证书", "Carbon Inclusion Certificate", "认购的碳信用"),
    Channel.FOOTPRINT_OFFSET: (
        "碳普惠 · 一键抵消碳足迹",
        "碳足迹抵消证书",
        "Footprint Offset Certificate",
        "以林业碳汇抵消的个人碳足迹",
    ),
    Channel.EVENT: (
        "碳普惠 · 大型活动碳中和",
        "碳中和证书",
        "Event Neutrality Certificate",
        "为活动中和的排放",
    ),
    Channel.INSTITUTIONAL: (
        "碳普惠 · 机构认购",
        "碳汇认购证书",
        "Carbon Credit Certificate",
        "认购的林业碳汇",
    ),
    Channel.LAND_COMPENSATION: (
        "碳普惠 · 用地碳汇补偿",
        "碳汇补偿证书",
        "Land-use Compensation Certificate",
        "补偿占用林地所失碳汇",
    ),
}
_STAMPS = {CertificateStatus.VOID: "已作废", CertificateStatus.SUPERSEDED: "已换发"}
_CLAIM_KICKERS = {
    "ecological_justice": "碳普惠 · 生态司法",
    "tree_planting": "碳普惠 · 义务植树尽责",
    "annual_neutralisation": "碳普惠 · 年度碳中和",
}


def amount(grams: int) -> tuple[str, str]:
    """The amount as a figure and its unit: kilograms below a tonne, tonnes from one tonne."""
    if grams >= GRAMS_PER_TONNE:
        figure, unit = Decimal(grams) / GRAMS_PER_TONNE, "吨 CO2e"
    else:
        figure, unit = Decimal(grams) / 1000, "kg CO2e"
    text = f"{figure.quantize(Decimal('0.001')):,}".rstrip("0").rstrip(".")
    return text, unit


def _distinct(values: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(str(value) for value in values if value))


def _project_facts(serials: list[Mapping[str, Any]]) -> list[Fact]:
    """Projects, their owners and places, credit kinds and vintages, of the serials a record draws on."""
    codes = _distinct(serial["project_code"] for serial in serials)
    projects = {p.code: p for p in read_session().scalars(select(Project).where(Project.code.in_(codes)))}
    facts = [Fact("项目", facts_text(_distinct(s["project_name"] for s in serials), 3, " 等 {} 个项目"))]
    owners = _distinct(projects[c].owner.name for c in codes if c in projects and projects[c].owner)
    if owners:
        facts.append(Fact("项目业主", facts_text(owners, 3, " 等 {} 位")))
    places = _distinct(projects[c].location or projects[c].county for c in codes if c in projects)
    if places:
        facts.append(Fact("地点", facts_text(places, 2, " 等 {} 地")))
    kinds = _distinct(f"{s['kind']} {s['vintage']} 年度" for s in serials)
    facts.append(Fact("碳信用", facts_text(kinds, 3, " 等 {} 种")))
    return facts


def _retirement_fact(serials: int, retired: int) -> Fact:
    if serials and retired == serials:
        return Fact("登记注销", f"{serials} 个登记序列号已全部注销")
    if not retired:
        return Fact("登记注销", f"{serials} 个登记序列号，待在登记簿注销")
    return Fact("登记注销", f"{serials} 个登记序列号已注销 {retired} 个，其余待注销")


def _code_words(code: share_code.ShareCode, record: str) -> tuple[str, str]:
    if code.mode == "wxacode":
        return f"长按识别 查看{record}", "在微信小程序中核验每一个登记序列号"
    return f"扫码核验{record}", code.web_url


def certificate_poster(code: str, base_url: str) -> Poster:
    """The poster of a certificate found by its verification code (NotFound for an unknown code)."""
    verification = certificates.verify(code)
    certificate: Certificate = verification.certificate
    order = read_session().get(Order, certificate.order_id)
    kicker, title, subtitle, amount_label = _CERTIFICATE_WORDS.get(
        order.channel if order is not None else Channel.ONE_YUAN, _CERTIFICATE_WORDS[Channel.ONE_YUAN]
    )
    figure, unit = amount(certificate.grams)
    equivalent = equivalents.grid_electricity(certificate.grams)
    claims = certificate.claims or []
    retired = sum(1 for claim in claims if claim["serial"] in verification.retired_serials)
    shared = share_code.share_code(
        share_code.CERTIFICATE,
        certificate.verification_code,
        certificate_verification_url(base_url, certificate.verification_code),
    )
    code_title, code_hint = _code_words(shared, "证书")
    return Poster(
        kicker=kicker,
        title=title,
        subtitle=subtitle,
        holder_label="持有人",
        holder=verification.holder,
        amount=figure,
        amount_unit=unit,
        amount_label=amount_label,
        equivalent=equivalent.text,
        equivalent_source=equivalent.source,
        statement="",
        facts=(
            *_project_facts(claims),
            _retirement_fact(len(claims), retired),
            Fact("证书编号", certificate.number),
            Fact("签发日期", f"{beijing_date(certificate.issued_at):%Y 年 %m 月 %d 日}"),
        ),
        stamp=_STAMPS.get(certificate.status, ""),
        code_title=code_title,
        code_hint=code_hint,
        share=shared,
    )


def claim_poster(record: Mapping[str, Any], base_url: str) -> Poster:
    """The poster of a paid institutional claim from its public record (defendant already masked)."""
    credits = record["credits"]
    serials = credits["serials"] if credits else []
    grams = credits["grams"] if credits else record["grams_required"]
    figure, unit = amount(grams)
    equivalent = equivalents.grid_electricity(grams)
    shared = share_code.share_code(
        share_code.CLAIM, record["code"], claim_record_url(base_url, record["code"])
    )
    code_title, code_hint = _code_words(shared, "证明")
    facts = [*_project_facts(serials)] if serials else []
    if credits:
        retired = sum(1 for serial in serials if serial["retirement"] == "retired")
        facts += [_retirement_fact(len(serials), retired), Fact("证书编号", credits["certificate_number"])]
    return Poster(
        kicker=_CLAIM_KICKERS.get(record["kind"], "碳普惠"),
        title=record["certificate_title"],
        subtitle="Certificate of Forestry Carbon Credits",
        holder_label="单位",
        holder=record["organisation"],
        amount=figure,
        amount_unit=unit,
        amount_label="认购并注销的林业碳汇",
        equivalent=equivalent.text,
        equivalent_source=equivalent.source,
        statement=record["certificate_statement"],
        facts=tuple(facts),
        stamp="" if record["order_status"] == "fulfilled" and credits else "未完成",
        code_title=code_title,
        code_hint=code_hint,
        share=shared,
    )


def event_poster(disclosure: Mapping[str, Any], base_url: str) -> Poster:
    """The poster of a published event's neutralisation from its public disclosure."""
    credits = disclosure["offset"]["credits"]
    serials = credits["serials"] if credits else []
    emitted = disclosure["actual"]["total_grams"] or disclosure["estimate"]["total_grams"]
    figure, unit = amount(emitted)
    equivalent = equivalents.grid_electricity(emitted)
    shared = share_code.share_code(
        share_code.EVENT, disclosure["code"], event_disclosure_url(base_url, disclosure["code"])
    )
    code_title, code_hint = _code_words(shared, "披露")
    neutral = disclosure["neutral"]
    actual = bool(disclosure["actual"]["total_grams"])
    statement = (
        f"活动排放已按《大型活动碳中和实施指南（试行）》{'核算' if actual else '预估'}，"
        f"{'并以林业碳汇全部中和。' if neutral else '正以林业碳汇中和。'}"
    )
    facts = [
        Fact("主办单位", disclosure["organisation"]),
        Fact(
            "时间地点",
            f"{disclosure['start_date']:%Y.%m.%d} – {disclosure['end_date']:%Y.%m.%d}，{disclosure['venue_city']}",
        ),
    ]
    if credits:
        retired = sum(1 for serial in serials if serial["retirement"] == "retired")
        facts += [
            *_project_facts(serials),
            Fact("抵消", " ".join(amount(credits["grams"]))),
            _retirement_fact(len(serials), retired),
            Fact("证书编号", credits["certificate_number"]),
        ]
    return Poster(
        kicker="碳普惠 · 大型活动碳中和",
        title="活动碳中和证书",
        subtitle="Event Carbon Neutrality Certificate",
        holder_label="活动",
        holder=disclosure["name"],
        amount=figure,
        amount_unit=unit,
        amount_label="活动排放（实际核算）" if actual else "活动排放（预估）",
        equivalent=equivalent.text,
        equivalent_source=equivalent.source,
        statement=statement,
        facts=tuple(facts),
        stamp="" if neutral else "尚未中和",
        code_title=code_title,
        code_hint=code_hint,
        share=shared,
    )
