"""A learner's work reaches the LRS even when the LRS was down while she worked.

Real HTTP throughout: the development LMS launches tierpath, tierpath runs its
in-process deliverer (as the demo does), and devlrs is the external LRS.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest
import sqlalchemy as sa

from devlrs import LiveLrs, running_lrs
from lti_tool.app import create_app
from lti_tool.db.models import StoredStatement
from lti_tool.runtime import runtime
from lti_tool.services import xapi_outbox
from lti_tool.services.demo_data import write_demo_people
from lti_tool.services.programs import load_program
from tests.conftest import make_test_config
from tests.support.browser import Browser, forms_in
from tests.support.live import LiveStack, live_stack
from xapi.vocabulary import Verb

pytestmark = pytest.mark.e2e
STEP = Path(__file__).parents[2] / "config" / "programs" / "partnerhero-step.toml"


@pytest.fixture
def lrs() -> Iterator[LiveLrs]:
    with running_lrs() as live:
        yield live


@pytest.fixture
def stack(database_url: str, tmp_path: Path, lrs: LiveLrs) -> Iterator[LiveStack]:
    def make_tool(base_url: str):  # type: ignore[no-untyped-def]
        return create_app(
            make_test_config(
                database_url,
                tmp_path / "instance",
                BASE_URL=base_url,
                XAPI_DELIVER_IN_PROCESS=True,
                XAPI_POLL_INTERVAL=0.1,
                XAPI_RETRY_BASE=0.2,
                XAPI_RETRY_CAP=0.5,
                XAPI_CONNECT_TIMEOUT=0.5,
            )
        )

    with live_stack(make_tool) as running:
        rt = runtime(running.tool)
        now = datetime.now(UTC)
        with rt.session_factory() as session:
            load_program(session, STEP, now)
            write_demo_people(session, 50, now)
            xapi_outbox.add_target(
                session,
                xapi_outbox.TargetInput(
                    "devlrs", lrs.endpoint, lrs.config.username, lrs.config.password
                ),
                rt.encryptor,
                now,
            )
            session.commit()
        yield running
        running.tool.extensions["tierpath.deliverer"].stop()
    running.tool.extensions["tierpath"].engine.dispose()


def wait_for(condition: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_statements_recorded_while_the_lrs_was_down_arrive_once_it_is_back(
    stack: LiveStack, lrs: LiveLrs
) -> None:
    lrs.stop()
    ana = Browser()
    home = ana.open(f"{stack.lms_url}/launch/rl-career-path?user=learner1")
    assert home.status_code == 200
    assert "In progress" in home.text  # enrolled although the LRS is down
    pre_link = re.search(r'href="([^"]+/pre\?[^"]+)"', home.text)
    assert pre_link is not None
    test_page = ana.open(urljoin(home.url, pre_link.group(1).replace("&amp;", "&")))
    assert test_page.status_code == 200
    forms, _ = forms_in(test_page.text)
    questions = sorted({name for name, _ in forms[0].fields if name.startswith("q-")})
    answers: dict[str, str | list[str]] = {}
    for name in questions:
        first = next(value for field, value in forms[0].fields if field == name)
        answers[name] = first
    result = ana.submit(test_page, 0, **answers)
    assert result.status_code == 200
    assert "points" in result.text  # her score, whatever the LRS does
    with runtime(stack.tool).session_factory() as session:
        recorded = set(session.scalars(sa.select(StoredStatement.id)))
        verbs = set(session.scalars(sa.select(StoredStatement.verb)))
    assert Verb.SCORED in verbs
    assert Verb.REGISTERED in verbs
    assert lrs.store.snapshot()["stored_ids"] == []
    lrs.start()
    wait_for(lambda: set(lrs.store.snapshot()["stored_ids"]) == recorded)
    state = lrs.store.snapshot()
    assert all(state["stored_count"][i] == 1 for i in recorded)


def test_evidence_files_reach_the_lrs_as_attachments(
    stack: LiveStack, lrs: LiveLrs
) -> None:
    report = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    ana = Browser()
    home = ana.open(f"{stack.lms_url}/launch/rl-career-path?user=learner1")
    link = re.search(r'href="([^"]*/rotations/[^"]*/reporting\?[^"]*)"', home.text)
    assert link is not None, home.text
    page = ana.open(urljoin(home.url, link.group(1).replace("&amp;", "&")))
    forms, _ = forms_in(page.text)
    form = next(f for f in forms if "/rotations/" in f.action)
    sent = ana.http.post(
        urljoin(page.url, form.action),
        data={**dict(form.fields), "note": "Report attached."},
        files={"files": ("report.pdf", report, "application/pdf")},
        timeout=10,
    )
    assert "Evidence submitted" in sent.text
    sha = hashlib.sha256(report).hexdigest()
    # The in-process deliverer sends it multipart/mixed with the file's bytes.
    wait_for(lambda: lrs.store.attachment(sha) == report)
