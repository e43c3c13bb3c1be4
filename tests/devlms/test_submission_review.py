"""LTI Submission Review 1.0: line items with submissionReview, gradebook, launch."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devlms.app import DevLmsConfig, create_platform
from tests.devlms.test_devlms import (
    AGS_CLAIM,
    BASE,
    DL_SETTINGS,
    JWT_BEARER,
    LINEITEMS,
    LTI,
    SCOPE_LINEITEM,
    SCOPE_SCORE,
    TOOL,
    ToolKeys,
    auth_params,
    bearer,
    deep_link_launch,
    dl_response,
    form_field,
    score,
    verify_id_token,
)
from tests.devlms.test_dynamic_registration import (
    TOOL_CONFIG,
    register,
    start,
    tool_request,
)

REVIEW = {
    "reviewableStatus": ["Submitted", "Completed"],
    "label": "Open evidence",
    "url": f"{TOOL}/lti/review?kind=evidence",
    "custom": {"action": "review", "evidence": "e-42"},
}


@pytest.fixture(scope="module")
def tool_keys() -> ToolKeys:
    return ToolKeys()


@pytest.fixture
def app(tool_keys: ToolKeys) -> Flask:
    config = DevLmsConfig(
        base_url=BASE,
        tool_url=TOOL,
        tool_jwks_fetcher=tool_keys.jwks,
        platform_storage="parent",
    )
    return create_platform(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def create_item(
    client: FlaskClient, auth: dict[str, str], **fields: Any
) -> tuple[str, dict[str, Any]]:
    body = {
        "label": "Tier 1 evidence",
        "scoreMaximum": 10,
        "resourceLinkId": "rl-career-path",
        "submissionReview": REVIEW,
        **fields,
    }
    response = client.post(
        LINEITEMS, json={k: v for k, v in body.items() if v is not None}, headers=auth
    )
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.get_json()
    return urlsplit(item["id"]).path.rsplit("/", 1)[-1], item


def post_score(
    client: FlaskClient, auth: dict[str, str], item_id: str, **fields: Any
) -> None:
    response = client.post(
        f"{LINEITEMS}/{item_id}/scores", json=score(**fields), headers=auth
    )
    assert response.status_code == 204, response.text


@pytest.fixture
def graded(client: FlaskClient, tool_keys: ToolKeys) -> str:
    """A reviewable line item: learner1 submitted, learner2 only started."""
    auth = bearer(client, tool_keys)
    item_id, _ = create_item(client, auth)
    post_score(
        client,
        auth,
        item_id,
        activityProgress="Submitted",
        gradingProgress="PendingManual",
        scoreGiven=None,
        scoreMaximum=None,
        comment="Awaiting review",
        submission={"submittedAt": "2026-01-10T09:59:00+00:00"},
    )
    post_score(
        client,
        auth,
        item_id,
        user="devlms-user-learner2",
        activityProgress="Started",
        gradingProgress="NotReady",
        scoreGiven=None,
        scoreMaximum=None,
        comment=None,
    )
    return item_id


# -- AGS ----------------------------------------------------------------------
def test_lineitem_keeps_its_submission_review(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    auth = bearer(client, tool_keys)
    item_id, item = create_item(client, auth)
    assert item["submissionReview"] == REVIEW
    fetched = client.get(f"{LINEITEMS}/{item_id}", headers=auth).get_json()
    assert fetched["submissionReview"] == REVIEW
    listed = client.get(LINEITEMS, headers=auth).get_json()
    assert listed[0]["submissionReview"] == REVIEW


@pytest.mark.parametrize(
    ("review", "words"),
    [
        ("yes", "must be an object"),
        ({"reviewableStatus": "Submitted"}, "list of strings"),
        ({"reviewableStatus": ["Graded"]}, "unknown value"),
        ({"url": "/relative"}, "absolute"),
        ({"url": "https://evil.example/review"}, "tool's origin"),
        ({"custom": {"n": 1}}, "string values"),
        ({"label": 3}, "label"),
        ({"reviewable_status": ["Any"]}, "unknown field"),
    ],
)
def test_malformed_submission_review_is_refused(
    client: FlaskClient, tool_keys: ToolKeys, review: Any, words: str
) -> None:
    response = client.post(
        LINEITEMS,
        json={"label": "x", "scoreMaximum": 1, "submissionReview": review},
        headers=bearer(client, tool_keys),
    )
    assert response.status_code == 400
    assert words in response.get_json()["error"]


# -- gradebook ----------------------------------------------------------------
def test_gradebook_shows_score_details(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    auth = bearer(client, tool_keys)
    item_id, _ = create_item(client, auth, submissionReview=None)
    post_score(client, auth, item_id)
    page = client.get("/gradebook").text
    row = re.search(
        rf'<tr class="score-row" id="score-{item_id}-learner1".*?</tr>', page, re.S
    )
    assert row
    html = row.group(0)
    assert '<span class="score-given">8</span>' in html
    assert '<span class="score-maximum">10</span>' in html
    assert '<td class="activity-progress">Completed</td>' in html
    assert '<td class="grading-progress">FullyGraded</td>' in html
    assert '<td class="score-comment">Good work</td>' in html
    assert "2026-01-10T10:00:00.123+00:00" in html
    # learners without a score are listed too
    assert f'id="score-{item_id}-learner3"' in page
    assert "review-submission" not in page


def test_instructor_sees_review_links_for_reviewable_submissions(
    client: FlaskClient, graded: str
) -> None:
    item_id = graded
    assert "review-submission" not in client.get("/gradebook").text
    client.post("/switch-user", data={"user": "learner1"})
    assert "review-submission" not in client.get("/gradebook").text

    client.post("/switch-user", data={"user": "instructor"})
    page = client.get("/gradebook").text
    link = re.search(
        rf'<a class="review-submission" id="review-{item_id}-learner1"\s+'
        rf'data-lineitem="{item_id}" data-for-user="learner1"\s+'
        r'title="Review submission" href="([^"]+)">Open evidence</a>',
        page,
    )
    assert link, page
    assert link.group(1) == f"/gradebook/review/{item_id}/learner1"
    # Started is not in reviewableStatus; no score at all is not reviewable either
    assert f'id="review-{item_id}-learner2"' not in page
    assert f'id="review-{item_id}-learner3"' not in page
    assert "submitted 2026-01-10T09:59:00+00:00" in page


def test_review_none_and_any_statuses(client: FlaskClient, tool_keys: ToolKeys) -> None:
    auth = bearer(client, tool_keys)
    item_id, _ = create_item(
        client, auth, submissionReview={"reviewableStatus": ["None", "Any"]}
    )
    post_score(client, auth, item_id, activityProgress="Initialized")
    client.post("/switch-user", data={"user": "instructor"})
    page = client.get("/gradebook").text
    for learner in ("learner1", "learner2", "learner3"):
        assert f'id="review-{item_id}-{learner}"' in page
    assert "Review submission</a>" in page  # default label


# -- the launch -----------------------------------------------------------------
def review_login(
    client: FlaskClient, item_id: str, learner: str = "learner1"
) -> dict[str, str]:
    client.post("/switch-user", data={"user": "instructor"})
    frame = client.get(f"/gradebook/review/{item_id}/{learner}")
    assert frame.status_code == 200, frame.text
    src = re.search(r'<iframe id="tool-frame" src="([^"]*)"', frame.text)
    assert src
    url = src.group(1).replace("&amp;", "&")
    assert url.startswith(f"/launch-submission-review/{item_id}?")
    assert parse_qs(urlsplit(url).query) == {
        "user": ["instructor"],
        "for_user": [learner],
        "storage": ["parent"],
    }
    response = client.get(url)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(f"{TOOL}/lti/login?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_submission_review_launch_claims(client: FlaskClient, graded: str) -> None:
    item_id = graded
    login = review_login(client, item_id)
    assert login["login_hint"] == "instructor"
    assert login["target_link_uri"] == f"{TOOL}/lti/review?kind=evidence"
    assert login["lti_storage_target"] == "_parent"

    response = client.post("/auth", data=auth_params(login))
    assert response.status_code == 200, response.text
    assert form_field(response.text, "lti_storage_target") == "_parent"
    claims = verify_id_token(client, form_field(response.text, "id_token"))
    assert claims[f"{LTI}/message_type"] == "LtiSubmissionReviewRequest"
    assert claims[f"{LTI}/version"] == "1.3.0"
    assert claims["sub"] == "devlms-user-instructor"
    assert claims[f"{LTI}/roles"] == [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
    ]
    assert claims[f"{LTI}/target_link_uri"] == f"{TOOL}/lti/review?kind=evidence"
    assert claims[f"{LTI}/resource_link"] == {
        "id": "rl-career-path",
        "title": "My career path (tierpath)",
    }
    ags = claims[AGS_CLAIM]
    assert ags["lineitem"] == f"{BASE}{LINEITEMS}/{item_id}"
    assert ags["lineitems"] == f"{BASE}{LINEITEMS}"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in ags["scope"]
    assert claims[f"{LTI}/for_user"] == {
        "user_id": "devlms-user-learner1",
        "name": "Ana Morales",
        "given_name": "Ana",
        "family_name": "Morales",
        "email": "ana.morales@example.com",
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    }
    assert claims[f"{LTI}/custom"] == {"action": "review", "evidence": "e-42"}
    assert claims[f"{LTI}/context"]["id"] == "course-ccc-101"
    assert claims[f"{LTI}/deployment_id"] == "devlms-deployment-1"


def test_review_without_url_targets_the_tool_default(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    auth = bearer(client, tool_keys)
    item_id, _ = create_item(
        client,
        auth,
        resourceLinkId=None,
        submissionReview={"reviewableStatus": ["Any"]},
    )
    post_score(client, auth, item_id)
    login = review_login(client, item_id)
    assert login["target_link_uri"] == f"{TOOL}/home"
    claims = verify_id_token(
        client,
        form_field(client.post("/auth", data=auth_params(login)).text, "id_token"),
    )
    assert f"{LTI}/resource_link" not in claims
    assert claims[AGS_CLAIM]["lineitem"] == f"{BASE}{LINEITEMS}/{item_id}"


def test_review_launch_is_refused_when_not_allowed(
    client: FlaskClient, tool_keys: ToolKeys, graded: str
) -> None:
    item_id = graded
    base = f"/launch-submission-review/{item_id}"
    learner = client.get(
        base, query_string={"user": "learner2", "for_user": "learner1"}
    )
    assert learner.status_code == 403
    started = client.get(
        base, query_string={"user": "instructor", "for_user": "learner2"}
    )
    assert started.status_code == 400
    assert "not reviewable" in started.text
    nobody = client.get(base, query_string={"user": "instructor", "for_user": "ghost"})
    assert nobody.status_code == 404

    auth = bearer(client, tool_keys)
    plain_id, _ = create_item(client, auth, submissionReview=None)
    post_score(client, auth, plain_id)
    plain = client.get(
        f"/launch-submission-review/{plain_id}",
        query_string={"user": "instructor", "for_user": "learner1"},
    )
    assert plain.status_code == 400
    assert "no submission review" in plain.text
    missing = client.get(
        "/launch-submission-review/999",
        query_string={"user": "instructor", "for_user": "learner1"},
    )
    assert missing.status_code == 404

    client.post("/switch-user", data={"user": "learner1"})
    assert client.get(f"/gradebook/review/{item_id}/learner1").status_code == 403


def test_review_hint_cannot_be_replayed_as_another_user(
    client: FlaskClient, graded: str
) -> None:
    login = review_login(client, graded)
    response = client.post("/auth", data=auth_params(login, login_hint="learner1"))
    assert response.status_code == 400
    assert "another user" in response.text


def test_deep_linked_lineitem_may_carry_submission_review(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    settings = deep_link_launch(client)[DL_SETTINGS]
    item = {
        "type": "ltiResourceLink",
        "title": "Tier 3 evidence",
        "url": f"{TOOL}/home?module=tier3",
        "lineItem": {
            "scoreMaximum": 4,
            "submissionReview": {"reviewableStatus": ["Submitted"], "url": f"{TOOL}/r"},
        },
    }
    response = client.post(
        "/deep_link_return", data={"JWT": dl_response(tool_keys, settings, [item])}
    )
    assert response.status_code == 200, response.text
    (lineitem,) = client.get("/api/state").get_json()["lineitems"]
    assert lineitem["submissionReview"]["url"] == f"{TOOL}/r"

    settings = deep_link_launch(client)[DL_SETTINGS]
    item["lineItem"] = {
        "scoreMaximum": 4,
        "submissionReview": {"url": "https://evil.example/r"},
    }
    refused = client.post(
        "/deep_link_return",
        data={
            "JWT": dl_response(
                tool_keys,
                settings,
                [item],
                nonce=uuid.uuid4().hex,
                iat=int(time.time()),
            )
        },
    )
    assert refused.status_code == 400
    assert "tool's origin" in refused.text


def test_tool_without_review_message_gets_no_review_link(
    client: FlaskClient, tool_keys: ToolKeys
) -> None:
    body = tool_request(scope=f"{SCOPE_LINEITEM} {SCOPE_SCORE}")
    body[TOOL_CONFIG] = {
        **body[TOOL_CONFIG],
        "messages": [{"type": "LtiResourceLinkRequest"}],
    }
    reply = register(client, start(client)["registration_token"], body).get_json()
    client_id = reply["client_id"]
    now = int(time.time())
    signed = tool_keys.sign(
        {
            "iss": client_id,
            "sub": client_id,
            "aud": f"{BASE}/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
    )
    token = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": signed,
            "scope": f"{SCOPE_LINEITEM} {SCOPE_SCORE}",
        },
    ).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    # its review URL must be on its own domain, not on the built-in tool's
    response = client.post(
        LINEITEMS,
        json={
            "label": "x",
            "scoreMaximum": 1,
            "submissionReview": {"url": f"{TOOL}/r"},
        },
        headers=auth,
    )
    assert response.status_code == 400
    item_id, _ = create_item(
        client,
        auth,
        resourceLinkId=None,
        submissionReview={"reviewableStatus": ["Any"]},
    )
    post_score(client, auth, item_id)
    client.post("/switch-user", data={"user": "instructor"})
    page = client.get("/gradebook").text
    assert "the tool did not register LtiSubmissionReviewRequest" in page
    assert f'id="review-{item_id}-learner1"' not in page
    refused = client.get(
        f"/launch-submission-review/{item_id}",
        query_string={"user": "instructor", "for_user": "learner1"},
    )
    assert refused.status_code == 400
    assert "does not offer submission review" in refused.text
