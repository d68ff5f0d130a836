"""The one way footage leaves the vault.

Every release of a clip (an export in plaintext, an export re-encrypted for a
requester, the owner's own viewing) goes through :meth:`ReleaseService._released`,
which checks that a recorded decision approved exactly that clip for exactly
that request and that the approval has not lapsed. There is no other caller
of the age decryption functions in the service, and a test keeps it so.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from vault import age, decision, receipts
from vault.canonical import canonical_json
from vault.catalog.models import Camera, Clip, Decision, DecisionClip, Export, Request
from vault.errors import IntegrityError, NotFound, PolicyError, RingfenceError, UsageError
from vault.fsutil import ensure_private_dir, fsync_dir, private_mode, storage_error
from vault.hashio import HashingWriter
from vault.requests import RELEASABLE, Action, Status, transition
from vault.service.clips import ClipService
from vault.service.context import VaultContext
from vault.service.keyring import Keyring
from vault.service.places import check_out_folder, check_receipt_destination
from vault.service.receipts_build import export_receipt
from vault.service.requests import RequestService, decided_clip_facts
from vault.timeutil import iso

log = logging.getLogger("ringfence.export")

Progress = Callable[[int, int, str], None]  # (done bytes, total bytes, clip id)
CHUNK = 1 << 16


def _safe_ext(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return ext if re.fullmatch(r"\.[a-z0-9]{1,8}", ext) else ".bin"


class ReleaseService:
    """Releases: exports (plaintext or re-encrypted), the owner's viewing,
    and decision receipts written out."""

    def __init__(self, ctx: VaultContext, keyring: Keyring, requests: RequestService,
                 clips: ClipService) -> None:
        self.ctx = ctx
        self.keyring = keyring
        self.requests = requests
        self.clips = clips

    def _releasable(self, conn: Any, request_id: str) -> tuple[Any, Any]:
        """The request and its approving decision, if it may release clips now.

        Raises PolicyError (or IllegalTransition) otherwise. Asked again before
        each clip and inside the export's final transaction, so a withdrawal
        or an expiry during a long export stops it.
        """
        req = conn.execute(select(Request).where(Request.id == request_id)).first()
        if req is None:
            raise NotFound(f"no request {request_id!r}")
        if Status(req.status) not in RELEASABLE:
            # transition() names the state in its message.
            transition(req.status, Action.EXPORT)
        dec = conn.execute(select(Decision).where(Decision.request_id == request_id)).first()
        if dec is None or dec.outcome not in ("approved", "partly_approved"):
            raise PolicyError(f"request {request_id} has no approving decision")
        if dec.expires_at is not None and dec.expires_at <= self.ctx.clock():
            raise PolicyError(f"the approval of {request_id} expired at {iso(dec.expires_at)}")
        return req, dec

    def _still_releasable(self, request_id: str) -> None:
        with self.ctx.reader.connect() as conn:
            self._releasable(conn, request_id)

    def _released(self, request_id: str) -> tuple[Any, list[Any]]:
        """The decision and clip rows a request may release now, or PolicyError."""
        self.requests.lapse_due()
        with self.ctx.reader.connect() as conn:
            req, dec = self._releasable(conn, request_id)
        with Session(self.ctx.reader) as session:
            rows = session.execute(
                select(Clip, DecisionClip.sha256)
                .join(DecisionClip, DecisionClip.clip_id == Clip.id)  # type: ignore[arg-type]
                .where(DecisionClip.decision_id == dec.id)
                .order_by(Clip.captured_at, Clip.id)
            ).all()
        self._check_signed_decision(request_id, dec, {c.id: sha for c, sha in rows})
        self._check_still_open_in_log(request_id)
        clips = []
        for clip, approved_sha in rows:
            if clip.header is None:
                raise PolicyError(f"clip {clip.id} was shredded after the decision")
            if clip.sha256 != approved_sha:
                raise IntegrityError(f"clip {clip.id} no longer matches the approved hash")
            clips.append(clip)
        return req, clips

    def _check_signed_decision(self, request_id: str, dec: Any, approved: dict[str, str]) -> None:
        """The decision carries the owner's valid signature over the catalog's facts,
        or IntegrityError and nothing is released.

        Catalog rows and audit entries can be written without the passphrase;
        the signature, made inside the decision's own transaction, cannot. It is
        checked with the key in memory, and every fact the release depends on
        (requester, basis, scope, recipient, outcome, expiry, the clips and
        their hashes) must equal what was signed. Nothing here signs anything
        before that check has passed.
        """
        problem = self.requests.decision_problem(request_id)
        if problem is None and approved != {c: s for c, s in self._signed_clips(dec)}:
            problem = "the catalog's approved clips differ from the signed ones"
        if problem is not None:
            raise IntegrityError(
                f"the decision on {request_id} does not carry the owner's valid signature "
                f"({problem}); nothing was released. If you did not change it, run "
                f"`ringfence audit verify`; to decide again, "
                + decision.RESIGN_HINT.format(id=request_id)
            )
        if not dec.receipt:
            # The vault stopped between recording the decision and storing its
            # receipt: the facts are verified above, so the receipt may be signed.
            self._store_decision_receipt(request_id, dec.id)

    def _signed_clips(self, dec: Any) -> list[tuple[str, str]]:
        with self.ctx.reader.connect() as conn:
            return [(c["id"], c["sha256"]) for c in decided_clip_facts(conn, dec.id)]

    def _check_still_open_in_log(self, request_id: str) -> None:
        """The log, not only the catalog's status column, has the request still open.

        A request withdrawn or expired is logged so; a status turned back to
        approved in the catalog does not undo that entry, and neither does a
        renamed ``type`` column: the entries are found and read by their bytes.
        """
        for idx, entry in self.ctx.audit.about(
            subject=request_id, types=("request.withdrawn", "request.expired"), complete=True
        ):
            raise IntegrityError(
                f"audit entry {idx} records request {request_id} as {entry['type']}, "
                "though the catalog says it may be released; nothing was released. "
                "Run `ringfence audit verify`."
            )

    def _store_decision_receipt(self, request_id: str, decision_id: str) -> None:
        """Sign and store the receipt a decision lost when the vault stopped."""
        from vault.service.receipts_build import decision_receipt

        receipt = decision_receipt(self.requests.receipt_source(), request_id,
                                   self.keyring.checkpoint_with_owner(),
                                   self.keyring.owner_keys())
        with self.ctx.engine.begin() as conn:
            conn.execute(update(Decision).where(Decision.id == decision_id)
                         .values(receipt=canonical_json(receipt).decode()))

    def _plaintext_to(self, clip: Any, dst: BinaryIO,
                      payload: BinaryIO | None = None) -> tuple[int, str]:
        """Decrypt one approved clip into *dst*, checking its plaintext hash.

        Returns the size and SHA-256 written (equal to the clip's, or it raises).
        *payload*: the clip's stored payload, already open (read from its start).
        """
        keys = self.keyring.owner_keys()
        sink = HashingWriter(dst)
        file_key = age.unwrap_file_key(bytes(clip.header), [keys.identity])
        if payload is None:
            with self.ctx.store.open(clip.id) as own:
                age.decrypt_payload(file_key, own, cast(BinaryIO, sink))
        else:
            age.decrypt_payload(file_key, payload, cast(BinaryIO, sink))
        digest = sink.sha256.hexdigest()
        if sink.count != clip.size or digest != clip.sha256:
            raise IntegrityError(f"clip {clip.id} decrypted to bytes that differ from its hash")
        return sink.count, digest

    def export(
        self,
        request_id: str,
        out: Path,
        *,
        fmt: str = "plain",
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Write exactly the approved clips, the signed receipt and the audit proof to *out*."""
        if fmt not in ("plain", "age"):
            raise UsageError("--format must be plain or age")
        keys = self.keyring.owner_keys()
        req, clips = self._released(request_id)
        if fmt == "age" and not req.recipient:
            raise UsageError(f"request {request_id} has no age recipient for encrypted delivery")
        out = out.expanduser().absolute()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out} exists and is not an empty folder")
        check_out_folder(self.ctx, out)
        self.sweep_abandoned()
        export_id = self.ctx.new_id("export")
        staging = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
        with InFlight(self.ctx.layout.root, export_id, staging):
            # Logged before any plaintext is written: a killed export leaves an
            # entry saying where, and the next export or daemon start sweeps it.
            self.ctx.audit.append(
                "export.started",
                actor="owner",
                subject=export_id,
                details={"request": request_id, "format": fmt, "folder": os.fspath(staging),
                         "clips": [c.id for c in clips]},
            )
            try:
                result = self._export(request_id, req, clips, keys, fmt, out, staging,
                                      export_id, progress)
            except BaseException as exc:
                shutil.rmtree(staging, ignore_errors=True)
                self._log_abandoned(export_id, staging, f"failed: {type(exc).__name__}")
                raise
        return result

    def _export(self, request_id: str, req: Any, clips: list[Any], keys: Any, fmt: str,
                out: Path, staging: Path, export_id: str,
                progress: Progress | None) -> dict[str, Any]:
        total = sum(c.size for c in clips)
        done = 0
        delivered: dict[str, dict[str, Any]] = {}
        try:
            ensure_private_dir(staging, share=False)
            ensure_private_dir(staging / "clips", share=False)
            for clip in clips:
                self._still_releasable(request_id)
                stamp = clip.captured_at.strftime("%Y%m%dT%H%M%SZ")
                cam_dir = ensure_private_dir(staging / "clips" / str(clip.camera_id),
                                             share=False)
                name = f"{stamp}_{clip.id}{_safe_ext(clip.original_name)}"
                if fmt == "age":
                    name += ".age"
                target = cam_dir / name
                with os.fdopen(
                    os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb"
                ) as f:
                    if fmt == "plain":
                        size, digest = self._plaintext_to(clip, f)
                    else:
                        sink = HashingWriter(f)
                        sink.write(age.rewrap(bytes(clip.header), keys.identity,
                                              [req.recipient]))
                        with self.ctx.store.open(clip.id) as payload:
                            # Neither the header nor the payload is under the owner's
                            # signature; the plaintext hash is. Every payload byte is
                            # delivered as it is decrypted and checked, so what leaves
                            # is exactly what was checked.
                            self._plaintext_to(clip, cast(BinaryIO, _Discard()),
                                               cast(BinaryIO, _Tee(payload, sink)))
                        size, digest = sink.count, sink.sha256.hexdigest()
                    f.flush()
                    os.fsync(f.fileno())
                delivered[clip.id] = {
                    "file": f"clips/{clip.camera_id}/{name}",
                    "format": fmt,
                    "size": size,
                    "sha256": digest,
                }
                done += clip.size
                if progress:
                    progress(done, total, clip.id)
        except OSError as exc:
            raise storage_error(exc, f"cannot write the export to {out}") from exc
        # Camera ids are catalog internals: give folders the camera names.
        delivered = self._name_camera_folders(staging, clips, delivered)

        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            # Withdrawn or expired while the files were written: nothing leaves.
            self._releasable(conn, request_id)
            for clip in clips:
                d = delivered[clip.id]
                self.ctx.audit.append(
                    "clip.released",
                    actor="owner",
                    subject=clip.id,
                    details={
                        "request": request_id,
                        "export": export_id,
                        "sha256": clip.sha256,
                        "delivered_sha256": d["sha256"],
                        "format": fmt,
                    },
                    conn=conn,
                )
            index = self.ctx.audit.append(
                "export.created",
                actor="owner",
                subject=export_id,
                details={
                    "request": request_id,
                    "format": fmt,
                    "recipient": req.recipient if fmt == "age" else None,
                    "files": [
                        {
                            "clip": c.id,
                            "file": delivered[c.id]["file"],
                            "sha256": delivered[c.id]["sha256"],
                        }
                        for c in clips
                    ],
                },
                conn=conn,
            )
            conn.execute(
                insert(Export).values(
                    id=export_id,
                    request_id=request_id,
                    created_at=now,
                    format=fmt,
                    out_dir=str(out),
                    audit_index=index,
                )
            )
            conn.execute(update(Request).where(Request.id == request_id).values(updated_at=now))
        note = self.keyring.checkpoint_with_owner()
        receipt = export_receipt(
            self.requests.receipt_source(),
            request_id,
            {
                "id": export_id,
                "format": fmt,
                "created_at": iso(now),
                "recipient": req.recipient if fmt == "age" else None,
            },
            delivered,
            index,
            note,
            keys,
        )
        try:
            write_receipt_files(staging, receipt)
            os.replace(staging, out) if not out.exists() else _move_into(staging, out)
            fsync_dir(out.parent)
        except OSError as exc:
            raise storage_error(exc, f"cannot finish the export in {out}") from exc
        return {"export": export_id, "out": str(out), "receipt": receipt}

    def check_receipt_destination(self, out: Path) -> Path:
        """*out* as an absolute path, if a decision's receipt may be written there."""
        return check_receipt_destination(self.ctx, out)

    def _log_abandoned(self, export_id: str, staging: Path, why: str) -> None:
        with contextlib.suppress(RingfenceError, SQLAlchemyError):
            self.ctx.audit.append(
                "export.abandoned",
                actor=self.ctx.actor,
                subject=export_id,
                details={"folder": os.fspath(staging), "why": why},
            )

    def sweep_abandoned(self) -> list[str]:
        """Remove what exports killed half way left (their staging folders hold
        plaintext), and log each. Exports still running are left alone."""
        swept = []
        for export_id, staging in InFlight.abandoned(self.ctx.layout.root):
            existed = staging.exists()
            shutil.rmtree(staging, ignore_errors=True)
            if staging.exists():
                # Not removable now (permissions, a busy mount): keep the marker
                # so the next sweep tries again, and say so.
                log.warning("cannot remove %s, left by a killed export; it may hold "
                            "plaintext: remove it by hand", staging)
                continue
            self._log_abandoned(export_id, staging,
                                "killed; its partial folder was removed" if existed
                                else "killed before writing anything")
            InFlight.forget(self.ctx.layout.root, export_id)
            swept.append(export_id)
        if swept:
            self.keyring.checkpoint()
        return swept

    def _name_camera_folders(
        self, staging: Path, clips: list[Any], delivered: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        with self.ctx.reader.connect() as conn:
            names: dict[int, str] = dict(conn.execute(select(Camera.id, Camera.name)).all())
        for cam_id in {c.camera_id for c in clips}:
            os.rename(staging / "clips" / str(cam_id), staging / "clips" / names[cam_id])
        for clip in clips:
            d = delivered[clip.id]
            d["file"] = d["file"].replace(
                f"clips/{clip.camera_id}/", f"clips/{names[clip.camera_id]}/", 1
            )
        return delivered

    # --- refusal receipts ---------------------------------------------------------

    def write_decision_receipt(self, request_id: str, out: Path) -> Path:
        """Write a decision's signed receipt (e.g. a refusal) into the folder *out*."""
        receipt = self.requests.decision_receipt(request_id)
        out = self.check_receipt_destination(out)
        ensure_private_dir(out, share=False)
        try:
            write_receipt_files(out, receipt)
        except OSError as exc:
            raise storage_error(exc, f"cannot write the receipt to {out}") from exc
        return out / receipts.RECEIPT_JSON

    # --- the owner's own viewing ------------------------------------------------------

    def view(self, clip_id: str, reason: str, *, max_bytes: int = 512 << 20) -> bytes:
        """Decrypt one clip in memory for the owner to look at.

        Viewing is a release like any other: it files an ``owner`` request for
        exactly this clip, records the owner's approval, and logs the view.
        """
        info = self.clips.get(clip_id)
        if info.shredded:
            raise PolicyError(f"clip {clip_id} was shredded: it can no longer be opened")
        if info.size > max_bytes:
            raise UsageError(f"clip {clip_id} is too large to preview in memory")
        request_id = self.requests.add(
            {
                "requester": "vault owner",
                "organisation": "self",
                "kind": "owner",
                "basis": "owner",
                "reason": reason,
                "cameras": [info.camera],
                "from": iso(info.captured_at),
                "to": iso(info.captured_at + timedelta(seconds=1)),
            }
        )
        self.requests.decide(
            request_id,
            approve=True,
            reason=reason,
            clips=[clip_id],
            expires=self.ctx.clock() + timedelta(minutes=10),
        )
        _req, clips = self._released(request_id)
        # Logged before anything is decrypted, like every release.
        self.ctx.audit.append(
            "clip.viewed",
            actor="owner",
            subject=clip_id,
            details={"request": request_id, "reason": reason, "sha256": info.sha256},
        )
        buf = io.BytesIO()
        try:
            self._plaintext_to(clips[0], buf)
        finally:
            self.keyring.checkpoint()
        return buf.getvalue()


class _Discard:
    """A sink that keeps nothing: for checking a payload's plaintext hash."""

    def write(self, data: bytes) -> int:
        return len(data)


class _Tee:
    """Reads from *src*, writing every byte read to *copy* as well."""

    def __init__(self, src: Any, copy: Any) -> None:
        self.src = src
        self.copy = copy

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.src.read(n)
        if data:
            self.copy.write(data)
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


class InFlight:
    """A marker for a running export: ``exports/<id>`` in the vault (0600),
    holding the staging folder's path, flock-ed for as long as the export runs.
    A marker whose lock can be taken belongs to an export that died."""

    DIR = "exports"

    def __init__(self, root: Path, export_id: str, staging: Path) -> None:
        folder = ensure_private_dir(root / self.DIR)
        self.path = folder / export_id
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                              private_mode(0o600))
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            os.write(self.fd, os.fsencode(staging))
            os.fsync(self.fd)
            fsync_dir(folder)
        except OSError as exc:
            raise storage_error(exc, "cannot start the export") from exc

    def __enter__(self) -> InFlight:
        return self

    def __exit__(self, *exc: object) -> None:
        # Unlinked while still locked: a sweeper that opened it earlier sees
        # st_nlink == 0 once it gets the lock, and leaves it.
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)

    @classmethod
    def abandoned(cls, root: Path) -> list[tuple[str, Path]]:
        folder = root / cls.DIR
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            try:
                fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    continue  # only ever a marker file; anything else is not ours
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # still running
                if os.fstat(fd).st_nlink == 0:
                    continue  # finished while we waited
                staging = Path(os.fsdecode(os.read(fd, 8192)))
            except OSError:
                continue
            finally:
                os.close(fd)
            if _PARTIAL.fullmatch(staging.name):  # never anything but a staging folder
                found.append((name, staging))
        return found

    @classmethod
    def forget(cls, root: Path, export_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (root / cls.DIR / export_id).unlink()


_PARTIAL = re.compile(r"\..+\.[0-9a-f]{8}\.partial")


def _move_into(staging: Path, out: Path) -> None:
    """*out* exists and is empty: move the staged content into it."""
    for child in staging.iterdir():
        os.replace(child, out / child.name)
    staging.rmdir()


def write_receipt_files(folder: Path, receipt: dict[str, Any]) -> None:
    for name, data in (
        (receipts.RECEIPT_JSON, canonical_json(receipt)),
        (receipts.RECEIPT_TXT, receipts.render_text(receipt).encode()),
        (receipts.PROOF_TXT, receipt["audit"]["entries"][-1]["proof"].encode()),
    ):
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
