"""Domain operations of services/volunteers. Each runs inside the caller's transaction."""

from services.volunteers.operations._common import (
    HOME_KINDS,
    LIVE,
    PRODUCER,
    PUBLIC_FIELDS,
    attendance_of,
    get_activity,
    shifts_of,
)
from services.volunteers.operations.admission import (
    CHECKIN_FACTS,
    CheckinRefused,
    Facts,
)
from services.volunteers.operations.attendance import (
    attendance_table,
    confirm_attendance,
    now_min,
)
from services.volunteers.operations.certificates import (
    confirmed_hours,
    issue_certificate,
    unit_names,
    verify_certificate,
)
from services.volunteers.operations.checkin import check_in
from services.volunteers.operations.checkout import check_out
from services.volunteers.operations.codes import (
    CodeRefused,
    TooManyWrongCodes,
    attempt_keys,
    checkin_code,
    checkin_scan_token,
)
from services.volunteers.operations.profiles import (
    get_volunteer,
    list_volunteers,
    save_profile,
)
from services.volunteers.operations.projections import (
    ACTIVITY_FIELDS,
    apply_activity_state,
    apply_activity_status,
)
from services.volunteers.operations.signups import (
    SignupRefused,
    cancel_signup,
    live_signup,
    my_signups,
    roster,
    sign_up,
    signup_window,
    waiting_counts,
    waitlist_position,
)

__all__ = [
    "ACTIVITY_FIELDS",
    "CHECKIN_FACTS",
    "CheckinRefused",
    "CodeRefused",
    "Facts",
    "HOME_KINDS",
    "LIVE",
    "PRODUCER",
    "PUBLIC_FIELDS",
    "SignupRefused",
    "TooManyWrongCodes",
    "apply_activity_state",
    "apply_activity_status",
    "attempt_keys",
    "attendance_of",
    "attendance_table",
    "cancel_signup",
    "check_in",
    "check_out",
    "checkin_code",
    "checkin_scan_token",
    "confirm_attendance",
    "confirmed_hours",
    "get_activity",
    "get_volunteer",
    "issue_certificate",
    "list_volunteers",
    "live_signup",
    "my_signups",
    "now_min",
    "roster",
    "save_profile",
    "shifts_of",
    "sign_up",
    "signup_window",
    "unit_names",
    "verify_certificate",
    "waiting_counts",
    "waitlist_position",
]
