"""A valid launch lands each role on its page, bound to a server-side session."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import FakeClock
from tests.support.platform import (
    ADMIN,
    INSTRUCTOR,
    LEARNER,
    SimulatedPlatform,
    launch_id_from,
)


def test_learner_launch_lands_on_learner_home(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock(), roles=LEARNER)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/home?launch=")
    home = client.get(response.headers["Location"])
    assert home.status_code == 303
    page = client.get(home.headers["Location"])
    assert page.status_code == 200
    assert "Welcome, Ana" in page.get_data(as_text=True)


def test_instructor_launch_lands_on_instructor_home(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock(), roles=INSTRUCTOR)
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 200
    assert "Contact Centre Careers 101" in page.get_data(as_text=True)
    assert page.request.path == "/instructor/"


def test_admin_launch_lands_on_admin_page(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock(), roles=ADMIN)
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.request.path == "/admin/"
    assert platform.issuer in page.get_data(as_text=True)


def test_session_cookie_is_iframe_ready_over_https(
    client: FlaskClient, platform: SimulatedPlatform, clock: FakeClock
) -> None:
    response, _ = platform.full_launch(client, clock())
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("tierpath_session="))
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned"):
        assert attribute in session_cookie
    launch_id = launch_id_from(response.headers["Location"])
    assert launch_id not in session_cookie


def test_about_page_shows_registration_urls_without_sign_in(
    client: FlaskClient,
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "https://tool.test/lti/login" in page.get_data(as_text=True)
