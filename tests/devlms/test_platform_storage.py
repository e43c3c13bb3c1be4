"""LTI Platform Storage (client-side postMessages) on the devlms side.

The framing page's postMessage handler is run under Node (if installed) with a
fake window, so capabilities/put/get/error replies are checked for real, not
just found in the HTML.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devlms.app import DevLmsConfig, create_platform
from devlms.storage import parse_storage_mode, storage_mode_from_env
from tests.devlms.test_devlms import (
    BASE,
    TOOL,
    ToolKeys,
    auth_params,
    form_field,
)

HARNESS = Path(__file__).with_name("storage_harness.js")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
OTHER_ORIGIN = "http://evil.localhost:6666"


@pytest.fixture(scope="module")
def tool_keys() -> ToolKeys:
    return ToolKeys()


def make_app(tool_keys: ToolKeys, mode: str = "parent") -> Flask:
    config = DevLmsConfig(
        base_url=BASE,
        tool_url=TOOL,
        tool_jwks_fetcher=tool_keys.jwks,
        platform_storage=mode,
    )
    return create_platform(config)


@pytest.fixture
def client(tool_keys: ToolKeys) -> FlaskClient:
    return make_app(tool_keys).test_client()


def as_user(client: FlaskClient, user: str = "learner1") -> FlaskClient:
    client.post("/switch-user", data={"user": user})
    return client


def iframe_src(html: str, frame_id: str = "tool-frame") -> str:
    match = re.search(rf'<iframe id="{frame_id}" (?:data-)?src="([^"]*)"', html)
    assert match, f"no iframe {frame_id}"
    return match.group(1).replace("&amp;", "&")


def login_params(client: FlaskClient, launch_url: str) -> dict[str, str]:
    response = client.get(launch_url)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(f"{TOOL}/lti/login?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def storage_scripts(html: str) -> tuple[str, str]:
    """The handler's JSON config and its script, as rendered."""
    config = re.search(
        r'<script type="application/json" id="lti-storage-config">(.*?)</script>\s*'
        r"<script>(.*?)</script>",
        html,
        re.S,
    )
    assert config, "no platform storage handler on the page"
    return config.group(1), config.group(2)


def run_handler(html: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    assert NODE is not None
    config, script = storage_scripts(html)
    result = subprocess.run(  # noqa: S603 (fixed argv, our own harness)
        [NODE, str(HARNESS)],
        input=json.dumps({"config": config, "script": script, "events": events}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def msg(subject: str, message_id: str = "m-1", **fields: Any) -> dict[str, Any]:
    return {
        "origin": TOOL,
        "data": {"subject": subject, "message_id": message_id, **fields},
    }


# -- settings ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "mode"),
    [
        ("", "parent"),
        ("1", "parent"),
        ("parent", "parent"),
        ("0", "off"),
        ("off", "off"),
        ("frame", "frame"),
        ("FRAME", "frame"),
    ],
)
def test_storage_mode_comes_from_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, mode: str
) -> None:
    monkeypatch.setenv("DEVLMS_PLATFORM_STORAGE", raw)
    assert storage_mode_from_env() == mode
    assert DevLmsConfig().platform_storage == mode


def test_unset_environment_means_storage_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEVLMS_PLATFORM_STORAGE", raising=False)
    assert DevLmsConfig().platform_storage == "parent"


def test_unknown_environment_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVLMS_PLATFORM_STORAGE", "sometimes")
    with pytest.raises(ValueError, match="DEVLMS_PLATFORM_STORAGE"):
        storage_mode_from_env()
    assert parse_storage_mode("sometimes") is None


# -- login initiation and launch ---------------------------------------------------
def test_framed_launch_offers_parent_storage_in_login_and_launch(
    client: FlaskClient,
) -> None:
    page = as_user(client).get("/course/launch/rl-career-path").text
    src = iframe_src(page)
    assert src == "/launch/rl-career-path?user=learner1&storage=parent"
    config = json.loads(storage_scripts(page)[0])
    assert config["role"] == "parent"
    assert config["target"] == "_parent"
    assert config["frame"] is None
    assert config["tool_origins"] == [TOOL]
    assert 'id="platform-storage-status" data-mode="parent"' in page
    # a new window has no devlms parent to answer, so it is offered nothing
    assert 'id="open-new-window" href="/launch/rl-career-path?user=learner1"' in page

    login = login_params(client, src)
    assert login["lti_storage_target"] == "_parent"
    response = client.post("/auth", data=auth_params(login))
    assert response.status_code == 200, response.text
    assert form_field(response.text, "lti_storage_target") == "_parent"


def test_direct_launch_offers_storage_only_when_asked(client: FlaskClient) -> None:
    plain = login_params(client, "/launch/rl-career-path?user=learner1")
    assert "lti_storage_target" not in plain
    launch = client.post("/auth", data=auth_params(plain))
    assert 'name="lti_storage_target"' not in launch.text
    assert (
        login_params(client, "/launch/rl-career-path?user=learner1&storage=parent")[
            "lti_storage_target"
        ]
        == "_parent"
    )
    assert (
        login_params(client, "/launch/rl-career-path?user=learner1&storage=frame")[
            "lti_storage_target"
        ]
        == "devlms_storage"
    )
    assert (
        client.get("/launch/rl-career-path?user=learner1&storage=maybe").status_code
        == 400
    )


def test_deep_linking_frame_offers_storage_too(client: FlaskClient) -> None:
    page = as_user(client, "instructor").get("/course/deep-link").text
    login = login_params(client, iframe_src(page))
    assert login["lti_storage_target"] == "_parent"


def test_storage_switched_off_by_config_offers_nothing(tool_keys: ToolKeys) -> None:
    client = as_user(make_app(tool_keys, "off").test_client())
    page = client.get("/course/launch/rl-career-path").text
    assert "lti-storage-config" not in page
    assert 'data-mode="off"' in page
    src = iframe_src(page)
    assert "storage" not in src
    login = login_params(client, src)
    assert "lti_storage_target" not in login
    response = client.post("/auth", data=auth_params(login))
    assert 'name="lti_storage_target"' not in response.text


def test_course_page_toggle_and_query_parameter_switch_the_mode(
    client: FlaskClient,
) -> None:
    as_user(client)
    home = client.get("/").text
    assert 'id="platform-storage-mode"' in home
    assert re.search(r'<option value="parent" selected>', home)

    assert (
        client.post("/settings/platform-storage", data={"mode": "off"}).status_code
        == 302
    )
    page = client.get("/course/launch/rl-career-path").text
    assert "lti-storage-config" not in page
    assert re.search(r'<option value="off" selected>', client.get("/").text)

    # a query parameter overrides the session for one page
    page = client.get("/course/launch/rl-career-path?storage=parent").text
    assert login_params(client, iframe_src(page))["lti_storage_target"] == "_parent"

    client.post("/settings/platform-storage", data={"mode": "frame"})
    page = client.get("/course/launch/rl-career-path").text
    assert (
        '<iframe id="devlms-storage-frame" name="devlms_storage" '
        'src="/lti/storage-frame?tool=tierpath-dev"' in page
    )
    # the tool starts only once the storage frame has loaded
    assert '<iframe id="tool-frame" data-src=' in page
    assert json.loads(storage_scripts(page)[0])["frame"] == "devlms_storage"
    assert (
        login_params(client, iframe_src(page))["lti_storage_target"] == "devlms_storage"
    )
    assert (
        client.post("/settings/platform-storage", data={"mode": "x"}).status_code == 400
    )
    assert client.get("/course/launch/rl-career-path?storage=x").status_code == 400


def test_storage_frame_page_serves_the_registered_tool(client: FlaskClient) -> None:
    page = client.get("/lti/storage-frame?tool=tierpath-dev")
    assert page.status_code == 200
    config = json.loads(storage_scripts(page.text)[0])
    assert config["role"] == "frame"
    assert config["frame"] == "devlms_storage"
    assert config["tool_origins"] == [TOOL]
    assert client.get("/lti/storage-frame?tool=nobody").status_code == 404


def test_auth_keeps_strict_checks_with_storage(client: FlaskClient) -> None:
    login = login_params(client, "/launch/rl-career-path?user=learner1&storage=parent")
    params = auth_params(login)
    assert client.post("/auth", data=params).status_code == 200
    again = auth_params(
        login_params(client, "/launch/rl-career-path?user=learner1&storage=parent"),
        nonce=params["nonce"],
    )
    assert "nonce was already used" in client.post("/auth", data=again).text
    bad = auth_params(
        login_params(client, "/launch/rl-career-path?user=learner1&storage=parent"),
        redirect_uri=f"{TOOL}/lti/launch?x=1",
    )
    assert client.post("/auth", data=bad).status_code == 400


# -- the postMessage handler, run under node -------------------------------------
@needs_node
def test_handler_answers_capabilities_put_and_get(client: FlaskClient) -> None:
    page = as_user(client).get("/course/launch/rl-career-path").text
    result = run_handler(
        page,
        [
            msg("lti.capabilities", "c-1"),
            msg("lti.put_data", "p-1", key="state_abc", value="abc"),
            msg("lti.put_data", "p-2", key="nonce_xyz", value="xyz"),
            msg("lti.get_data", "g-1", key="state_abc"),
            msg("lti.get_data", "g-2", key="nonce_unknown"),
        ],
    )
    replies = [r["message"] for r in result["replies"]]
    assert {r["target_origin"] for r in result["replies"]} == {TOOL}
    assert replies[0] == {
        "subject": "lti.capabilities.response",
        "message_id": "c-1",
        "supported_messages": [
            {"subject": "lti.put_data"},
            {"subject": "lti.get_data"},
        ],
    }
    assert replies[1] == {
        "subject": "lti.put_data.response",
        "message_id": "p-1",
        "key": "state_abc",
        "value": "abc",
    }
    assert replies[3] == {
        "subject": "lti.get_data.response",
        "message_id": "g-1",
        "key": "state_abc",
        "value": "abc",
    }
    assert replies[4] == {
        "subject": "lti.get_data.response",
        "message_id": "g-2",
        "key": "nonce_unknown",
        "value": None,
    }
    # every handled message is logged on the page for browser tests
    assert [
        (i["data-subject"], i["data-key"], i["data-outcome"])
        for i in result["log_items"]
    ] == [
        ("lti.capabilities", "", "ok"),
        ("lti.put_data", "state_abc", "ok"),
        ("lti.put_data", "nonce_xyz", "ok"),
        ("lti.get_data", "state_abc", "ok"),
        ("lti.get_data", "nonce_unknown", "ok-missing"),
    ]


@needs_node
def test_handler_refuses_bad_and_unknown_messages(client: FlaskClient) -> None:
    page = as_user(client).get("/course/launch/rl-career-path").text
    result = run_handler(
        page,
        [
            msg("lti.frameResize", "u-1", height=300),
            {"origin": TOOL, "data": {"subject": "lti.get_data", "key": "k"}},
            msg("lti.put_data", "b-1", key="", value="v"),
            msg("lti.put_data", "b-2", key="k", value=42),
            msg("lti.put_data", "b-3", key="k", value="x" * 5000),
            msg("lti.put_data", "d-1", key="k", value="v"),
            msg("lti.put_data", "d-2", key="k", value=None),
            msg("lti.get_data", "d-3", key="k"),
        ],
    )
    replies = {r["message"].get("message_id"): r["message"] for r in result["replies"]}
    assert replies["u-1"]["subject"] == "lti.frameResize.response"
    assert replies["u-1"]["error"]["code"] == "unsupported_subject"
    assert replies["u-1"]["error"]["message"]
    (missing_id,) = [
        r["message"] for r in result["replies"] if "message_id" not in r["message"]
    ]
    assert missing_id["error"]["code"] == "bad_request"
    assert replies["b-1"]["error"]["code"] == "bad_request"
    assert replies["b-2"]["error"]["code"] == "bad_request"
    assert replies["b-3"]["error"]["code"] == "bad_request"
    assert replies["d-2"] == {
        "subject": "lti.put_data.response",
        "message_id": "d-2",
        "key": "k",
        "value": None,
    }
    assert replies["d-3"]["value"] is None


@needs_node
def test_handler_ignores_other_origins_responses_and_non_objects(
    client: FlaskClient,
) -> None:
    page = as_user(client).get("/course/launch/rl-career-path").text
    result = run_handler(
        page,
        [
            {
                **msg("lti.put_data", "x-1", key="k", value="stolen"),
                "origin": OTHER_ORIGIN,
            },
            {**msg("lti.capabilities", "x-2"), "origin": BASE},
            msg("lti.capabilities.response", "x-3"),
            {"origin": TOOL, "data": "lti.capabilities"},
            {**msg("lti.capabilities", "x-4"), "source": None},
            msg("lti.get_data", "x-5", key="k"),
        ],
    )
    assert [r["message"]["message_id"] for r in result["replies"]] == ["x-5"]
    assert result["replies"][0]["message"]["value"] is None


@needs_node
def test_handler_scopes_data_by_sender_origin() -> None:
    config = json.dumps(
        {
            "role": "parent",
            "mode": "parent",
            "target": "_parent",
            "frame": None,
            "tool_origins": [TOOL, "https://tool-b.example"],
            "client_id": "x",
        }
    )
    page = (
        '<script type="application/json" id="lti-storage-config">'
        + config
        + "</script>\n<script>"
        + storage_scripts(_rendered_storage_frame())[1]
        + "</script>"
    )
    result = run_handler(
        page,
        [
            msg("lti.put_data", "a", key="state_1", value="from-a"),
            {
                **msg("lti.get_data", "b", key="state_1"),
                "origin": "https://tool-b.example",
            },
            msg("lti.get_data", "c", key="state_1"),
        ],
    )
    values = {
        r["message"]["message_id"]: r["message"]["value"] for r in result["replies"]
    }
    assert values == {"a": "from-a", "b": None, "c": "from-a"}
    assert result["replies"][1]["target_origin"] == "https://tool-b.example"


def _rendered_storage_frame() -> str:
    app = create_platform(DevLmsConfig(base_url=BASE, tool_url=TOOL))
    return app.test_client().get("/lti/storage-frame?tool=tierpath-dev").text


@needs_node
def test_frame_mode_parent_points_to_the_named_frame(client: FlaskClient) -> None:
    as_user(client)
    parent = client.get("/course/launch/rl-career-path?storage=frame").text
    result = run_handler(
        parent,
        [
            msg("lti.capabilities", "c"),
            msg("lti.put_data", "p", key="state_1", value="v"),
        ],
    )
    caps, refused = (r["message"] for r in result["replies"])
    assert caps["supported_messages"] == [
        {"subject": "lti.put_data", "frame": "devlms_storage"},
        {"subject": "lti.get_data", "frame": "devlms_storage"},
    ]
    assert refused["error"]["code"] == "unsupported_subject"
    assert "devlms_storage" in refused["error"]["message"]

    frame = client.get("/lti/storage-frame?tool=tierpath-dev").text
    result = run_handler(
        frame,
        [
            msg("lti.capabilities", "c"),
            msg("lti.put_data", "p", key="state_1", value="v"),
            msg("lti.get_data", "g", key="state_1"),
        ],
    )
    replies = [r["message"] for r in result["replies"]]
    assert replies[0]["supported_messages"][0]["frame"] == "devlms_storage"
    assert replies[2]["value"] == "v"
    assert result["log"][1]["role"] == "frame"
