"""``python -m concord_etl.sandbox`` / ``concord-etl sandbox``: argument parsing and the run loop."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from .seeds import SeedError
from .server import Sandbox


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m concord_etl.sandbox",
        description="Run a local emulator of the Concord CRM REST API (for demos and tests).",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    add("--port", type=int, default=0, help="port (0 = a free port)")
    add("--token", default="sandbox-token", help="API token of user 1 (default sandbox-token)")
    add("--state", metavar="DIR", help="persistent state directory (default: temporary)")
    add("--seed", default="demo", help="demo | empty | FILE.json (only applied to a new state)")
    add("--rate-limit", type=int, default=90, metavar="N", help="requests per window and user")
    add("--rate-window", type=float, default=60.0, metavar="SECONDS", help="window length")
    add("--latency-ms", type=float, default=0.0, metavar="MS", help="delay added to /api requests")
    add("--fault-rate", type=float, default=0.0, metavar="P", help="share of 500 answers")
    add("--drop-after-commit-rate", type=float, default=0.0, metavar="P",
        help="share of successful writes whose connection is closed without an answer")
    add("--fault-seed", type=int, default=None, metavar="N", help="seed of the fault dice")
    add("--max-per-page", type=int, default=100, metavar="N", help="per_page clamp (default 100)")
    add("--quiet", action="store_true", help="no request log on stderr")
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(list(argv) if argv is not None else None)
    sandbox = Sandbox(
        state_dir=args.state, token=args.token, seed=args.seed, rate_limit=args.rate_limit,
        rate_window=args.rate_window, latency_ms=args.latency_ms, fault_rate=args.fault_rate,
        drop_after_commit_rate=args.drop_after_commit_rate, fault_seed=args.fault_seed,
        port=args.port, max_per_page=args.max_per_page, host=args.host, quiet=args.quiet,
    )
    try:
        sandbox.start()
    except (SeedError, OSError) as exc:
        print(f"sandbox: cannot start: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"Concord sandbox running at {sandbox.url}", flush=True)
    print(f"  token: {args.token}\n  state: {sandbox.state_dir}\n  admin: {sandbox.url}/_sandbox/",
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
