"""The read API's query is checked parameter by parameter; bad input says what is wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from xapi.query import (
    DEFAULT_PAGE,
    SERVER_MAX,
    Position,
    QueryError,
    SingleStatement,
    StatementQuery,
    decode_cursor,
    encode_cursor,
    ids_only,
    parse_statement_query,
    single_values,
)

KEY = b"k" * 32
STATEMENT_ID = "3b241101-e2bb-4255-8caf-4136c566a962"
ACCOUNT = {"homePage": "https://lms.example.com", "name": "sub-42"}


def parse(**params: str) -> StatementQuery | SingleStatement:
    return parse_statement_query(params, KEY)


def parse_list(**params: str) -> StatementQuery:
    query = parse(**params)
    assert isinstance(query, StatementQuery)
    return query


def refusal(**params: str) -> str:
    with pytest.raises(QueryError) as caught:
        parse(**params)
    return str(caught.value)


def test_no_parameters_is_a_newest_first_page_of_the_default_size() -> None:
    assert parse() == StatementQuery(limit=DEFAULT_PAGE, ascending=False)


def test_every_filter_is_read_and_normalised() -> None:
    query = parse_list(
        agent=json.dumps({"account": ACCOUNT}),
        verb="http://adlnet.gov/expapi/verbs/passed",
        activity="https://tool.example.com/programs/p/modules/m1",
        registration=STATEMENT_ID.upper(),
        since="2024-05-01T08:00:00Z",
        until="2024-05-01T10:00:00+02:00",
        limit="20",
        ascending="true",
        format="ids",
        attachments="false",
        related_activities="false",
        related_agents="false",
    )
    assert query == StatementQuery(
        agent="account:https://lms.example.com sub-42",
        verb="http://adlnet.gov/expapi/verbs/passed",
        activity="https://tool.example.com/programs/p/modules/m1",
        registration=STATEMENT_ID,
        since=datetime(2024, 5, 1, 8, tzinfo=UTC),
        until=datetime(2024, 5, 1, 8, tzinfo=UTC),
        limit=20,
        ascending=True,
        format="ids",
    )


@pytest.mark.parametrize(
    ("sent", "page"),
    [("0", SERVER_MAX), ("501", SERVER_MAX), ("1", 1), ("9" * 40, SERVER_MAX)],
)
def test_limit_zero_or_too_large_means_the_server_maximum(sent: str, page: int) -> None:
    assert parse_list(limit=sent).limit == page


@pytest.mark.parametrize("sent", ["-1", "ten", "1.5", "", " 5"])
def test_limit_must_be_a_whole_number(sent: str) -> None:
    assert "limit must be a whole number" in refusal(limit=sent)


def test_unknown_parameters_are_named() -> None:
    message = refusal(verbs="x", page="2")
    assert "unknown parameters: page, verbs" in message


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(QueryError, match="once: verb"):
        single_values([("verb", "a:b"), ("verb", "c:d"), ("limit", "1")])
    assert single_values([("verb", "a:b")]) == {"verb": "a:b"}


@pytest.mark.parametrize(
    ("agent", "says"),
    [
        ("{not json", "agent must be a JSON object"),
        ('"mailto:a@example.com"', "an agent must be a JSON object"),
        ("{}", "exactly one of mbox"),
        ('{"mbox": "a@example.com"}', "mbox must be a mailto: IRI"),
        (
            '{"objectType": "Activity", "mbox": "mailto:a@example.com"}',
            "Agent or Group",
        ),
    ],
)
def test_an_unusable_agent_is_refused_with_the_reason(agent: str, says: str) -> None:
    assert says in refusal(agent=agent)


def test_an_mbox_agent_becomes_its_ifi_key() -> None:
    query = parse_list(agent='{"objectType": "Agent", "mbox": "mailto:a@example.com"}')
    assert query.agent == "mbox:mailto:a@example.com"


@pytest.mark.parametrize("name", ["verb", "activity"])
def test_verb_and_activity_must_be_absolute_iris(name: str) -> None:
    assert "absolute IRI" in refusal(**{name: "passed"})
    assert "absolute IRI" in refusal(**{name: ""})


def test_registration_must_be_a_uuid() -> None:
    assert "registration must be a UUID" in refusal(registration="enrolment-7")


@pytest.mark.parametrize("name", ["since", "until"])
def test_timestamps_need_a_timezone(name: str) -> None:
    assert "needs a timezone" in refusal(**{name: "2024-05-01T08:00:00"})
    assert "needs a timezone" in refusal(**{name: "2024-05-01"})
    assert "ISO 8601" in refusal(**{name: "yesterday"})


def test_an_unencoded_plus_in_a_timestamp_gets_a_hint() -> None:
    assert "%2B" in refusal(since="2024-05-01T08:00:00 02:00")


def test_timestamps_are_converted_to_utc() -> None:
    query = parse_list(since="2024-05-01T08:00:00.250-05:00")
    assert query.since == datetime(2024, 5, 1, 13, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize("name", ["ascending", "attachments", "related_agents"])
def test_booleans_are_true_or_false_only(name: str) -> None:
    assert "must be true or false" in refusal(**{name: "yes"})


def test_attachments_and_related_filters_are_refused_when_true() -> None:
    assert "attachments are not served" in refusal(attachments="true")
    assert "related_activities=true is not supported" in refusal(
        related_activities="true"
    )
    assert "related_agents=true is not supported" in refusal(related_agents="true")


def test_format_is_exact_ids_or_canonical() -> None:
    assert parse_list(format="canonical").format == "canonical"
    assert "format must be one of exact, ids, canonical" in refusal(format="full")


def test_statement_id_asks_for_one_statement() -> None:
    assert parse(statementId=STATEMENT_ID.upper(), format="ids") == SingleStatement(
        STATEMENT_ID, voided=False, format="ids"
    )
    assert parse(voidedStatementId=STATEMENT_ID, attachments="false") == (
        SingleStatement(STATEMENT_ID, voided=True)
    )


def test_statement_id_cannot_be_combined_with_filters() -> None:
    assert "cannot be combined with limit, verb" in refusal(
        statementId=STATEMENT_ID, verb="a:b", limit="1"
    )
    assert "not both" in refusal(
        statementId=STATEMENT_ID, voidedStatementId=STATEMENT_ID
    )
    assert "must be a UUID" in refusal(statementId="42")


def test_a_cursor_round_trips_the_query_and_position() -> None:
    query = parse_list(
        agent=json.dumps({"account": ACCOUNT}),
        since="2024-05-01T08:00:00Z",
        limit="7",
        ascending="true",
        format="ids",
    )
    position = Position(datetime(2024, 5, 2, 9, 1, 2, 345678, tzinfo=UTC), 1234)
    token = encode_cursor(query, position, KEY)
    assert parse(cursor=token) == StatementQuery(
        agent=query.agent,
        since=query.since,
        limit=7,
        ascending=True,
        format="ids",
        after=position,
    )


def test_a_cursor_must_come_alone() -> None:
    token = encode_cursor(StatementQuery(), Position(datetime.now(UTC), 1), KEY)
    assert "without other parameters" in refusal(cursor=token, limit="5")


def test_an_altered_or_foreign_cursor_is_refused() -> None:
    position = Position(datetime(2024, 5, 2, tzinfo=UTC), 10)
    token = encode_cursor(StatementQuery(verb="a:b"), position, KEY)
    body, mac = token.split(".")
    forged_body = encode_cursor(StatementQuery(), position, KEY).split(".")[0]
    for bad in (
        f"{forged_body}.{mac}",  # another query under this signature
        f"{body}.{mac[:-2]}AA",
        encode_cursor(StatementQuery(verb="a:b"), position, b"another key"),
        "not-a-token",
        "a.b.c",
        "%%%.***",
        "",
    ):
        with pytest.raises(QueryError, match="not one this server issued"):
            decode_cursor(bad, KEY)


def test_cursor_timestamps_keep_their_instant_in_any_zone() -> None:
    local = timezone(timedelta(hours=-3))
    position = Position(datetime(2024, 5, 2, 6, 0, tzinfo=local), 3)
    decoded = decode_cursor(encode_cursor(StatementQuery(), position, KEY), KEY)
    assert decoded.after == Position(datetime(2024, 5, 2, 9, 0, tzinfo=UTC), 3)


def test_ids_format_keeps_only_what_identifies_agents_activities_and_verbs() -> None:
    activity = {
        "objectType": "Activity",
        "id": "https://tool.example.com/programs/p/modules/m1",
        "definition": {"name": {"en": "Module 1"}},
    }
    statement: dict[str, Any] = {
        "id": STATEMENT_ID,
        "actor": {"objectType": "Agent", "name": "Ana", "account": ACCOUNT},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": {"en": "p"}},
        "object": activity,
        "result": {"success": True},
        "context": {
            "registration": STATEMENT_ID,
            "instructor": {"name": "Bo", "mbox": "mailto:bo@example.com"},
            "team": {
                "objectType": "Group",
                "name": "Night shift",
                "member": [{"name": "Ana", "account": ACCOUNT}],
            },
            "contextActivities": {"parent": [activity], "category": activity},
        },
    }
    reduced = ids_only(statement)
    assert reduced["actor"] == {"objectType": "Agent", "account": ACCOUNT}
    assert reduced["verb"] == {"id": "http://adlnet.gov/expapi/verbs/passed"}
    assert reduced["object"] == {"objectType": "Activity", "id": activity["id"]}
    assert reduced["result"] == {"success": True}
    context = reduced["context"]
    assert context["instructor"] == {"mbox": "mailto:bo@example.com"}
    assert context["team"] == {"objectType": "Group", "member": [{"account": ACCOUNT}]}
    assert context["contextActivities"]["parent"] == [
        {"objectType": "Activity", "id": activity["id"]}
    ]
    assert context["contextActivities"]["category"] == {
        "objectType": "Activity",
        "id": activity["id"],
    }
    assert statement["actor"]["name"] == "Ana"  # the input is left alone


def test_ids_format_reduces_a_sub_statement_and_keeps_a_statement_ref() -> None:
    sub = {
        "objectType": "SubStatement",
        "actor": {"name": "Ana", "mbox": "mailto:a@example.com"},
        "verb": {"id": "a:b", "display": {"en": "b"}},
        "object": {"id": "a:c", "definition": {}},
    }
    assert ids_only({"object": sub})["object"] == {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": "a:b"},
        "object": {"id": "a:c"},
    }
    ref = {"objectType": "StatementRef", "id": STATEMENT_ID}
    assert ids_only({"object": ref})["object"] == ref
