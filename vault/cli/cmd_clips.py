"""`camera …`, `clips …` and `status`."""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.cli.common import (
    CommandError,
    add_json,
    emit_json,
    human_size,
    open_vault,
    table,
    unlocked_vault,
    vault_root,
)
from vault.errors import IntegrityError, UsageError
from vault.jsonout import to_json
from vault.safetext import shown
from vault.timeutil import iso, parse_end_time, parse_time

if TYPE_CHECKING:
    from vault.service.results import VaultStatus


def register(sub: argparse._SubParsersAction) -> None:
    cam = sub.add_parser("camera", help="cameras and their drop folders")
    csub = cam.add_subparsers(dest="camera_command", metavar="ACTION")
    csub.required = True
    p = csub.add_parser(
        "add",
        help="add a camera (or another drop folder to one), give it an FTP login or a stream",
    )
    p.add_argument("name")
    p.add_argument(
        "dir", type=Path, nargs="?", help="its drop folder (optional with --ftp or --stream)"
    )
    p.add_argument(
        "--ftp",
        action="store_true",
        help="make the camera's FTP login and print its password, once",
    )
    p.add_argument(
        "--stream",
        metavar="URL",
        help="record the camera's stream (rtsp://, rtsps://, http(s)://); "
        "'-' reads the URL from standard input, so its password stays out of "
        "the shell history and the process list",
    )
    p.add_argument(
        "--segment-seconds",
        type=int,
        metavar="N",
        help="with --stream: one clip about every N seconds, cut at keyframes (default 60)",
    )
    p.add_argument("--no-audio", action="store_true", help="with --stream: record the picture only")
    p.add_argument(
        "--pattern",
        metavar="STRFTIME",
        help="read the capture time from file names, e.g. 'front_%%Y%%m%%d_%%H%%M%%S'",
    )
    p.add_argument("--retention-days", type=int, metavar="N", help="0 keeps clips forever")
    add_json(p)
    p.set_defaults(func=cmd_camera_add)
    p = csub.add_parser("set", help="change a camera's pattern, retention or exported sound")
    p.add_argument("name")
    p.add_argument("--pattern", metavar="STRFTIME")
    p.add_argument("--retention-days", type=int, metavar="N")
    p.add_argument(
        "--export-audio",
        choices=["yes", "no"],
        help="no: remove the sound from every export of this camera",
    )
    add_json(p)
    p.set_defaults(func=cmd_camera_set)
    p = csub.add_parser("list", help="list cameras")
    add_json(p)
    p.set_defaults(func=cmd_camera_list)
    p = csub.add_parser(
        "ftp-password", help="replace a camera's FTP password (printed once; the old one stops)"
    )
    p.add_argument("name")
    add_json(p)
    p.set_defaults(func=cmd_camera_ftp_password)

    clips = sub.add_parser("clips", help="sealed clips")
    ssub = clips.add_subparsers(dest="clips_command", metavar="ACTION")
    ssub.required = True
    p = ssub.add_parser("list", help="list clips by capture time")
    p.add_argument("--camera", metavar="C")
    p.add_argument("--since", metavar="T", help="ISO 8601, inclusive")
    p.add_argument("--until", metavar="T", help="ISO 8601, exclusive")
    p.add_argument("--limit", type=int, metavar="N")
    add_json(p)
    p.set_defaults(func=cmd_clips_list)
    p = ssub.add_parser("show", help="one clip's details")
    p.add_argument("id")
    add_json(p)
    p.set_defaults(func=cmd_clips_show)
    p = ssub.add_parser(
        "view", help="watch a clip: decrypted through a pipe into a player, never a file"
    )
    p.add_argument("id")
    p.add_argument(
        "--player",
        metavar="CMD",
        help="the command line that gets the clip on its standard input "
        "(default: $RINGFENCE_PLAYER, else the first of mpv -, ffplay -, vlc -)",
    )
    p.add_argument(
        "--reason",
        metavar="TEXT",
        default=VIEW_REASON,
        help="why you are looking (written to the audit log)",
    )
    add_json(p)
    p.set_defaults(func=cmd_clips_view)
    p = ssub.add_parser(
        "export-age", help="write a clip as a standard age file (nothing decrypted)"
    )
    p.add_argument("id")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    p.set_defaults(func=cmd_clips_export_age)
    p = ssub.add_parser("shred", help="shred a clip now: its key is destroyed, its payload removed")
    p.add_argument("id")
    p.add_argument("--reason", required=True, metavar="TEXT")
    add_json(p)
    p.set_defaults(func=cmd_clips_shred)
    p = ssub.add_parser(
        "verify", help="check every stored payload against its hash (no key needed)"
    )
    add_json(p)
    p.set_defaults(func=cmd_clips_verify)

    p = sub.add_parser("status", help="daemon, clips per camera, waiting files, storage")
    add_json(p)
    p.set_defaults(func=cmd_status)


def _print_camera(info: Any, as_json: bool, login: Any = None) -> None:
    if as_json:
        doc = to_json(info)
        if login is not None:
            doc["ftp"] = to_json(login)
        emit_json(doc)
        return
    days = info.retention_days
    keeps = f"keeps clips {days} day(s)" if days else "keeps clips forever"
    ways = (
        [*info.folders]
        + ([f"FTP login {info.ftp}"] if info.ftp else [])
        + ([f"stream {info.stream}"] if info.stream else [])
    )
    sound = "" if info.export_audio else "; exports without sound"
    print(f"camera {info.name}: {', '.join(ways) or 'no drop folder'}; {keeps}{sound}")
    if login is not None:
        _print_login(login)


def _print_login(login: Any) -> None:
    print(f"FTP user:       {login.user}")
    print(f"FTP password:   {login.password}")
    print(
        "Type these into the camera now: the password is shown only this once "
        "(`ringfence camera ftp-password` makes a new one)."
    )


def _stream_url(arg: str) -> str:
    """The URL of --stream: as given, or read from standard input for '-'."""
    if arg != "-":
        from urllib.parse import urlsplit

        try:
            has_password = urlsplit(arg).password is not None
        except ValueError:
            has_password = False
        if has_password:
            print(
                "ringfence: note: the stream's password is now in your shell history and "
                "was visible to other users in the process list; `--stream -` reads the "
                "URL from standard input instead",
                file=sys.stderr,
            )
        return arg
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Stream URL (not shown): ").strip()
    return sys.stdin.read(4096).strip()


def cmd_camera_add(args: argparse.Namespace) -> int:
    if args.stream is None and (args.segment_seconds is not None or args.no_audio):
        raise UsageError("--segment-seconds and --no-audio go with --stream")
    if args.dir is None and not args.ftp and args.stream is None:
        raise UsageError(
            "give the camera's drop folder, --ftp for an FTP login or --stream URL (or several)"
        )
    vault = open_vault(args)
    info = login = None
    if args.dir is not None:
        info = vault.cameras.add(
            args.name, args.dir, pattern=args.pattern, retention_days=args.retention_days
        )
    if args.ftp:
        info, login = vault.cameras.add_ftp(
            args.name,
            pattern=None if args.dir is not None else args.pattern,
            retention_days=None if args.dir is not None else args.retention_days,
        )
    if args.stream is not None:
        first = args.dir is None and not args.ftp
        info = vault.cameras.add_stream(
            args.name,
            _stream_url(args.stream),
            segment_seconds=args.segment_seconds,
            audio=not args.no_audio,
            pattern=args.pattern if first else None,
            retention_days=args.retention_days if first else None,
        )
    _print_camera(info, args.json, login)
    return 0


def cmd_camera_ftp_password(args: argparse.Namespace) -> int:
    login = open_vault(args).cameras.ftp_password(args.name)
    if args.json:
        emit_json({"ftp": to_json(login)})
    else:
        _print_login(login)
    return 0


def cmd_camera_set(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    audio = None if args.export_audio is None else args.export_audio == "yes"
    info = vault.cameras.change(
        args.name, pattern=args.pattern, retention_days=args.retention_days, export_audio=audio
    )
    _print_camera(info, args.json)
    return 0


def cmd_camera_list(args: argparse.Namespace) -> int:
    cams = open_vault(args).cameras.all()
    if args.json:
        emit_json(to_json(cams))
        return 0
    rows = [
        [
            c.name,
            str(c.clips),
            f"{c.retention_days} d" if c.retention_days else "forever",
            c.pattern or "-",
            ", ".join(
                [*c.folders]
                + ([f"ftp:{c.ftp}"] if c.ftp else [])
                + ([f"stream:{c.stream}"] if c.stream else [])
            )
            or "-",
        ]
        for c in cams
    ]
    print(table(rows, ["CAMERA", "CLIPS", "RETENTION", "PATTERN", "SOURCES"]))
    return 0


def cmd_clips_list(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    clips = vault.clips.all(
        camera=args.camera,
        since=parse_time(args.since, "--since") if args.since else None,
        until=parse_end_time(args.until, "--until", inclusive=False) if args.until else None,
        limit=args.limit,
    )
    if args.json:
        emit_json(to_json(clips))
        return 0
    rows = [
        [
            c.id,
            c.camera,
            iso(c.captured_at) or "",
            human_size(c.size),
            c.original_name + (" [truncated]" if c.truncated else ""),
        ]
        for c in clips
    ]
    print(table(rows, ["ID", "CAMERA", "CAPTURED", "SIZE", "NAME"]))
    return 0


def cmd_clips_show(args: argparse.Namespace) -> int:
    info = open_vault(args).clips.get(args.id)
    if args.json:
        emit_json(to_json(info))
        return 0
    data = to_json(info)
    media = data.pop("media")
    for k, v in data.items():
        print(f"{k + ':':16} {v if v is not None else '-'}")
    for k, v in media.items():
        print(f"{k + ':':16} {v if v is not None else '-'}")
    if info.truncated:
        print(
            "TRUNCATED:       the clip was cut short (it arrived incomplete); its bytes are "
            "kept as they arrived"
        )
    return 0


def cmd_clips_export_age(args: argparse.Namespace) -> int:
    out = open_vault(args).clips.export_age(args.id, args.output)
    print(out)
    return 0


VIEW_REASON = "the owner watching it (clips view)"


def cmd_clips_view(args: argparse.Namespace) -> int:
    from vault.viewer import PLAYERS, PlayerProcess, find_player, parse_command, sized_for

    command = parse_command(args.player) if args.player else find_player()
    if command is None:
        raise UsageError(
            "no video player found: install mpv, ffplay or vlc, or name one "
            "with --player CMD (it reads the clip on its standard input), "
            'e.g. --player "ssh laptop mpv --stream-buffer-size=512MiB -"; tried '
            + ", ".join(" ".join(c) for c in PLAYERS)
        )
    if shutil.which(command[0]) is None:
        raise UsageError(f"no such player: {command[0]}")
    if not args.reason.strip():
        raise UsageError("--reason is empty")
    vault = unlocked_vault(args)
    viewing = vault.releases.viewing([args.id], args.reason, via="pipe")
    command = sized_for(command, vault.clips.get(args.id).size)
    print(
        f"ringfence: playing {args.id} with {shlex.join(command)} (on its standard input; "
        "this view is in the audit log)",
        file=sys.stderr,
        flush=True,
    )
    # With --json, standard output is this command's: the player's goes to stderr.
    player = PlayerProcess(command, stdout=sys.stderr if args.json else None)
    played = player.feed(lambda sink: viewing.write_to(args.id, sink))
    if args.json:
        emit_json({"clip": args.id, "request": viewing.request_id, **to_json(played)})
    elif not played.complete:
        print(
            f"ringfence: the player stopped reading after {played.bytes_sent} bytes",
            file=sys.stderr,
        )
    if played.exit_code != 0:
        print(f"ringfence: the player exited with status {played.exit_code}", file=sys.stderr)
        return 1
    return 0


def cmd_clips_shred(args: argparse.Namespace) -> int:
    result = open_vault(args).retention.shred(args.id, args.reason)
    if args.json:
        emit_json(to_json(result))
    else:
        print(f"shredded {result.clip} (deletion record {result.record})")
    return 0


def cmd_clips_verify(args: argparse.Namespace) -> int:
    check = open_vault(args).clips.verify()
    problems = check.problems
    if args.json:
        emit_json(to_json(check))
    else:
        for p in problems:
            print(f"{p.clip_id}: {p.problem}")
        for n in check.notes:
            print(f"{n.clip_id}: note: {n.problem}")
        notes = f", {len(check.notes)} note(s)" if check.notes else ""
        print(f"{check.checked} clip(s) checked, {len(problems)} problem(s){notes}")
    if problems:
        raise CommandError(f"{len(problems)} clip(s) failed the check", IntegrityError.exit_code)
    return 0


def status_report(args: argparse.Namespace) -> VaultStatus:
    """The status report, read without opening the whole vault: no key, no
    engine, no migration (a catalog at an older schema is opened the
    ordinary way, which migrates it)."""
    from vault.catalog.snapshot import NotAtHead
    from vault.config import Config, Layout, default_vault_dir
    from vault.fsutil import is_shared_folder, share_with_group
    from vault.service.status import StatusService
    from vault.store import BlobStore

    layout = Layout(vault_root(args) or default_vault_dir())
    if is_shared_folder(layout.root):
        share_with_group()  # as Vault.open: files for the daemon's group too
    config = Config.load(layout)
    try:
        return StatusService(layout, config, BlobStore(layout.store)).report()
    except NotAtHead:
        return open_vault(args).status.report()


def _print_streams(streams: dict[str, Any]) -> None:
    """The recorder's lines of `status`: one per camera stream (the heartbeat's
    values are read by type, since anyone who can write the vault folder can
    change the file)."""
    for camera, r in sorted(streams.items()):
        if not isinstance(r, dict):
            if camera == "error" and isinstance(r, str):
                print(f"streams:        {shown(r)}")
            continue

        def text(key: str, r: dict[str, Any] = r) -> str:
            value = r.get(key)
            return shown(str(value)) if isinstance(value, str | int) else "-"

        print(
            f"stream {shown(camera)}: {text('state')} since {text('since')} ({text('url')}); "
            f"{text('segments')} segment(s), last {text('last_segment_at')}; sound {text('audio')}"
        )
        if isinstance(r.get("last_error"), str):
            print(f"  last error: {shown(r['last_error'])}")


def cmd_status(args: argparse.Namespace) -> int:
    st = status_report(args)
    if args.json:
        emit_json(to_json(st))
        return 0
    d = st.daemon
    print(f"vault:          {st.vault}")
    daemon = f"running (pid {d.pid})" if d.running else "not running"
    print(f"daemon:         {daemon}")
    for name, r in sorted(st.receivers.items()):
        if name == "streams":
            _print_streams(r)
            continue
        tls = f", FTPS certificate {r['tls']}" if r.get("tls") else ""
        print(
            f"receiver {name + ':':6}  {r.get('listening') or 'running'}{tls}; "
            f"{r.get('uploads', 0)} upload(s), {r.get('cut_short', 0)} cut short, "
            f"{r.get('failed_logins', 0)} failed login(s), "
            f"last upload {r.get('last_upload_at') or '-'}"
        )
        if r.get("last_error"):
            print(f"  last error: {r['last_error']}")
    print(f"clips:          {st.clips}")
    for c in st.cameras:
        cut = f", {c.truncated} truncated" if c.truncated else ""
        ftp = " (FTP)" if c.ftp else ""
        print(f"  {c.name}{ftp}: {c.clips} clip(s){cut}, last ingest {iso(c.last_ingest) or '-'}")
    for f in st.folders:
        state = "ok" if f.problem is None else f.problem
        print(f"  folder {f.path} ({f.camera}): {state}")
    print(f"last ingest:    {iso(st.last_ingest) or '-'}")
    print(f"files waiting:  {st.files_waiting}")
    for f in st.folders:
        if f.problem:
            print(f"skipped folder: {f.message}")
    for h in st.held_back:
        print(f"held back:      {h.path}: {h.reason} ({h.clip})")
    for c in st.cameras:
        if c.time_from_mtime:
            print(
                f"capture time:   {c.name}: {c.time_from_mtime} clip(s) whose name did not "
                "match --pattern; their capture time is the file's mtime"
            )
    if st.unknown_payloads:
        print(
            f"unknown payloads: {len(st.unknown_payloads)} stored clip payload(s) the "
            "catalog does not know; run `ringfence clips verify`"
        )
    print(f"store:          {human_size(st.store_bytes)}")
    print(
        f"free space:     {human_size(st.free_bytes)}" + ("  LOW DISK SPACE" if st.low_disk else "")
    )
    print(f"audit entries:  {st.audit_size}")
    for e in d.errors:
        print(f"daemon error:   {e}")
    return 0
