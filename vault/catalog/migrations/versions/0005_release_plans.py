"""release plans and per-camera sound

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``decision.release`` is the release plan the owner signed with the decision
(the minimisations chosen and each clip's operations, canonical JSON; NULL for
refusals and for decisions from before plans existed, which release whole
clips). ``camera.export_audio`` false removes the sound from every export of
that camera.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: other tables' foreign keys point at both tables, so
    # they must not be rebuilt the way batch mode does.
    op.add_column("decision", sa.Column("release", sa.String(), nullable=True))
    op.add_column(
        "camera",
        sa.Column("export_audio", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("camera", "export_audio")
    op.drop_column("decision", "release")
