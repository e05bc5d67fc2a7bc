"""The volunteer-hours certificate (志愿服务时长证明) as a PDF.

"谁组织谁记录，谁记录谁证明": every record names the unit that organized the activity and
confirmed the hours; the certificate lists them, and its verification code can be checked by
anyone at ``/api/v1/hours-certificates/<code>`` and on the public page that shows it, whose
whole address (on the configured public base URL) the certificate prints and carries as a QR code.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from services.common.documents import public_address, qr
from services.volunteers.rules import local_time

FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese without a font file
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
VERIFY_PATH = "/volunteering/verify/"  # web's public verification page


def render_certificate(
    certificate, volunteer, records: list[dict], home_unit: str, base_url: str
) -> bytes:
    """Render a certificate with its records, issuers, verification code and QR code (its
    address on ``base_url``, the configured public base URL); return PDF bytes."""
    url = public_address(base_url, VERIFY_PATH + certificate.code)
    title = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=28, alignment=1)
    body = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=18)
    small = ParagraphStyle("small", fontName=FONT, fontSize=9, leading=14, textColor=colors.grey)
    issuers = sorted({r["host_unit_name"] or r["host_unit_id"] for r in records})
    story = [
        Paragraph("志愿服务时长证明", title),
        Spacer(1, 8 * mm),
        Paragraph(
            f"兹证明 <b>{escape(volunteer.display_name)}</b>（{escape(home_unit)}）参加以下志愿服务活动，"
            f"经活动组织单位确认，累计志愿服务时长 <b>{certificate.total_hours}</b> 小时，"
            f"共 {certificate.records} 次。",
            body,
        ),
        Spacer(1, 6 * mm),
    ]
    rows = [["日期", "活动", "组织与记录单位", "时长（小时）"]]
    rows += [
        [
            r["activity_date"].isoformat(),
            Paragraph(escape(r["title"]), body),
            Paragraph(escape(r["host_unit_name"] or r["host_unit_id"]), body),
            str(r["hours"]),
        ]
        for r in records
    ]
    table = Table(rows, colWidths=[28 * mm, 70 * mm, 52 * mm, 24 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 10),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#fbe9e7")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 8 * mm),
        Paragraph(f"证明单位（谁组织谁记录，谁记录谁证明）：{escape('、'.join(issuers))}", body),
        Paragraph("出具平台：石榴 · 城市民族工作活动与志愿服务平台", body),
        Paragraph(f"出具时间：{local_time(certificate.issued_at, '%Y年%m月%d日 %H:%M')}", body),
        Spacer(1, 4 * mm),
        Paragraph(f"验证编号：{certificate.code}", body),
        Spacer(1, 2 * mm),
        qr(url, 28 * mm),
        Paragraph(f"任何人可扫码或访问 {escape(url)} 验证本证明", small),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"志愿服务时长证明 {certificate.code}",
        author="石榴 Shiliu",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    document.build(story)
    return buffer.getvalue()
