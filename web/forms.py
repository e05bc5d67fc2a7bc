"""The page forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from web.ethnic_groups import ETHNIC_GROUPS
from web.i18n import _

ROLE_CHOICES = (("organizer", "活动组织者"), ("committee", "评审委员"), ("admin", "管理员"))
UNIT_KIND_CHOICES = (
    ("district", "区/县"),
    ("street", "街道/镇"),
    ("community", "社区/村"),
    ("enterprise", "企业"),
    ("school", "学校"),
    ("social_organization", "社会组织"),
    ("volunteer_team", "志愿服务队"),
)


class LoginForm(FlaskForm):
    """Sign in."""

    username = StringField("手机号或用户名", validators=[DataRequired("必填"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("必填"), Length(max=128)])


class ProfileForm(FlaskForm):
    """The fields of a volunteer profile."""

    name = StringField("姓名", validators=[DataRequired("必填"), Length(max=50)])
    home_unit_id = SelectField("所在社区", validators=[DataRequired("必填")])
    team_id = SelectField("志愿服务队（可选）", validators=[Optional()])
    languages = StringField("会说的语言（可选，用逗号分隔）", validators=[Length(max=300)])
    ethnicity = SelectField(
        "民族（可选）", choices=[("", "不填写")] + [(e, e) for e in ETHNIC_GROUPS]
    )
    ethnicity_consent = BooleanField("我同意平台保存我的民族信息，仅用于不少于 5 人的汇总统计")

    def fill_choices(self, communities, teams) -> None:
        """Offer the known communities and teams."""
        self.home_unit_id.choices = [("", _("请选择"))] + [(u.unit_id, u.name) for u in communities]
        self.team_id.choices = [("", _("不参加"))] + [(u.unit_id, u.name) for u in teams]

    def profile(self) -> dict:
        """The profile fields as the operations take them."""
        languages = [
            part.strip() for part in (self.languages.data or "").replace("，", ",").split(",")
        ]
        return {
            "name": self.name.data.strip(),
            "home_unit_id": self.home_unit_id.data,
            "team_id": self.team_id.data or None,
            "languages": [part for part in languages if part],
            "ethnicity": self.ethnicity.data or None,
            "ethnicity_consent": bool(self.ethnicity_consent.data),
        }


class RegistrationForm(ProfileForm):
    """A resident registers."""

    phone = StringField("手机号", validators=[DataRequired("必填"), Length(max=20)])
    password = PasswordField(
        "密码（至少 8 位，含字母和数字）", validators=[DataRequired("必填"), Length(max=128)]
    )


class PasswordForm(FlaskForm):
    """Change one's password."""

    current_password = PasswordField("当前密码", validators=[DataRequired("必填")])
    new_password = PasswordField(
        "新密码（至少 8 位，含字母和数字）", validators=[DataRequired("必填")]
    )


class GrantForm(FlaskForm):
    """Grant a role at a unit."""

    role = SelectField("角色", choices=ROLE_CHOICES)
    unit_id = SelectField("单位", validators=[DataRequired("必填")])


class StaffForm(FlaskForm):
    """Create a staff account."""

    username = StringField("用户名", validators=[DataRequired("必填"), Length(max=64)])
    name = StringField("姓名", validators=[DataRequired("必填"), Length(max=50)])
    password = PasswordField("初始密码", validators=[DataRequired("必填")])
    role = SelectField("角色", choices=ROLE_CHOICES)
    unit_id = SelectField("单位", validators=[DataRequired("必填")])


class UnitForm(FlaskForm):
    """Add a unit under a parent."""

    name = StringField("名称", validators=[DataRequired("必填"), Length(max=100)])
    kind = SelectField("类型", choices=UNIT_KIND_CHOICES)
    parent_id = SelectField("上级单位", validators=[DataRequired("必填")])


class UnitChangeForm(FlaskForm):
    """Rename or move a unit."""

    unit_id = SelectField("单位", validators=[DataRequired("必填")])
    name = StringField("新名称（不改则留空）", validators=[Length(max=100)])
    parent_id = SelectField("移到新的上级（不移则留空）", validators=[Optional()])


class SearchForm(FlaskForm):
    """Search accounts."""

    class Meta:
        csrf = False

    q = StringField("手机号、用户名或姓名", validators=[Length(max=64)])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (sign out, revoke)."""
