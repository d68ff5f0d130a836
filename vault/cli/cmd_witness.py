"""`witness serve|trust|distrust|show|cosign`: a witness for other vaults' logs.

None of these opens a vault: a witness runs on another device, with only its
own folder (``--state``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vault.cli.common import add_json, emit_json
from vault.jsonout import to_json

if TYPE_CHECKING:
    from vault.witness.state import WitnessState


def _state_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="the witness's folder: its key and records "
        "(default: ringfence/witness in the user data folder)",
    )


def _name_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--name",
        metavar="NAME",
        help="the witness's key name, given when its folder is first made "
        "(default: ringfence.witness/<random id>)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    witness = sub.add_parser("witness", help="vouch for other vaults' logs (a C2SP tlog witness)")
    wsub = witness.add_subparsers(dest="witness_command", metavar="ACTION")
    wsub.required = True
    p = wsub.add_parser("serve", help="answer add-checkpoint requests over HTTP")
    p.add_argument(
        "--listen",
        required=True,
        metavar="HOST:PORT",
        help="the address to listen on, e.g. 0.0.0.0:7380 or [::1]:7380",
    )
    p.add_argument(
        "--prefix",
        default="",
        metavar="PATH",
        help="the URL prefix before /add-checkpoint (default: none)",
    )
    _state_option(p)
    _name_option(p)
    p.set_defaults(func=cmd_serve)
    p = wsub.add_parser("trust", help="cosign the log ORIGIN when signed by VERIFIER_KEY")
    p.add_argument("origin", metavar="ORIGIN")
    p.add_argument("key", metavar="VERIFIER_KEY")
    _state_option(p)
    _name_option(p)
    p.set_defaults(func=cmd_trust)
    p = wsub.add_parser("distrust", help="stop trusting a key of ORIGIN (all of them if none)")
    p.add_argument("origin", metavar="ORIGIN")
    p.add_argument("key", metavar="VERIFIER_KEY", nargs="?")
    _state_option(p)
    p.set_defaults(func=cmd_distrust)
    p = wsub.add_parser("show", help="print the witness's verifier key and the logs it knows")
    _state_option(p)
    _name_option(p)
    add_json(p)
    p.set_defaults(func=cmd_show)
    p = wsub.add_parser("cosign", help="answer one add-checkpoint request read from stdin")
    _state_option(p)
    p.set_defaults(func=cmd_cosign)


def _state(args: argparse.Namespace) -> WitnessState:
    from platformdirs import user_data_dir

    from vault.witness.state import WitnessState

    root = args.state or Path(user_data_dir("ringfence")) / "witness"
    state = WitnessState.open(root, name=getattr(args, "name", None))
    if state.created:
        print(f"new witness {state.cosigner.name} in {root}", file=sys.stderr)
        print(f"witness verifier key: {state.cosigner.key.encode()}", file=sys.stderr)
    return state


def _parse_listen(text: str) -> tuple[str, int]:
    from vault.errors import UsageError

    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:7380")
    return host, int(port)


def cmd_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from vault.errors import StorageError
    from vault.witness.server import WitnessServer
    from vault.witness.witness import Witness

    address = _parse_listen(args.listen)
    state = _state(args)
    try:
        server = WitnessServer(address, Witness(state), prefix=args.prefix)
    except OSError as exc:
        raise StorageError(f"cannot listen on {args.listen}: {exc.strerror}") from None
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    worker = threading.Thread(target=server.serve_forever, name="witness-http", daemon=True)
    worker.start()
    try:
        print(f"witness {state.cosigner.name} listening on {server.url}/add-checkpoint", flush=True)
        print(f"witness verifier key: {state.cosigner.key.encode()}", flush=True)
        while not stop.wait(1.0):
            if not worker.is_alive():
                raise StorageError("the witness server stopped unexpectedly")
    finally:
        server.shutdown()
        server.server_close()
        for s, handler in old.items():
            signal.signal(s, handler)
    print("witness stopped", file=sys.stderr)
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    from vault.audit.note import parse_verifier_key
    from vault.errors import IntegrityError, UsageError
    from vault.timeutil import utc_now
    from vault.witness.state import check_origin

    check_origin(args.origin)  # both checked before a new witness folder is made
    try:
        parse_verifier_key(args.key.strip())
    except IntegrityError as exc:
        raise UsageError(exc.message) from None
    state = _state(args)
    key = state.trust(args.origin, args.key, utc_now())
    print(f"trusting {key.name} for the log {args.origin}")
    return 0


def cmd_distrust(args: argparse.Namespace) -> int:
    from vault.errors import NotFound

    state = _state(args)
    removed = state.distrust(args.origin, args.key)
    if not removed:
        raise NotFound(f"no such trusted key for the log {args.origin!r}")
    print(f"removed {removed} key{'s' if removed != 1 else ''} of the log {args.origin}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    state = _state(args)
    logs = state.logs()
    if args.json:
        emit_json(
            {
                "name": state.cosigner.name,
                "verifier_key": state.cosigner.key.encode(),
                "logs": to_json(logs),
            }
        )
        return 0
    print(f"witness:      {state.cosigner.name}")
    print(f"verifier key: {state.cosigner.key.encode()}")
    for r in logs:
        seen = "never cosigned" if r.size is None else f"size {r.size} at {r.cosigned_at}"
        print(f"log {r.origin}: {seen}")
        for key in r.keys:
            print(f"  trusted key {key}")
        if not r.keys:
            print("  no trusted key: its checkpoints are refused")
    return 0


def cmd_cosign(args: argparse.Namespace) -> int:
    from vault.errors import UsageError
    from vault.witness.errors import SizeConflict
    from vault.witness.protocol import MAX_REQUEST_BYTES, cosignature_lines, size_line
    from vault.witness.witness import Witness

    state = _state(args)
    body = sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1)
    if len(body) > MAX_REQUEST_BYTES:
        raise UsageError(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        done = Witness(state).add_checkpoint(body)
    except SizeConflict as exc:
        # The same answer as HTTP's 409: the size to ask again from.
        sys.stdout.buffer.write(size_line(exc.size))
        sys.stdout.flush()
        raise
    sys.stdout.buffer.write(cosignature_lines([done.cosignature]))
    sys.stdout.flush()
    print(f"cosigned {done.origin} at size {done.size}", file=sys.stderr)
    return 0
