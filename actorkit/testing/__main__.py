"""``python -m actorkit.testing``: serve a FakePlatform in the foreground.

It starts a run and prints its environment as ``export KEY=VALUE`` lines (shell-quoted), then
serves until Ctrl-C (or SIGTERM) and exits 0. In one shell::

    python -m actorkit.testing --input '{"q": 1}' > fake-run.env

and in another, run the Actor as that run::

    eval "$(cat fake-run.env)" && python main.py
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m actorkit.testing',
        description=(
            'Serve a fake Apify platform (API v2) on 127.0.0.1, start one run and print its '
            'environment as export lines; serve until Ctrl-C.'
        ),
    )
    parser.add_argument('--port', type=int, default=0, help='port to listen on (default: free)')
    parser.add_argument('--token', default=None, help='API token to accept (default: random)')
    parser.add_argument(
        '--input', default=None, help='the run input as JSON (stored as the INPUT record)'
    )
    parser.add_argument('--actor-id', default=None, help='the Actor id or name of the run')
    parser.add_argument('--timeout-secs', type=int, default=None, help='the run timeout')
    parser.add_argument('--memory-mbytes', type=int, default=None, help='the run memory')
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; return the exit code."""
    args = _parse(argv)
    run_input = None
    if args.input is not None:
        try:
            run_input = json.loads(args.input)
        except ValueError as exc:
            print(f'--input is not valid JSON ({exc}): quote it for the shell', file=sys.stderr)
            return 2
    from actorkit.testing._fake_platform import FakePlatform  # noqa: PLC0415

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        platform = FakePlatform(token=args.token, port=args.port)
        platform.start()
    except OSError as exc:
        print(f'cannot listen on port {args.port}: {exc}; pick another --port', file=sys.stderr)
        return 1
    try:
        env = platform.run_env(
            run_input,
            actor_id=args.actor_id,
            timeout_secs=args.timeout_secs,
            memory_mbytes=args.memory_mbytes,
        )
        for name, value in env.items():
            print(f'export {name}={shlex.quote(value)}')
        print(f'# FakePlatform serving at {platform.api_url}; Ctrl-C stops it', flush=True)
        while not stop.wait(3600):
            pass
    finally:
        platform.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
