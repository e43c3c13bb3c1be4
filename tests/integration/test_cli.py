"""The tierpath command manages the schema, platforms and keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask import Flask

REGISTRATION = [
    "--issuer",
    "https://canvas.example.edu",
    "--client-id",
    "10000000000001",
    "--deployment-id",
    "dep-a",
    "--deployment-id",
    "dep-b",
    "--auth-login-url",
    "https://canvas.example.edu/api/lti/authorize_redirect",
    "--token-url",
    "https://canvas.example.edu/login/oauth2/token",
    "--jwks-url",
    "https://canvas.example.edu/api/lti/security/jwks",
]


def test_platform_add_list_remove(app: Flask) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(args=["platform", "add", *REGISTRATION])
    assert added.exit_code == 0, added.output
    assert "registered" in added.output
    listed = runner.invoke(args=["platform", "list"])
    assert "https://canvas.example.edu" in listed.output
    assert "dep-a,dep-b" in listed.output
    again = runner.invoke(args=["platform", "add", *REGISTRATION])
    assert again.exit_code == 1
    assert "already registered" in again.output
    quiet = runner.invoke(args=["platform", "add", *REGISTRATION, "--if-missing"])
    assert quiet.exit_code == 0
    removed = runner.invoke(
        args=[
            "platform",
            "remove",
            "--issuer",
            "https://canvas.example.edu",
            "--client-id",
            "10000000000001",
        ]
    )
    assert removed.exit_code == 0, removed.output
    assert "no platforms registered" in runner.invoke(args=["platform", "list"]).output


def test_platform_add_rejects_plain_http_for_a_real_host(app: Flask) -> None:
    args = [a.replace("https://", "http://") for a in REGISTRATION]
    result = app.test_cli_runner().invoke(args=["platform", "add", *args])
    assert result.exit_code == 1
    assert "must use https://" in result.output


def test_keys_ensure_and_rotate(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert "keys created" in runner.invoke(args=["keys", "ensure"]).output
    assert "keys already present" in runner.invoke(args=["keys", "ensure"]).output
    rotated = runner.invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0
    assert "current key:" in rotated.output
    states = runner.invoke(args=["keys", "list"]).output
    assert states.count("retired") == 1


def test_console_script_migrates_and_reports_bad_config(tmp_path: Path) -> None:
    env = {
        "PATH": str(Path(sys.executable).parent),
        "TIERPATH_INSTANCE": str(tmp_path / "instance"),
        "TIERPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    }
    tierpath = str(Path(sys.executable).parent / "tierpath")
    ok = subprocess.run(  # noqa: S603 (our own console script)
        [tierpath, "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "up to date" in ok.stdout
    bad = subprocess.run(  # noqa: S603
        [tierpath, "platform", "list"],
        env={**env, "TIERPATH_LTI_CLOCK_LEEWAY": "soon"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "configuration error: TIERPATH_LTI_CLOCK_LEEWAY" in bad.stderr
    assert "Traceback" not in bad.stderr
