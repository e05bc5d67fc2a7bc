"""What is told, to whom, and in which words: every kind of message with its Chinese template
(the catalog key web translates), whether it is urgent (sent on outside channels even in quiet
hours), whether it goes to outside channels at all, and whether a person may turn it off.

Values a message is filled with are kept on it; the activity's title, time and place and the
award cycle's title are filled in when it is read or sent, from what the service knows then, so a
reminder always tells the activity's current time and place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of message."""

    name: str
    template: str  # the Chinese text with {names}: the catalog key
    label: str  # what the preferences page calls it
    audience: str  # volunteers, organizers, committee, residents
    urgent: bool = False
    outside: bool = False  # also sent by SMS / WeChat (when the person allows it)
    essential: bool = False  # cannot be turned off: it changes where a person must be


KINDS = {
    kind.name: kind
    for kind in (
        Kind(
            "signup_confirmed",
            "报名成功：「{title}」，{when}，{address}",
            "报名成功",
            "volunteers",
        ),
        Kind(
            "signup_waitlisted",
            "「{title}」已报满，你在候补名单第 {position} 位；有人取消时按顺序递补",
            "进入候补",
            "volunteers",
        ),
        Kind(
            "signup_promoted",
            "你已从候补转为正式报名：「{title}」，{when}，{address}",
            "候补转正",
            "volunteers",
            urgent=True,
            outside=True,
            essential=True,
        ),
        Kind(
            "signup_removed",
            "组织者取消了你在「{title}」的报名：{reason}",
            "报名被取消",
            "volunteers",
            outside=True,
            essential=True,
        ),
        Kind(
            "activity_changed",
            "「{title}」的时间或地点有变化，现在是：{when}，{address}",
            "活动变更",
            "volunteers",
            urgent=True,
            outside=True,
            essential=True,
        ),
        Kind(
            "activity_cancelled",
            "「{title}」（{when}）已取消：{reason}",
            "活动取消",
            "volunteers",
            urgent=True,
            outside=True,
            essential=True,
        ),
        Kind(
            "reminder_day_before",
            "明天见：「{title}」，{when}，{address}。还能来吗？",
            "活动前一天提醒",
            "volunteers",
            outside=True,
        ),
        Kind(
            "reminder_two_hours",
            "两小时后开始：「{title}」，{when}，{address}。还能来吗？",
            "开始前两小时提醒",
            "volunteers",
            urgent=True,
            outside=True,
        ),
        Kind(
            "hours_confirmed",
            "「{title}」的服务时长已确认：{hours} 小时，获得 {points} 积分",
            "时长确认",
            "volunteers",
        ),
        Kind(
            "adjustment_approved",
            "你的积分调整已获批准：{points} 积分",
            "积分调整",
            "volunteers",
        ),
        Kind(
            "star_reached",
            "恭喜！你累计服务满 {hours} 小时，成为 {stars} 星志愿者",
            "星级志愿者",
            "volunteers",
            outside=True,
        ),
        Kind(
            "award_won",
            "恭喜！你当选「{title}」民族团结之星，证书编号 {code}",
            "民族团结之星",
            "volunteers",
            outside=True,
        ),
        Kind(
            "votes_waiting",
            "「{title}」已开始评选：{count} 位候选人等你投票",
            "待投票",
            "committee",
        ),
        Kind(
            "tie_to_decide",
            "「{title}」有 {count} 位候选人在名额线上并列，需委员会决定 {places} 个名额",
            "并列待决定",
            "committee",
        ),
        Kind(
            "objection_to_decide",
            "「{title}」公示期间收到一条异议，等待委员会处理",
            "异议待处理",
            "committee",
        ),
        Kind(
            "objection_decided",
            "你对「{title}」公示提出的异议已处理：{decision}",
            "异议处理结果",
            "residents",
            outside=True,
        ),
        Kind(
            "shift_full",
            "「{title}」的岗位「{shift}」已报满（{capacity} 人）",
            "岗位报满",
            "organizers",
        ),
        Kind(
            "late_cancellation",
            "{name} 在「{title}」开始前 24 小时内取消了报名（{when}）",
            "临近开始取消",
            "organizers",
        ),
    )
}

ANSWERS = ("coming", "not_coming")  # a reminder's one-tap answers
REMINDER_KINDS = ("reminder_day_before", "reminder_two_hours")
OBJECTION_DECISIONS = {"upheld": "成立", "dismissed": "不成立"}
