"""clip.truncated

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

``clip.truncated`` says the media check found the clip cut short (an upload
that ended early): its bytes are kept and it is shown as truncated.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("truncated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_column("truncated")
