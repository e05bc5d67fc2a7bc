"""Sign-ups, check-in, attendance and hours certificates."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "activity_views",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("host_unit_id", sa.String(length=64), nullable=False),
        sa.Column("host_unit_path", sa.String(length=512), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signup_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signup_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walk_ins_allowed", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("latitude", sa.String(length=16), nullable=True),
        sa.Column("longitude", sa.String(length=16), nullable=True),
        sa.Column("checkin_radius_m", sa.Integer(), nullable=True),
        sa.Column("checkin_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("checkin_secret", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    op.create_index(op.f("ix_activity_views_host_unit_path"), "activity_views", ["host_unit_path"])
    op.create_index(op.f("ix_activity_views_starts_at"), "activity_views", ["starts_at"])

    op.create_table(
        "hours_certificates",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("total_hours", sa.String(length=16), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(op.f("ix_hours_certificates_digest"), "hours_certificates", ["digest"])
    op.create_index(
        op.f("ix_hours_certificates_volunteer_id"), "hours_certificates", ["volunteer_id"]
    )

    op.create_table(
        "attendance",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("signup_id", sa.String(length=64), nullable=True),
        sa.Column("shift_id", sa.String(length=64), nullable=True),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_method", sa.String(length=16), nullable=True),
        sa.Column("checked_in_by", sa.String(length=64), nullable=True),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_out_by", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hours", sa.String(length=8), nullable=True),
        sa.Column("hours_reason", sa.Text(), nullable=True),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity_views.activity_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("activity_id", "volunteer_id", name="uq_attendance_once"),
    )
    op.create_index(op.f("ix_attendance_volunteer_id"), "attendance", ["volunteer_id"])

    op.create_table(
        "shift_views",
        sa.Column("shift_id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("hour_weight", sa.String(length=16), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity_views.activity_id"],
        ),
        sa.PrimaryKeyConstraint("shift_id"),
    )
    op.create_index(op.f("ix_shift_views_activity_id"), "shift_views", ["activity_id"])

    op.create_table(
        "signups",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("shift_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queue_no", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity_views.activity_id"],
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"],
            ["shift_views.shift_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signups_queue", "signups", ["shift_id", "status", "queue_no"])
    op.create_index(op.f("ix_signups_volunteer_id"), "signups", ["volunteer_id"])
    op.create_index(
        "uq_signups_live",
        "signups",
        ["activity_id", "volunteer_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')"),
        postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"),
    )


def downgrade() -> None:

    op.drop_table("signups")

    op.drop_table("shift_views")

    op.drop_table("attendance")

    op.drop_table("hours_certificates")

    op.drop_table("activity_views")
