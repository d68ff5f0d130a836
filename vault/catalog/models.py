"""SQLModel tables of the catalog.

Times are timezone-aware UTC datetimes; SQLite keeps them as ISO text in UTC
without an offset, so text order is time order. The audit tables keep their own RFC 3339 strings because
the exact text is part of what is hashed.

Schema changes go through Alembic (``vault/catalog/migrations``); a change here
without a migration fails ``tests/catalog/test_migrations.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, UniqueConstraint, text
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlmodel import Column, Field, SQLModel

from vault.catalog.expressions import ENTRY_SUBJECT, ENTRY_TYPE


class Meta(SQLModel, table=True):
    """Vault-wide facts: the vault id, the audit origin line."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class Camera(SQLModel, table=True):
    __tablename__ = "camera"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    pattern: str | None = None  # strftime pattern that reads capture time from file names
    retention_days: int = 0  # 0 keeps clips forever
    created_at: datetime
    # False: every export of this camera's footage has its sound removed.
    export_audio: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})


class CameraFolder(SQLModel, table=True):
    __tablename__ = "camera_folder"
    id: int | None = Field(default=None, primary_key=True)
    camera_id: int = Field(foreign_key="camera.id", index=True)
    path: str = Field(unique=True)
    # "device:inode" of the folder when it was added (None: added before this
    # was recorded; the daemon records it when it first sees the folder).
    identity: str | None = None


class Clip(SQLModel, table=True):
    __tablename__ = "clip"
    __table_args__ = (
        UniqueConstraint("camera_id", "sha256", name="uq_clip_camera_sha256"),
        Index("ix_clip_camera_captured", "camera_id", "captured_at"),
        Index("ix_clip_captured", "captured_at"),
    )
    id: str = Field(primary_key=True)
    camera_id: int = Field(foreign_key="camera.id")
    captured_at: datetime
    ingested_at: datetime
    size: int  # plaintext bytes
    sha256: str  # hex SHA-256 of the plaintext
    payload_size: int
    payload_sha256: str  # hex SHA-256 of the stored age payload
    # The age header holds the only wrapped copy of the file key: deleting it
    # (with secure_delete on) shreds every copy of the payload at once.
    header: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    original_name: str  # for display; odd bytes escaped
    source_path: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    container: str | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    shredded_at: datetime | None = None
    # The name did not match the camera's --pattern: captured_at is the mtime.
    captured_from_mtime: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa_false()}
    )
    # The media check found the clip cut short (an upload that ended early):
    # its bytes are kept, and it is shown as truncated, never trusted as whole.
    truncated: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entry_type", text(ENTRY_TYPE)),
        Index("ix_audit_entry_entry_subject", text(ENTRY_SUBJECT)),
    )
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str
    type: str = Field(index=True)
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditNode(SQLModel, table=True):
    """Hash of the perfect subtree covering leaves [pos*2**level, (pos+1)*2**level)."""

    __tablename__ = "audit_node"
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    pos: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(index=True)
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str
    created_at: str


class Request(SQLModel, table=True):
    __tablename__ = "request"
    __table_args__ = (Index("ix_request_status_created", "status", "created_at"),)
    id: str = Field(primary_key=True)
    created_at: datetime
    updated_at: datetime
    status: str  # see vault.requests.Status
    requester: str
    organisation: str
    kind: str
    contact: str | None = None
    basis: str
    reference: str | None = None
    reason: str
    scope_from: datetime
    scope_to: datetime
    deadline: datetime | None = None
    recipient: str | None = None  # requester's age recipient for encrypted delivery


class RequestCamera(SQLModel, table=True):
    __tablename__ = "request_camera"
    request_id: str = Field(foreign_key="request.id", primary_key=True)
    camera_id: int = Field(foreign_key="camera.id", primary_key=True)


class Attachment(SQLModel, table=True):
    """A document filed with a request (a warrant PDF), sealed like a clip."""

    __tablename__ = "attachment"
    id: str = Field(primary_key=True)
    request_id: str = Field(foreign_key="request.id", index=True)
    name: str
    size: int
    sha256: str
    payload_sha256: str
    header: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    added_at: datetime


class Decision(SQLModel, table=True):
    __tablename__ = "decision"
    id: str = Field(primary_key=True)
    request_id: str = Field(foreign_key="request.id", unique=True)
    outcome: str  # approved | partly_approved | refused
    reason: str
    terms: str | None = None
    expires_at: datetime | None = None
    decided_at: datetime
    audit_index: int
    receipt: str  # canonical JSON of the signed receipt
    # Canonical JSON of the release plan the owner signed (vault.transform.plan):
    # the minimisations chosen and every clip's operations. None: whole clips
    # (a refusal, or a decision from before plans existed).
    release: str | None = None


class DecisionClip(SQLModel, table=True):
    """A clip the decision releases. Refusals have none."""

    __tablename__ = "decision_clip"
    decision_id: str = Field(foreign_key="decision.id", primary_key=True)
    clip_id: str = Field(primary_key=True, index=True)
    # Kept here so a receipt can still name a clip after it was shredded.
    camera: str
    captured_at: datetime
    size: int
    sha256: str


class Export(SQLModel, table=True):
    __tablename__ = "export"
    id: str = Field(primary_key=True)
    request_id: str = Field(foreign_key="request.id", index=True)
    created_at: datetime
    format: str  # plain | age
    out_dir: str
    audit_index: int


class Hold(SQLModel, table=True):
    __tablename__ = "hold"
    id: str = Field(primary_key=True)
    camera_id: int = Field(foreign_key="camera.id", index=True)
    scope_from: datetime
    scope_to: datetime
    reason: str
    until: datetime | None = None
    created_at: datetime
    released_at: datetime | None = None
    release_reason: str | None = None


class DeletionRecord(SQLModel, table=True):
    __tablename__ = "deletion_record"
    id: str = Field(primary_key=True)
    created_at: datetime
    reason: str
    record: str  # canonical JSON of the signed record
