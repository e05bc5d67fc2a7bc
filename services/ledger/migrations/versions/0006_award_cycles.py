"""Award cycles."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "award_cycles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("unit_path", sa.String(length=512), nullable=False),
        sa.Column("unit_name", sa.String(length=100), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("min_points", sa.Integer(), nullable=False),
        sa.Column("min_activities", sa.Integer(), nullable=False),
        sa.Column("min_dimensions", sa.Integer(), nullable=False),
        sa.Column("max_no_shows", sa.Integer(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("majority_permille", sa.Integer(), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tie_break", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_started_on", sa.Date(), nullable=True),
        sa.Column("notice_ends_on", sa.Date(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_award_cycles_status"), "award_cycles", ["status"])
    op.create_index(op.f("ix_award_cycles_unit_id"), "award_cycles", ["unit_id"])
    op.create_index(op.f("ix_award_cycles_unit_path"), "award_cycles", ["unit_path"])

    op.create_table(
        "award_candidates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("home_unit_id", sa.String(length=64), nullable=False),
        sa.Column("home_unit_name", sa.String(length=100), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hours_halves", sa.Integer(), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("no_shows", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("story", sa.Text(), nullable=True),
        sa.Column("nominated_by", sa.String(length=64), nullable=True),
        sa.Column("nominated_by_name", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["award_cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "volunteer_id", name="uq_award_candidates_volunteer"),
    )
    op.create_index("ix_award_candidates_cycle", "award_candidates", ["cycle_id", "position"])

    op.create_table(
        "award_committee_members",
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["award_cycles.id"],
        ),
        sa.PrimaryKeyConstraint("cycle_id", "account_id"),
    )
    op.create_index(
        op.f("ix_award_committee_members_account_id"), "award_committee_members", ["account_id"]
    )

    op.create_table(
        "award_certificates",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["award_candidates.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["award_cycles.id"],
        ),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("candidate_id", name="uq_award_certificates_candidate"),
    )
    op.create_index(op.f("ix_award_certificates_cycle_id"), "award_certificates", ["cycle_id"])
    op.create_index(
        op.f("ix_award_certificates_volunteer_id"), "award_certificates", ["volunteer_id"]
    )

    op.create_table(
        "award_objections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("lodged_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_by_name", sa.String(length=50), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["award_candidates.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["award_cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("candidate_id", "lodged_by", name="uq_award_objections_once"),
    )
    op.create_index(op.f("ix_award_objections_cycle_id"), "award_objections", ["cycle_id"])

    op.create_table(
        "award_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("member_name", sa.String(length=50), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["award_candidates.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["award_cycles.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "candidate_id", "member_id", name="uq_award_votes_once"),
    )


def downgrade() -> None:
    op.drop_table("award_votes")

    op.drop_table("award_objections")

    op.drop_table("award_certificates")

    op.drop_table("award_committee_members")

    op.drop_table("award_candidates")

    op.drop_table("award_cycles")
