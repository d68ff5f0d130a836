"""drop folder identity, capture-time fallback

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

``camera_folder.identity`` is the folder's ``device:inode`` recorded at
``camera add``: the daemon seals only from the folder it was given, never from
whatever a symlink or a swapped folder points at. ``clip.captured_from_mtime``
says the capture time came from the file's mtime because its name did not match
the camera's ``--pattern``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("camera_folder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity", sa.String(), nullable=True))
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "captured_from_mtime", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_column("captured_from_mtime")
    with op.batch_alter_table("camera_folder", schema=None) as batch_op:
        batch_op.drop_column("identity")
