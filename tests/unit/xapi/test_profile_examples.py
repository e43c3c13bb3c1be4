"""docs/xapi-profile.md is the profile: its examples are what the builders send.

Every `<!-- example: NAME -->` json block must equal what `xapi.examples`
builds now (so the document cannot drift from the code), validate with Ralph's
independent xAPI models, and use only IRIs that the document's tables list and
`xapi/vocabulary.py` defines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ralph.models.xapi.base.statements import (  # type: ignore[import-untyped, unused-ignore]
    BaseXapiStatement,
)

from xapi import vocabulary
from xapi.examples import EVENTS, examples

DOC = Path(__file__).resolve().parents[3] / "docs" / "xapi-profile.md"
EXAMPLE = re.compile(
    r"^<!-- example: (?P<name>[a-z0-9-]+) -->\n```json\n(?P<body>.*?)\n```$",
    re.MULTILINE | re.DOTALL,
)
MARKER = re.compile(r"<!-- example: ([^ ]+) -->")
IRI_IN_TABLE = re.compile(r"`(https?://[^`\s]+)`")


@pytest.fixture(scope="module")
def text() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def documented(text: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for match in EXAMPLE.finditer(text):
        name = match["name"]
        assert name not in found, f"two examples named {name}"
        found[name] = json.loads(match["body"])
    return found


@pytest.fixture(scope="module")
def built() -> dict[str, dict[str, Any]]:
    return examples()


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def table_iris(text: str) -> set[str]:
    return {iri for row in table_rows(text) for iri in IRI_IN_TABLE.findall(row)}


def vocabulary_iris() -> set[str]:
    iris = set()
    for kind in (
        vocabulary.Verb,
        vocabulary.ActivityType,
        vocabulary.AttachmentUsage,
        vocabulary.Extension,
    ):
        for name, value in vars(kind).items():
            if name.isupper() and isinstance(value, str):
                iris.add(value)
    return iris


def used_iris(statement: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(role, IRI) for every verb, activity type, usage type and extension used."""
    yield "verb", statement["verb"]["id"]
    activities = [statement["object"]]
    context = statement.get("context", {})
    for group in context.get("contextActivities", {}).values():
        activities.extend(group)
    for activity in activities:
        kind = activity.get("definition", {}).get("type")
        if kind:
            yield "activity type", kind
    for attachment in statement.get("attachments", []):
        yield "attachment usage type", attachment["usageType"]
    for part in (context, statement.get("result", {})):
        for key in part.get("extensions", {}):
            yield "extension", key


def test_every_event_has_exactly_one_example_in_order(text: str) -> None:
    markers = MARKER.findall(text)
    assert markers == list(EVENTS)


def test_every_marker_is_followed_by_a_json_block(
    text: str, documented: dict[str, dict[str, Any]]
) -> None:
    assert list(documented) == MARKER.findall(text)


@pytest.mark.parametrize("name", EVENTS)
def test_example_is_what_the_builders_produce(
    name: str,
    documented: dict[str, dict[str, Any]],
    built: dict[str, dict[str, Any]],
) -> None:
    assert name in documented, f"docs/xapi-profile.md has no example {name}"
    assert documented[name] == built[name], (
        f"example {name} drifted: regenerate with `python -m xapi.examples`"
    )


@pytest.mark.parametrize("name", EVENTS)
def test_example_is_valid_xapi(
    name: str, documented: dict[str, dict[str, Any]]
) -> None:
    statement = documented[name]
    BaseXapiStatement(**statement)
    assert "version" not in statement
    assert statement["timestamp"].endswith(("Z", "+00:00"))
    assert statement["actor"]["account"]  # pseudonymous account, never mbox
    assert "mbox" not in json.dumps(statement)
    category = statement["context"]["contextActivities"]["category"]
    assert {"id": vocabulary.PROFILE, "objectType": "Activity"} in category


@pytest.mark.parametrize("name", EVENTS)
def test_example_iris_are_in_the_tables_and_the_vocabulary(
    name: str, text: str, documented: dict[str, dict[str, Any]]
) -> None:
    in_tables = table_iris(text)
    defined = vocabulary_iris()
    for role, iri in used_iris(documented[name]):
        assert iri in in_tables, f"{role} {iri} is not in the profile's tables"
        assert iri in defined, f"{role} {iri} is not defined in xapi/vocabulary.py"


def test_every_vocabulary_iri_is_documented(text: str) -> None:
    missing = vocabulary_iris() - table_iris(text)
    assert not missing, f"not in the profile's tables: {sorted(missing)}"
    assert f"`{vocabulary.PROFILE}`" in text


def test_verb_table_displays_match_the_vocabulary(text: str) -> None:
    displays = {}
    for row in table_rows(text):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) >= 2 and cells[0].strip("`") in vocabulary.Verb.DISPLAY:
            displays[cells[0].strip("`")] = cells[1]
    assert displays == vocabulary.Verb.DISPLAY


def test_examples_tell_one_consistent_story(
    documented: dict[str, dict[str, Any]],
) -> None:
    ids = [statement["id"] for statement in documented.values()]
    assert len(set(ids)) == len(ids)
    graded, submitted = documented["evidence-graded"], documented["evidence-submitted"]
    assert graded["context"]["statement"]["id"] == submitted["id"]
    assert graded["object"]["id"] == submitted["object"]["id"]
    assert documented["voided"]["object"] == {
        "objectType": "StatementRef",
        "id": graded["id"],
    }
