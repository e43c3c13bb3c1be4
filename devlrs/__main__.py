"""Command line entry point: ``python -m devlrs --port 9200``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from werkzeug.serving import run_simple

from .app import DevLrsConfig, create_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devlrs", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--username", default=DevLrsConfig.username)
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--password", default=None)
    secret.add_argument(
        "--password-env",
        metavar="NAME",
        default=None,
        help="read the password from this environment variable",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    args = parser.parse_args(argv)

    password = args.password
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            parser.error(f"environment variable {args.password_env} is empty or unset")
    config = DevLrsConfig(username=args.username)
    if password:
        config.password = password
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    host = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{host}:{args.port}"
    print(f"devlrs xAPI endpoint: {base}/xapi/  (HTTP Basic, user {config.username})")
    print(f"  statements page:    {base}/")
    print(f"  control API:        {base}/_control/state")
    if args.host not in LOOPBACK:
        print("  warning: the control API has no auth; bind to loopback only")
    sys.stdout.flush()
    run_simple(args.host, args.port, create_app(config), threaded=True)


if __name__ == "__main__":
    main()
