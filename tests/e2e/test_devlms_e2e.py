"""Launch tierpath from the development LMS over real HTTP, and use LTI Advantage."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pylti1p3.lineitem import LineItem

from lti_tool.db.models import Launch
from lti_tool.lti.advantage import Advantage
from lti_tool.lti.blueprint import state_cookie_name
from lti_tool.runtime import runtime
from lti_tool.services import keys as key_service
from lti_tool.web.tokens import token_cache
from tests.support.browser import Browser, forms_in
from tests.support.live import LiveStack

pytestmark = pytest.mark.e2e


def _launch_id(response: requests.Response) -> str:
    return parse_qs(urlsplit(response.url).query)["launch"][0]


def test_learner_launch_from_lms_lands_on_learner_home(
    stack: LiveStack, browser: Browser
) -> None:
    page = browser.open(f"{stack.lms_url}/launch/rl-career-path?user=learner1")
    assert page.status_code == 200, page.text
    assert urlsplit(page.url).path == "/learner/"
    assert "Welcome, Ana" in page.text
    # The flow went LMS → tool login → LMS auth → tool launch → home.
    paths = [urlsplit(u).path for u in browser.history]
    assert paths[:4] == ["/launch/rl-career-path", "/lti/login", "/auth", "/lti/launch"]


def test_instructor_launch_lands_on_instructor_home(
    stack: LiveStack, browser: Browser
) -> None:
    page = browser.open(f"{stack.lms_url}/launch/rl-career-path?user=instructor")
    assert urlsplit(page.url).path == "/instructor/"
    assert "Contact Centre Careers 101" in page.text


def test_replayed_launch_post_is_refused_over_http(stack: LiveStack) -> None:
    browser = Browser()
    login = browser.http.get(
        f"{stack.lms_url}/launch/rl-career-path?user=learner1", timeout=10
    )
    forms, _ = forms_in(login.text)
    form = dict(forms[0].fields)
    assert set(form) == {"id_token", "state"}
    first = browser.http.post(f"{stack.tool_url}/lti/launch", data=form, timeout=10)
    assert first.status_code == 200
    # Even an attacker who captured the POST *and* the state cookie gets nowhere:
    # the nonce was consumed by the first launch.
    again = requests.post(
        f"{stack.tool_url}/lti/launch",
        data=form,
        timeout=10,
        headers={
            "Accept": "application/json",
            "Cookie": f"{state_cookie_name(form['state'])}={form['state']}",
        },
    )
    assert again.status_code == 400
    assert again.json()["error"] == "replayed_launch"
    stranger = requests.post(
        f"{stack.tool_url}/lti/launch",
        data=form,
        timeout=10,
        headers={"Accept": "application/json"},
    )
    assert stranger.status_code == 400
    assert stranger.json()["error"] == "state_cookie_missing"


def test_roster_lists_everyone_including_learners_who_never_launched(
    stack: LiveStack, browser: Browser
) -> None:
    home = browser.open(f"{stack.lms_url}/launch/rl-career-path?user=instructor")
    roster = browser.open(
        f"{stack.tool_url}/instructor/roster?launch={_launch_id(home)}"
    )
    assert roster.status_code == 200, roster.text
    for name in ("Ana Morales", "Ben Okafor", "Carla Nguyen", "Ines Duarte"):
        assert name in roster.text
    assert "5 people" in roster.text
    assert "Roster synced: 5 people" in roster.text
    # The cohort now lists every learner, also those who never launched.
    cohort = browser.open(f"{stack.tool_url}/instructor/?launch={_launch_id(home)}")
    for name in ("Ana Morales", "Ben Okafor", "Carla Nguyen"):
        assert name in cohort.text
    assert "ines.duarte@example.com" not in cohort.text  # staff are not in the cohort
    assert "Has not opened tierpath yet" in cohort.text


def test_roster_paging_follows_next_links_without_losing_anyone(
    stack: LiveStack, browser: Browser
) -> None:
    home = browser.open(f"{stack.lms_url}/launch/rl-career-path?user=instructor")
    rt = runtime(stack.tool)
    with stack.tool.app_context(), rt.session_factory() as session:
        launch = session.get(Launch, _launch_id(home))
        assert launch is not None
        key_service.ensure_keys(session, rt.encryptor, rt.clock())
        session.commit()
        key = key_service.current_key(session, rt.encryptor)
        members = Advantage(launch, key, rt.http, token_cache()).members(page_size=2)
    assert len(members) == 5
    assert len({m.user_id for m in members}) == 5


def test_learner_cannot_open_the_roster(stack: LiveStack, browser: Browser) -> None:
    home = browser.open(f"{stack.lms_url}/launch/rl-career-path?user=learner1")
    roster = browser.http.get(
        f"{stack.tool_url}/instructor/roster?launch={_launch_id(home)}", timeout=10
    )
    assert roster.status_code == 403
    assert "Support code" in roster.text


def test_score_round_trip_reaches_the_lms_gradebook(
    stack: LiveStack, browser: Browser
) -> None:
    learner = browser.open(f"{stack.lms_url}/launch/rl-career-path?user=learner1")
    rt = runtime(stack.tool)
    with stack.tool.app_context(), rt.session_factory() as session:
        launch = session.get(Launch, _launch_id(learner))
        assert launch is not None
        learner_sub = launch.user.sub
        key_service.ensure_keys(session, rt.encryptor, rt.clock())
        session.commit()
        key = key_service.current_key(session, rt.encryptor)
        advantage = Advantage(launch, key, rt.http, token_cache())
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        for score in (6.0, 8.5):
            advantage.post_score(
                user_id=learner_sub,
                score_given=score,
                score_maximum=10,
                line_item=LineItem()
                .set_tag("post-test")
                .set_resource_id("module-1")
                .set_label("Module 1 post-test")
                .set_score_maximum(10),
                timestamp=stamp
                if score == 6.0
                else datetime.now(UTC).isoformat(timespec="milliseconds"),
                comment="Well done",
            )
    state = requests.get(f"{stack.lms_url}/api/state", timeout=10).json()
    items = [i for i in state["lineitems"] if i["tag"] == "post-test"]
    assert len(items) == 1  # found again by tag, not created twice
    scores = {score["userId"]: score for score in items[0]["scores"]}
    assert scores[learner_sub]["scoreGiven"] == 8.5
    assert scores[learner_sub]["gradingProgress"] == "FullyGraded"
    assert scores[learner_sub]["comment"] == "Well done"
    # One token for both scores: cached across calls.
    assert state["tokens_issued"] == 1
    gradebook = requests.get(f"{stack.lms_url}/gradebook", timeout=10)
    assert "Module 1 post-test" in gradebook.text


def test_deep_linking_places_the_career_path_in_the_course(
    stack: LiveStack, browser: Browser
) -> None:
    picker = browser.open(f"{stack.lms_url}/launch-deep-link?user=instructor")
    assert urlsplit(picker.url).path == "/lti/deep-link", picker.text
    assert "Add tierpath content" in picker.text
    done = browser.submit(picker, item="career-path", graded="1")
    assert done.status_code == 200, done.text
    assert urlsplit(done.url).netloc == urlsplit(stack.lms_url).netloc
    state = requests.get(f"{stack.lms_url}/api/state", timeout=10).json()
    placed = [
        link
        for link in state["links"]
        if link["title"] == "My career path" and link["id"] != "rl-career-path"
    ]
    assert len(placed) == 1
    assert placed[0]["url"] == f"{stack.tool_url}/home"
    # The career path is not graded: no gradebook column for it.
    assert not any(i.get("tag") == "career-path" for i in state["lineitems"])
    # A learner can launch the placed link.
    learner = Browser().open(f"{stack.lms_url}/launch/{placed[0]['id']}?user=learner2")
    assert urlsplit(learner.url).path == "/learner/"
    assert "Welcome, Ben" in learner.text


def test_learner_cannot_start_deep_linking_in_the_tool(
    stack: LiveStack, browser: Browser
) -> None:
    home = browser.open(f"{stack.lms_url}/launch/rl-career-path?user=learner1")
    picker = browser.http.get(
        f"{stack.tool_url}/lti/deep-link?launch={_launch_id(home)}", timeout=10
    )
    assert picker.status_code == 403
