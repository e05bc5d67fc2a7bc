"""HTTP schemas of web. Messages are Chinese message ids; English comes from web/translations."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.api import PageOut
from services.common.auth import STAFF_ROLES
from services.common.fields import Text
from web.ethnic_groups import ETHNIC_GROUPS

PHONE = validate.Regexp(r"^1[3-9]\d{9}$", error="请输入 11 位中国大陆手机号")
NAME = validate.Length(min=1, max=50, error="姓名须为 1 到 50 个字符")
PASSWORD = validate.Length(max=128, error="密码最长 128 个字符")
REQUIRED = {"required": "必填"}


class TokenRequest(Schema):
    """Credentials for an access token."""

    username = Text(required=True, validate=validate.Length(max=64), error_messages=REQUIRED)
    password = Text(required=True, validate=PASSWORD, error_messages=REQUIRED)


class StaffStatementIn(Schema):
    """Accounts whose staff roles a service must be told of (an award committee)."""

    account_ids = fields.List(
        Text(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=50),
    )


class StaffRoleOut(Schema):
    """A staff role held at a unit."""

    role = fields.String()
    unit_id = fields.String()


class StaffAccountOut(Schema):
    """An account with the staff roles it holds."""

    id = fields.String()
    name = fields.String()
    roles = fields.List(fields.Nested(StaffRoleOut))


class StaffStatementOut(Schema):
    """web's signed statement (15 minutes) of the accounts' staff roles, and what it says."""

    statement = fields.String()
    accounts = fields.List(fields.Nested(StaffAccountOut))


class ContactOut(Schema):
    """How to reach an account outside the platform (for the platform's own deliveries)."""

    phone = fields.String()


class TokenOut(Schema):
    """A bearer token (15 minutes), and a refresh token for the next one (good once, 30 days)."""

    access_token = Text()
    token_type = Text()
    expires_in = fields.Integer()
    refresh_token = fields.String()
    refresh_expires_in = fields.Integer()


class RefreshRequest(Schema):
    """A refresh token to spend."""

    refresh_token = fields.String(
        required=True, validate=validate.Length(min=1, max=200), error_messages=REQUIRED
    )


class ProfileFields(Schema):
    """The parts of a volunteer profile a person fills in."""

    team_id = Text(load_default=None, allow_none=True, validate=validate.Length(max=64))
    languages = fields.List(
        Text(validate=validate.Length(min=1, max=30, error="每种语言最多 30 个字符")),
        load_default=list,
        validate=validate.Length(max=20, error="最多填写 20 种语言"),
    )
    ethnicity = Text(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(ETHNIC_GROUPS, error="请从列表中选择民族"),
    )
    ethnicity_consent = fields.Boolean(load_default=False)


class Registration(ProfileFields):
    """A resident registering as a volunteer."""

    phone = Text(required=True, validate=PHONE, error_messages=REQUIRED)
    password = Text(required=True, validate=PASSWORD, error_messages=REQUIRED)
    name = Text(required=True, validate=NAME, error_messages=REQUIRED)
    home_unit_id = Text(required=True, validate=validate.Length(max=64), error_messages=REQUIRED)


class ProfileChange(Schema):
    """Changes to one's own profile (every field optional)."""

    name = Text(validate=NAME)
    home_unit_id = Text(validate=validate.Length(max=64))
    team_id = Text(allow_none=True, validate=validate.Length(max=64))
    languages = fields.List(
        Text(validate=validate.Length(min=1, max=30)), validate=validate.Length(max=20)
    )
    ethnicity = Text(
        allow_none=True, validate=validate.OneOf(ETHNIC_GROUPS, error="请从列表中选择民族")
    )
    ethnicity_consent = fields.Boolean()


class PasswordChange(Schema):
    """A new password, given the current one."""

    current_password = Text(required=True, validate=PASSWORD, error_messages=REQUIRED)
    new_password = Text(required=True, validate=PASSWORD, error_messages=REQUIRED)


class StaffCreate(Schema):
    """A staff account with its first role."""

    username = Text(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_.-]{3,64}$", error="用户名为 3 到 64 位字母、数字、点、下划线或连字符"
        ),
    )
    name = Text(required=True, validate=NAME)
    password = Text(required=True, validate=PASSWORD)
    role = Text(
        required=True,
        validate=validate.OneOf(STAFF_ROLES, error="角色须为 organizer、committee 或 admin"),
    )
    unit_id = Text(required=True)


class RoleGrantIn(Schema):
    """A role to grant at a unit."""

    role = Text(
        required=True,
        validate=validate.OneOf(STAFF_ROLES, error="角色须为 organizer、committee 或 admin"),
    )
    unit_id = Text(required=True)


class GrantOut(Schema):
    """A role held at a unit."""

    id = fields.Integer()
    role = Text()
    unit_id = Text()
    granted_at = fields.DateTime()


class AccountOut(Schema):
    """An account as an administrator sees it: the phone number masked."""

    id = Text()
    username = fields.Method("masked_username")
    display_name = Text()
    kind = Text()
    phone = Text(attribute="masked_phone")
    home_unit_id = Text(allow_none=True)
    grants = fields.List(fields.Nested(GrantOut))
    created_at = fields.DateTime()
    disabled_at = fields.DateTime(allow_none=True)
    disabled_reason = Text(allow_none=True)

    def masked_username(self, account):
        """A volunteer's username is their phone number: mask it too."""
        return account.masked_phone if account.kind == "volunteer" else account.username


class RoleOut(Schema):
    """A role held at a unit (covering its subtree)."""

    role = Text()
    unit_id = Text()
    unit_path = Text()


class MeOut(Schema):
    """The signed-in account as its owner sees it: the full phone number, roles, profile."""

    id = Text()
    username = Text()
    display_name = Text()
    kind = Text()
    phone = Text(allow_none=True)
    roles = fields.List(fields.Nested(RoleOut))
    profile = fields.Dict(
        allow_none=True,
        metadata={"description": "the volunteer profile (null for staff); see VolunteerPrivateOut"},
    )


class AccountList(Schema):
    """Accounts found."""

    items = fields.List(fields.Nested(AccountOut))
    total = fields.Integer()


class AccountQuery(Schema):
    """Search for accounts."""

    q = Text(load_default="", validate=validate.Length(max=64))


class AuditOut(Schema):
    """One audit entry."""

    id = fields.Integer()
    at = fields.DateTime()
    actor_id = Text(allow_none=True)
    action = Text()
    subject_id = Text(allow_none=True)
    unit_path = Text(allow_none=True)
    detail = fields.Dict()


class AuditPage(PageOut):
    """A page of the audit trail."""

    items = fields.List(fields.Nested(AuditOut))


class DisableIn(Schema):
    """Why an account is disabled (kept in the audit trail and shown to administrators)."""

    reason = Text(
        required=True,
        multiline=True,
        validate=validate.Length(min=1, max=500, error="原因须为 1 到 500 个字符"),
        error_messages=REQUIRED,
    )


class ResetCodeOut(Schema):
    """A one-time code for a new password, shown to the administrator once."""

    account_id = Text()
    code = Text(metadata={"description": "10 characters, shown as ABCDE-FGHJK"})
    expires_at = fields.DateTime()


class PasswordResetIn(Schema):
    """A new password, with the one-time code from an administrator or an SMS."""

    username = Text(required=True, validate=validate.Length(max=64), error_messages=REQUIRED)
    code = Text(required=True, validate=validate.Length(max=32), error_messages=REQUIRED)
    new_password = Text(required=True, validate=PASSWORD, error_messages=REQUIRED)


class PasswordForgotIn(Schema):
    """The mobile number of a volunteer who forgot their password."""

    username = Text(required=True, validate=PHONE, error_messages=REQUIRED)


class PasswordForgotOut(Schema):
    """The same answer whether or not the number is registered."""

    detail = Text()
