"""Documents of a cycle: a winner's certificate (PDF with a verification QR code) and the
committee's Excel file of candidates, evidence, votes and decisions."""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from events.vocabulary import DIMENSIONS
from services.common.documents import public_address, qr
from services.common.states import (
    CANDIDATE_IN_EXPORT,
    OUTCOME_IN_EXPORT,
    VOTE_IN_EXPORT,
    ObjectionStatus,
)

FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese without a font file
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
VERIFY_PATH = "/honors/verify/"  # web's public verification page
# who did an act whose author only the committee may know (a vote, an objection)
ANONYMOUS_IN_EXPORT = {"committee_member": "一位评审委员", "resident": "一位居民"}


def render_certificate(check: dict, base_url: str) -> bytes:
    """The certificate of one award (``operations.certificate_check``) as PDF bytes, its QR
    code and address on ``base_url`` (the configured public base URL)."""
    url = public_address(base_url, VERIFY_PATH + check["code"])
    heading = ParagraphStyle("h", fontName=FONT, fontSize=30, leading=40, alignment=1)
    title = ParagraphStyle(
        "t",
        fontName=FONT,
        fontSize=20,
        leading=30,
        alignment=1,
        textColor=colors.HexColor("#c0262d"),
    )
    body = ParagraphStyle("b", fontName=FONT, fontSize=15, leading=26, alignment=1)
    small = ParagraphStyle("s", fontName=FONT, fontSize=10, leading=15, alignment=1)
    issued = check["issued_on"]
    story = [
        Spacer(1, 12 * mm),
        Paragraph("荣 誉 证 书", heading),
        Spacer(1, 10 * mm),
        Paragraph(f"<b>{escape(check['name'])}</b> 同志（{escape(check['unit_name'])}）：", body),
        Paragraph("在促进各民族交往交流交融、铸牢中华民族共同体意识工作中表现突出，", body),
        Paragraph("经推荐、评审和公示，被评为", body),
        Spacer(1, 4 * mm),
        Paragraph(escape(check["title"]), title),
        Spacer(1, 4 * mm),
        Paragraph("特发此证，以资鼓励。", body),
        Spacer(1, 10 * mm),
        Paragraph(escape(check["awarding_unit"]), body),
        Paragraph(f"{issued.year}年{issued.month}月{issued.day}日", body),
        Spacer(1, 6 * mm),
        qr(url, 28 * mm),
        Paragraph(f"证书编号：{escape(check['code'])}", small),
        Paragraph(f"扫码或访问 {escape(url)} 验证真伪", small),
    ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        title=f"{check['title']} {check['code']}",
        author="石榴 Shiliu",
        topMargin=12 * mm,
        bottomMargin=10 * mm,
    ).build(story)
    return buffer.getvalue()


# Characters an .xlsx cannot hold (XML 1.0 forbids them): C0 controls but tab, LF and CR, lone
# surrogates, U+FFFE and U+FFFF. What people wrote is kept without them rather than refused.
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text starting with these is read as a formula by spreadsheets (OWASP: CSV/formula injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def writable(value):
    """A cell's value with the characters an .xlsx cannot hold left out."""
    return UNWRITABLE.sub("", value) if isinstance(value, str) else value


def _text_cell(cell) -> None:
    """Make a cell whose text people wrote hold words, never a formula: a string cell, and
    marked with Excel's quote prefix where it starts like a formula (so it stays text when
    edited, as a leading apostrophe would keep it)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list], first: bool = False):
    sheet = book.active if first else book.create_sheet()
    sheet.title = title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([writable(value) for value in row])
        for cell in sheet[sheet.max_row]:
            _text_cell(cell)
    for column in sheet.columns:
        width = max(len(str(cell.value or "")) for cell in column)
        sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width * 2))
        for cell in column:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def export_workbook(cycle: dict, candidates: list[dict], objections: list[dict], trail: list[dict]):
    """The committee's file of a cycle as .xlsx bytes: one sheet each for the cycle, candidates,
    evidence, votes, objections and the audit trail."""
    book = Workbook()
    criteria = cycle["criteria"]
    _sheet(
        book,
        "评选",
        ["项目", "内容"],
        [
            ["评选名称", cycle["title"]],
            ["单位", cycle["unit_name"]],
            ["评选期", f"{cycle['period_start']} 至 {cycle['period_end']}"],
            [
                "条件",
                f"积分≥{criteria['min_points']}，活动≥{criteria['min_activities']}场，"
                f"维度≥{criteria['min_dimensions']}，缺席≤{criteria['max_no_shows']}次",
            ],
            ["名额", cycle["quota"]],
            [
                "评审委员",
                "、".join(m["name"] or m["account_id"] for m in cycle["committee_members"]),
            ],
            ["法定人数", cycle["quorum"]],
            ["通过比例", cycle["majority"]],
            ["公示天数", cycle["notice_days"]],
            ["状态", cycle["status_label"]],
            ["公示期", f"{cycle['notice_started_on'] or ''} 至 {cycle['notice_ends_on'] or ''}"],
            ["并列决定", (cycle["tie_break"] or {}).get("reason", "")],
        ],
        first=True,
    )
    _sheet(
        book,
        "候选人",
        [
            "名次",
            "姓名",
            "单位",
            "积分",
            "活动场次",
            "时长（小时）",
            "维度数",
            "缺席次数",
            "同意",
            "不同意",
            "弃权",
            "回避",
            "结果",
            "状态",
            "事迹",
            "证书编号",
        ],
        [
            [
                c["rank"],
                c["name"],
                c["unit_name"],
                c["points"],
                c["activities"],
                float(c["hours"]),
                c["dimensions"],
                c["no_shows"],
                c["tally"]["approve"],
                c["tally"]["reject"],
                c["tally"]["abstain"],
                c["tally"]["recused"],
                OUTCOME_IN_EXPORT.get(c["tally"]["outcome"], c["tally"]["outcome"]),
                CANDIDATE_IN_EXPORT.get(c["status"], c["status"]),
                c["story"] or "",
                c["certificate_code"] or "",
            ]
            for c in candidates
        ],
    )
    _sheet(
        book,
        "证据",
        ["姓名", "类别", "日期/月份", "活动", "时长（小时）", "维度", "积分"],
        [
            row
            for c in candidates
            for row in (
                [
                    [c["name"], "月度积分", m["month"], "", "", "", m["points"]]
                    for m in c["evidence"]["points_by_month"]
                ]
                + [
                    [
                        c["name"],
                        "参加活动",
                        a["date"],
                        a["title"],
                        float(a["hours"]),
                        "、".join(DIMENSIONS.get(d, d) for d in a["dimensions"]),
                        "",
                    ]
                    for a in c["evidence"]["activities"]
                ]
                + [
                    [c["name"], "缺席", m["date"], m["title"], "", "", ""]
                    for m in c["evidence"]["no_shows"]
                ]
            )
        ],
    )
    _sheet(
        book,
        "投票",
        ["候选人", "评审委员", "投票", "意见", "投票时间", "改票时间"],
        [
            [
                c["name"],
                v["member_name"] or v["member_id"],
                VOTE_IN_EXPORT[v["decision"]],
                v["comment"],
                str(v["cast_at"]),
                str(v["changed_at"] or ""),
            ]
            for c in candidates
            for v in c["votes"]
        ],
    )
    _sheet(
        book,
        "异议",
        ["候选人", "异议理由", "提出时间", "处理结果", "处理人", "处理理由"],
        [
            [
                o["candidate_name"],
                o["reason"],
                str(o["lodged_at"]),
                ObjectionStatus(o["status"]).label,
                o["decided_by_name"] or "",
                o["decision_reason"] or "",
            ]
            for o in objections
        ],
    )
    _sheet(
        book,
        "记录",
        ["时间", "操作人", "操作", "详情"],
        [
            [
                str(t["at"]),
                t["detail"].get("by")
                or ANONYMOUS_IN_EXPORT.get(t.get("anonymous_as"), t["actor_id"]),
                t["action"],
                str({k: v for k, v in t["detail"].items() if k != "by"}),
            ]
            for t in trail
        ],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
