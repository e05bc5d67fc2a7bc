"""The page forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import get_translations
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget

from events.vocabulary import CATEGORIES, DIMENSIONS
from services.common.fields import MESSAGES, date_in_range, text_problem
from web.ethnic_groups import ETHNIC_GROUPS
from web.i18n import _, current_locale, render
from web.schemas import Registration

# Labels, descriptions and messages below are Chinese message ids: the templates translate
# them, and the option labels are translated when a form is built (the choices are callables).
ROLES = {"organizer": "活动组织者", "committee": "评审委员", "admin": "管理员"}
UNIT_KINDS = {
    "district": "区/县",
    "street": "街道/镇",
    "community": "社区/村",
    "enterprise": "企业",
    "school": "学校",
    "social_organization": "社会组织",
    "volunteer_team": "志愿服务队",
}
PASSWORD_RULE = "至少 8 位，须同时包含字母和数字"


def _options(labels: dict[str, str]):
    return lambda: [SelectChoice(value, _(label)) for value, label in labels.items()]


def _ethnic_groups() -> list[SelectChoice]:
    return [SelectChoice("", _("不填写"))] + [SelectChoice(e, _(e)) for e in ETHNIC_GROUPS]


@cache
def _wtforms_chinese():
    return get_translations(["zh"])


class Form(FlaskForm):
    """A page form whose built-in validator messages follow the page's language."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            """WTForms' own Chinese messages on Chinese pages, its English ones otherwise."""
            return _wtforms_chinese() if current_locale() == "zh" else None

    def validate(self, extra_validators=None):
        """WTForms' validation, then the platform's input rules (``services.common.fields``) on
        every text field (text areas keep their line breaks and tabs) and every date."""
        valid = super().validate(extra_validators)
        for field in self:
            problem = None
            if isinstance(field, StringField) and isinstance(field.data, str):
                problem = text_problem(field.data, multiline=isinstance(field, TextAreaField))
            elif isinstance(field.data, date):
                day = field.data.date() if isinstance(field.data, datetime) else field.data
                problem = None if date_in_range(day) else "date_range"
            if problem:
                field.errors = [*field.errors, _(MESSAGES[problem])]
                valid = False
        self._errors = None
        return valid


def _sign_in_name() -> StringField:
    """What a person signs in with (a volunteer's mobile number or a staff username): signing in
    and setting a new password with a code ask for it alike, so browsers fill it in alike."""
    return StringField(
        "手机号或用户名",
        validators=[DataRequired("必填"), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )


class LoginForm(Form):
    """Sign in."""

    username = _sign_in_name()
    password = PasswordField(
        "密码",
        validators=[DataRequired("必填"), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


class ProfileForm(Form):
    """The fields of a volunteer profile."""

    name = StringField(
        "姓名",
        validators=[DataRequired("必填"), Length(max=50)],
        render_kw={"autocomplete": "name"},
    )
    home_unit_id = SelectField("所在社区", validators=[DataRequired("必填")])
    team_id = SelectField("志愿服务队（可选）", validators=[Optional()])
    languages = StringField(
        "会说的语言（可选）",
        description="用逗号分隔，例如：普通话，维吾尔语",
        validators=[Length(max=300)],
    )
    ethnicity = SelectField("民族（可选）", choices=_ethnic_groups)
    ethnicity_consent = BooleanField("我同意平台保存我的民族信息，仅用于不少于 5 人的汇总统计")

    def fill_choices(self, communities, teams) -> None:
        """Offer the known communities and teams."""
        self.home_unit_id.choices = [SelectChoice("", _("请选择"))] + [
            SelectChoice(u.unit_id, u.name) for u in communities
        ]
        self.team_id.choices = [SelectChoice("", _("不参加"))] + [
            SelectChoice(u.unit_id, u.name) for u in teams
        ]

    def profile(self) -> dict:
        """The profile fields as the operations take them."""
        languages = [
            part.strip() for part in (self.languages.data or "").replace("，", ",").split(",")
        ]
        return {
            "name": (self.name.data or "").strip(),
            "home_unit_id": self.home_unit_id.data,
            "team_id": self.team_id.data or None,
            "languages": [part for part in languages if part],
            "ethnicity": self.ethnicity.data or None,
            "ethnicity_consent": bool(self.ethnicity_consent.data),
        }


class RegistrationForm(ProfileForm):
    """A resident registers."""

    phone = TelField(
        "手机号",
        description="11 位中国大陆手机号，以后用它登录",
        validators=[DataRequired("必填"), Length(max=20)],
        render_kw={"autocomplete": "tel", "inputmode": "numeric", "maxlength": 20},
    )
    password = PasswordField(
        "密码",
        description=PASSWORD_RULE,
        validators=[DataRequired("必填"), Length(max=128)],
        render_kw={"autocomplete": "new-password"},
    )

    def checked(self, session, records_problems) -> dict | None:
        """The registration, when nothing is wrong with it; else None, with every mistake placed
        beside its field at once: the form's own checks, the schema's and the records' (community,
        password strength, consent, a number already registered: ``records_problems``)."""
        valid = self.validate_on_submit()
        data = {
            **self.profile(),
            "phone": (self.phone.data or "").strip(),
            "password": self.password.data or "",
        }
        found = {name: list(messages) for name, messages in Registration().validate(data).items()}
        for problem in records_problems(session, data):
            for name, messages in problem.errors.items():
                found.setdefault(name, []).extend(messages)
        for name, messages in found.items():
            field = getattr(self, name, None)
            if field is not None:
                known = list(field.errors or [])
                field.errors = known + [m for m in map(render, messages) if m not in known]
        return data if valid and not found else None


class PasswordForm(Form):
    """Change one's password."""

    current_password = PasswordField(
        "当前密码",
        validators=[DataRequired("必填")],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "新密码",
        description=PASSWORD_RULE,
        validators=[DataRequired("必填")],
        render_kw={"autocomplete": "new-password"},
    )


class DisableForm(Form):
    """Why an administrator disables an account."""

    reason = StringField(
        "停用原因",
        description="会记入审计记录，并显示给管理员",
        validators=[DataRequired("必填"), Length(max=500)],
    )


class ForgotForm(Form):
    """A volunteer who forgot their password asks for a code by SMS."""

    username = TelField(
        "手机号",
        description="注册时填写的手机号",
        validators=[
            DataRequired("必填"),
            Regexp(r"^1[3-9]\d{9}$", message="请输入 11 位中国大陆手机号"),
        ],
        render_kw={"autocomplete": "tel", "inputmode": "numeric", "maxlength": 20},
    )


class ResetForm(Form):
    """A new password, with a one-time code."""

    username = _sign_in_name()
    code = StringField(
        "验证码",
        description="短信或管理员给你的 10 位验证码，例如 ABCDE-FGHJK",
        validators=[DataRequired("必填"), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "characters"},
    )
    new_password = PasswordField(
        "新密码",
        description=PASSWORD_RULE,
        validators=[DataRequired("必填"), Length(max=128)],
        render_kw={"autocomplete": "new-password"},
    )


class GrantForm(Form):
    """Grant a role at a unit."""

    role = SelectField("角色", choices=_options(ROLES))
    unit_id = SelectField("单位", validators=[DataRequired("必填")])


class StaffForm(Form):
    """Create a staff account."""

    username = StringField(
        "用户名",
        validators=[DataRequired("必填"), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    name = StringField("姓名", validators=[DataRequired("必填"), Length(max=50)])
    password = PasswordField(
        "初始密码",
        description=PASSWORD_RULE,
        validators=[DataRequired("必填")],
        render_kw={"autocomplete": "new-password"},
    )
    role = SelectField("角色", choices=_options(ROLES))
    unit_id = SelectField("单位", validators=[DataRequired("必填")])


class UnitForm(Form):
    """Add a unit under a parent."""

    name = StringField("名称", validators=[DataRequired("必填"), Length(max=100)])
    kind = SelectField("类型", choices=_options(UNIT_KINDS))
    parent_id = SelectField("上级单位", validators=[DataRequired("必填")])


class UnitChangeForm(Form):
    """Rename or move a unit."""

    unit_id = SelectField("单位", validators=[DataRequired("必填")])
    name = StringField("新名称（不改则留空）", validators=[Length(max=100)])
    parent_id = SelectField("移到新的上级（不移则留空）", validators=[Optional()])


class SearchForm(Form):
    """Search accounts."""

    class Meta:
        csrf = False

    q = StringField("手机号、用户名或姓名", validators=[Length(max=64)])


class EmptyForm(Form):
    """A form with only its CSRF token (sign out, revoke)."""


class ShiftForm(Form):
    """One shift row of the activity form (a blank row is ignored)."""

    class Meta(Form.Meta):
        csrf = False

    id = HiddenField()
    name = StringField("岗位名称", validators=[Optional(), Length(max=50)])
    capacity = IntegerField("名额", validators=[Optional(), NumberRange(min=1, max=10000)])
    hour_weight = StringField("时长系数（可选）", validators=[Optional(), Length(max=5)])


class ActivityForm(Form):
    """Create or change an activity: everything a volunteer needs to decide, in a minute."""

    title = StringField("活动名称", validators=[DataRequired("必填"), Length(max=100)])
    category = SelectField("活动类别", choices=_options(CATEGORIES))
    dimensions = SelectMultipleField(
        "嵌入维度（至少选一项）",
        choices=_options(DIMENSIONS),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    host_unit_id = SelectField("主办单位", validators=[DataRequired("必填")])
    starts_at = DateTimeLocalField(
        "开始时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("必填")]
    )
    ends_at = DateTimeLocalField(
        "结束时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("必填")]
    )
    address = StringField("活动地点", validators=[Length(max=200)])
    description = TextAreaField("活动简介", validators=[Length(max=5000)])
    signup_closes_at = DateTimeLocalField(
        "报名截止（可选）",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description="不填则开始前都可报名",
    )
    walk_ins_allowed = BooleanField("允许未报名的居民现场签到")
    shifts = FieldList(FormField(ShiftForm), min_entries=3, max_entries=30)


class CancelForm(Form):
    """Why the activity is called off."""

    reason = StringField(
        "取消原因（会告知已报名的志愿者）",
        validators=[DataRequired("必填"), Length(min=2, max=500)],
    )


class CopyForm(Form):
    """New dates for a copy."""

    starts_at = DateTimeLocalField(
        "新的开始时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("必填")]
    )
    ends_at = DateTimeLocalField(
        "新的结束时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("必填")]
    )


class AwardCycleForm(Form):
    """A 民族团结之星 cycle: the period, who may be a candidate, and who decides how (DESIGN §7
    defaults). The ledger's API checks the numbers; its messages are shown beside the fields."""

    title = StringField("评选名称", validators=[DataRequired("必填"), Length(max=100)])
    unit_id = SelectField("评选单位", validators=[DataRequired("必填")])
    period_start = DateField("评选期开始", validators=[DataRequired("必填")])
    period_end = DateField("评选期结束", validators=[DataRequired("必填")])
    min_points = IntegerField("评选期内积分不少于", default=200, validators=[Optional()])
    min_activities = IntegerField("参加活动不少于（次）", default=6, validators=[Optional()])
    min_dimensions = IntegerField(
        "覆盖的嵌入维度不少于（共 5 个）", default=3, validators=[Optional()]
    )
    max_no_shows = IntegerField("报名后缺席不超过（次）", default=2, validators=[Optional()])
    quota = IntegerField("表彰名额", validators=[InputRequired("必填")])
    committee = SelectMultipleField(
        "评审委员",
        description="从工作人员账号中选择；委员不对本人及同一志愿服务队的候选人投票",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    quorum = IntegerField(
        "法定人数（可选）",
        description="至少这么多委员投票，决定才有效；不填则为委员人数的过半数",
        validators=[Optional()],
    )
    majority = StringField(
        "通过比例",
        default="0.667",
        description="赞成票占所投票数的比例，0.667 即三分之二",
        validators=[Length(max=10)],
    )
    notice_days = IntegerField("公示天数", default=5, validators=[Optional()])
