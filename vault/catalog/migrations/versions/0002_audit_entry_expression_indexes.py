"""audit entries indexed by the type and subject their own bytes say

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ENTRY_TYPE = "json_extract(CAST(entry AS TEXT), '$.type')"
ENTRY_SUBJECT = "json_extract(CAST(entry AS TEXT), '$.subject')"


def upgrade() -> None:
    op.create_index("ix_audit_entry_entry_type", "audit_entry", [sa.text(ENTRY_TYPE)])
    op.create_index("ix_audit_entry_entry_subject", "audit_entry", [sa.text(ENTRY_SUBJECT)])


def downgrade() -> None:
    op.drop_index("ix_audit_entry_entry_subject", table_name="audit_entry")
    op.drop_index("ix_audit_entry_entry_type", table_name="audit_entry")
