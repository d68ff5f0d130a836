"""Where footage and receipts may be written: never where they would be kept
or swallowed (the vault, a drop folder, an earlier export)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from vault import receipts
from vault.catalog.models import Camera, CameraFolder, Export
from vault.errors import UsageError
from vault.service.context import VaultContext


def check_out_folder(ctx: VaultContext, out: Path) -> None:
    """Refuse a folder where footage or a receipt would be kept or swallowed.

    Inside the vault, plaintext would outlive shredding and go into every
    backup; inside a camera's drop folder the daemon would seal the files as
    new clips; inside an earlier export its receipt would no longer verify.
    """

    def real(path: Path | str) -> Path:
        p = Path(path).expanduser().absolute()
        try:
            return p.resolve()
        except (OSError, RuntimeError):  # a symlink loop: compare it as written
            return p

    if os.path.islink(out):
        # A link may point anywhere, or nowhere yet: what is written through
        # it would land where no check looked.
        raise UsageError(f"{out} is a symlink; give the folder or file it should be")
    target = real(out)
    places = [(real(ctx.root), "the vault folder")]
    with ctx.reader.connect() as conn:
        places += [
            (real(f), f"the drop folder of camera {name}")
            for name, f in conn.execute(
                select(Camera.name, CameraFolder.path).join(
                    CameraFolder, CameraFolder.camera_id == Camera.id
                )
            )
        ]
        # An earlier export counts while its receipt is still there; one
        # handed over and deleted leaves its folder free for a new export.
        places += [
            (real(d), f"the folder of export {e}")
            for e, d in conn.execute(select(Export.id, Export.out_dir))
            if (Path(d) / receipts.RECEIPT_JSON).exists()
        ]
    for place, what in places:
        if target == place or place in target.parents:
            raise UsageError(f"{out} is inside {what}; choose a folder elsewhere")


def check_receipt_folder(out: Path) -> Path:
    """*out* as an absolute path, if a receipt can be written there (new or empty)."""
    out = out.expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder")
    if not out.exists() and not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder")
    return out


def check_receipt_destination(ctx: VaultContext, out: Path) -> Path:
    """*out* as an absolute path, if a decision's receipt may be written there."""
    out = check_receipt_folder(out)
    check_out_folder(ctx, out)
    return out
