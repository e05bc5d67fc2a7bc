"""The statistics report as an Excel workbook (openpyxl): 总计, one sheet per breakdown (下级单位,
月份, 类别, 维度) and 活动台账, the activities one line each — what an inspection asks for.

A count that involves ethnicity is written as words where the service does not give it (fewer
than five: ``不足 5，不显示``), never as a number.
"""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from events.vocabulary import CATEGORIES, DIMENSIONS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_SHOWN = "不足 5，不显示"
# The figures of a unit, a month or a breakdown's row: the key in the API and the heading (the
# statistics page shows the same ones, in the same order).
FIGURES = (
    ("activities_held", "活动场次"),
    ("attendances", "服务人次"),
    ("volunteers", "参与志愿者数"),
    ("hours", "志愿服务时长（小时）"),
    ("audience", "受众人次"),
    ("no_shows", "未到人次"),
    ("no_show_rate", "未到率"),
    ("new_volunteers", "新注册志愿者"),
    ("stars_awarded", "民族团结之星"),
)
SANJIAO = ("三交：已知民族数的活动", "三交：3 个及以上民族的活动", "三交指数")
BREAKDOWNS = (("unit", "下级单位", "单位"), ("month", "月份", "月份"))
BREAKDOWNS += (("category", "类别", "类别"), ("dimension", "维度", "维度"))
LEDGER = ("日期", "活动", "主办单位", "类别", "维度", "服务人次", "志愿服务时长（小时）")
LEDGER += ("受众人次", "民族数")


def _sanjiao(figures: dict) -> list:
    index = figures["sanjiao"]
    if not index["shown"]:
        return [index["activities_with_groups_known"], NOT_SHOWN, NOT_SHOWN]
    return [
        index["activities_with_groups_known"],
        index["activities_with_three_or_more_groups"],
        index["share"],
    ]


def _figures(figures: dict) -> list:
    return [figures[key] for key, _label in FIGURES] + _sanjiao(figures)


def _fit(sheet) -> None:
    for number, column in enumerate(sheet.columns, start=1):
        longest = max(len(str(cell.value or "")) for cell in column)
        sheet.column_dimensions[get_column_letter(number)].width = min(60, 4 + longest * 1.6)


def workbook(reports: dict, activities: list[dict]) -> bytes:
    """The workbook of the reports by unit, month, category and dimension, and the 台账."""
    book = Workbook()
    by_unit = reports["unit"]
    unit = by_unit["unit"]
    totals = book.active
    totals.title = "总计"
    totals.append(["单位", unit["name"]])
    totals.append(["时段", f"{by_unit['from']} 至 {by_unit['to']}"])
    totals.append([])
    totals.append(["指标", "数值"])
    headings = [label for _key, label in FIGURES] + list(SANJIAO)
    for heading, value in zip(headings, _figures(by_unit["totals"]), strict=True):
        totals.append([heading, value])
    totals.append([])
    totals.append(
        [
            "三交指数：参加活动并同意提供民族信息的志愿者不少于 5 人的活动中，来自 3 个及以上"
            "民族的活动所占比例；涉及民族的数字不足 5 的不显示。"
        ]
    )
    _fit(totals)
    labels = {"category": CATEGORIES, "dimension": DIMENSIONS}
    for by, title, first in BREAKDOWNS:
        sheet = book.create_sheet(title)
        sheet.append([first, *headings])
        for row in reports[by]["rows"]:
            label = row["label"]
            if by == "unit" and row["key"] == unit["unit_id"]:
                label = f"{unit['name']}（本级）"
            sheet.append([labels.get(by, {}).get(row["key"], label), *_figures(row)])
        _fit(sheet)
    ledger = book.create_sheet("活动台账")
    ledger.append(list(LEDGER))
    for item in activities:
        ledger.append(
            [
                item["day"],
                item["title"],
                item["host"],
                CATEGORIES.get(item["category"], item["category"]),
                "、".join(DIMENSIONS.get(d, d) for d in item["dimensions"]),
                item["attendances"],
                item["hours"],
                item["audience"],
                item["distinct_groups"] if item["distinct_groups"] is not None else NOT_SHOWN,
            ]
        )
    _fit(ledger)
    out = BytesIO()
    book.save(out)
    return out.getvalue()
