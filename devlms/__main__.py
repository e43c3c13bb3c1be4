"""Command line entry point: ``python -m devlms --port 9100 --tool-url URL``."""

from __future__ import annotations

import argparse
from pathlib import Path

from werkzeug.serving import run_simple

from .app import DevLmsConfig, create_platform
from .storage import STORAGE_ENV, STORAGE_MODES, storage_mode_from_env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devlms", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--tool-url", default="http://localhost:5000")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the platform key and gradebook here (e.g. instance/devlms)",
    )
    parser.add_argument(
        "--issuer",
        default=None,
        help="issuer / public base URL (default http://HOST:PORT)",
    )
    parser.add_argument(
        "--platform-storage",
        choices=STORAGE_MODES,
        default=None,
        help="LTI Platform Storage offered to framed launches"
        f" (default: ${STORAGE_ENV} or 'parent'; 'off' disables)",
    )
    args = parser.parse_args(argv)

    public_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
    base_url = (args.issuer or f"http://{public_host}:{args.port}").rstrip("/")
    config = DevLmsConfig(
        base_url=base_url,
        tool_url=args.tool_url,
        data_dir=args.data_dir,
        issuer=args.issuer,
        platform_storage=args.platform_storage or storage_mode_from_env(),
    )
    app = create_platform(config)
    print(f"devlms course page:   {config.base}/")
    print(f"  gradebook / roster: {config.base}/gradebook  {config.base}/roster")
    print(f"  registration JSON:  {config.base}/registration.json")
    print(f"  OpenID config (DR): {config.openid_configuration_url}")
    print(f"  add tools (admin):  {config.base}/admin/tools")
    print(f"  platform storage:   {config.platform_storage}")
    print(f"  tool:               {config.tool}")
    print("Register devlms with the tool:")
    print(f"  {config.registration_command()}")
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
