"""The SQL of AWS IoT rules: topic filters, the parser's errors, SELECT forms, WHERE
conditions, operators, functions and the rules engine's types (Undefined above all)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

import faaslib
from faaslib._services.iot_sql import (
    NO_MATCH,
    UNDEFINED,
    Message,
    RuleError,
    check_topic_filter,
    parse,
    topic_matches,
)

T0 = 1_700_000_000.25
V1, V2 = "2015-10-08", "2016-03-23"
READING = {"device": "d-7", "temperature": 50, "humidity": 32.5, "place": {"room": "kitchen"}}


def run(
    sql: str,
    payload: Any = READING,
    *,
    topic: str = "sensors/d-7/telemetry",
    version: str = V2,
    client_id: str | None = None,
) -> Any:
    """The statement's result for one message (payload: bytes as published, else its JSON)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    message = Message.of(
        topic,
        body,
        time=T0,
        account_id="111122223333",
        sql_version=version,
        client_id=client_id,
        trace_id=None,
    )
    return parse(sql, version).run(message)


def value(expression: str, payload: Any = READING, *, version: str = V2) -> Any:
    """One expression's value, through SELECT VALUE (Undefined comes back as itself)."""
    return run(f"SELECT VALUE {expression} FROM '#'", payload, version=version)


# -- topic filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/B", False),  # case-sensitive
        ("a/b", "a/b/c", False),
        ("a/+", "a/b", True),
        ("a/+", "a/", True),  # an empty level is a level
        ("a/+", "a", False),
        ("a/+", "a/b/c", False),
        ("+/+/c", "x/y/c", True),
        ("a/#", "a", True),  # "#" includes the parent level
        ("a/#", "a/b/c/d", True),
        ("a/#", "ab", False),
        ("#", "anything/at/all", True),
        ("+/b/#", "a/b", True),
        ("#", "$aws/things/t/shadow/update", False),  # wildcards skip $ topics
        ("+/things", "$aws/things", False),
        ("$aws/things/+", "$aws/things/t", True),
    ],
)
def test_topic_filters_match_as_mqtt(topic_filter: str, topic: str, expected: bool) -> None:
    assert check_topic_filter(topic_filter) is None
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("topic_filter", "problem"),
    [
        ("", "empty"),
        ("a/#/b", "'#' must be a whole level, the last"),
        ("a/b#", "'#' must be a whole level"),
        ("a/b+/c", "'+' must be a whole level"),
        ("/".join("abcdefghi"), "more than 7 forward slashes"),
        ("x" * 257, "longer than 256 bytes"),
    ],
)
def test_bad_topic_filters(topic_filter: str, problem: str) -> None:
    assert problem in str(check_topic_filter(topic_filter))
    with pytest.raises(faaslib.ValidationException, match=re.escape(problem)):
        parse(f"SELECT * FROM '{topic_filter}'")


def test_a_statement_matches_its_from_filter() -> None:
    statement = parse("SELECT * FROM 'sensors/+/telemetry'")
    assert statement.topic_filter == "sensors/+/telemetry"
    assert statement.matches("sensors/d-1/telemetry")
    assert not statement.matches("sensors/d-1/status")


# -- parse errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT FROM 'a'", "Expected an expression, found 'FROM' at line 1, column 8"),
        ("SELECT * FROM a/b", "Expected a quoted topic filter after FROM, found 'a' at line 1"),
        ("SELECT *", "Expected FROM, found the end of the statement at line 1, column 9"),
        ("select * from 'a' where", "found the end of the statement at line 1, column 24"),
        ("SELECT a FROM 'a' b", "Unexpected 'b' at line 1, column 19"),
        ("SELECT a ? b FROM 'a'", "Unexpected character '?' at line 1, column 10"),
        ("SELECT 'abc FROM 'a'", "Unterminated string literal at line 1, column 20"),
        ("SELECT nope(1) FROM 'a'", "Unknown function 'nope' at line 1, column 8"),
        ("SELECT a[0] FROM 'a'", "no [index] operator; use get(array, index)"),
        ("SELECT (a FROM 'a'", "Expected ')', found 'FROM'"),
        ("SELECT a AS FROM 'a'", "Expected a name after AS, found 'FROM'"),
        ("SELECT a. FROM 'a'", "Expected an attribute name after '.'"),
        ("SELECT VALUE a, b FROM 'a'", "SELECT VALUE takes one expression"),
        ("SELECT * FROM 'a' WHERE 1 < 2 < 3", "Comparisons do not chain"),
        ("SELECT CASE END FROM 'a'", "Expected WHEN, found 'END'"),
        ("SELECT cast(a AS Float) FROM 'a'", "Expected a type to cast to, found 'Float'"),
        ("SELECT {a: 1} AS o FROM 'a'", "Expected a quoted key, found 'a'"),
        ("SELECT a\n  FROM 'a'\n  WHERE >", "found '>' at line 3, column 9"),
    ],
)
def test_bad_sql_names_the_place(sql: str, message: str) -> None:
    with pytest.raises(faaslib.ValidationException) as caught:
        parse(sql, V2)
    assert message in str(caught.value)
    assert caught.value.field == "sql"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT {'a': 1} AS o FROM 'a'",
        "SELECT [1, 2] AS a FROM 'a'",
        "SELECT encode(*, 'base64') AS d FROM 'a'",
        "SELECT decode(d, 'base64') AS d FROM 'a'",
        "SELECT cast(a AS Boolean) AS b FROM 'a'",
    ],
)
def test_2016_features_are_refused_by_the_2015_version(sql: str) -> None:
    with pytest.raises(faaslib.ValidationException, match="needs SQL version 2016-03-23"):
        parse(sql, V1)
    parse(sql, V2)
    parse(sql, "beta")


def test_bad_versions_and_empty_statements() -> None:
    with pytest.raises(faaslib.ValidationException, match="awsIotSqlVersion"):
        parse("SELECT * FROM 'a'", "2020-01-01")
    with pytest.raises(faaslib.ValidationException, match="non-empty"):
        parse("  ")


# -- SELECT ----------------------------------------------------------------------------------


def test_select_forms() -> None:
    assert run("SELECT * FROM '#'") == READING
    assert run("SELECT device FROM '#'") == {"device": "d-7"}
    assert run("SELECT device AS id, temperature AS t FROM '#'") == {"id": "d-7", "t": 50}
    assert run("SELECT *, 15 AS speed FROM '#'") == {**READING, "speed": 15}
    assert run("SELECT VALUE device FROM '#'") == "d-7"
    assert run("SELECT place.room FROM '#'") == {"room": "kitchen"}  # the last name
    assert run("SELECT place.room AS loc.room FROM '#'") == {"loc": {"room": "kitchen"}}
    assert run("select Device, DEVICE as d from '#'") == {}  # keys are case-sensitive


def test_the_documented_celsius_example() -> None:
    result = run(
        "SELECT (temperature - 32) * 5 / 9 AS celsius, upper(device) AS id FROM '#'",
        {"device": "d-7", "temperature": 50},
    )
    assert result == {"celsius": 10, "id": "D-7"}


def test_unaliased_items_take_a_name() -> None:
    result = run("SELECT topic(2), timestamp(), temperature + 1, 'x' FROM '#'")
    assert result == {"topic": "d-7", "timestamp": 1_700_000_000_250, "_3": 51, "_4": "x"}


def test_undefined_values_are_left_out() -> None:
    assert run("SELECT missing, place.missing, device.room, abs('x') AS a FROM '#'") == {}
    assert run("SELECT nothing AS n, NULL AS z FROM '#'") == {"z": None}  # Null is a value
    assert run("SELECT VALUE missing FROM '#'") is UNDEFINED


def test_select_star_of_payloads_that_are_not_objects() -> None:
    assert run("SELECT * FROM '#'", b"\x00\xffraw") == b"\x00\xffraw"  # as published
    assert run("SELECT * FROM '#'", b"plain text") == b"plain text"
    assert run("SELECT * FROM '#'", [1, 2]) == [1, 2]
    assert run("SELECT *, 1 AS n FROM '#'", b"") == {"n": 1}  # an empty payload takes items
    with pytest.raises(RuleError, match=re.escape("encode(*, 'base64')")):
        run("SELECT *, 1 AS n FROM '#'", b"\x00\xff")
    with pytest.raises(RuleError):
        run("SELECT *, 1 AS n FROM '#'", [1, 2])


def test_binary_payloads_through_encode() -> None:
    raw = bytes(range(256))
    result = run("SELECT encode(*, 'base64') AS data, timestamp() AS ts FROM '#'", raw)
    assert base64.b64decode(result["data"]) == raw
    assert result["ts"] == 1_700_000_000_250
    # "*" is the payload as published, JSON or not
    text = b'{"a": 1}'
    assert run("SELECT VALUE encode(*, 'base64') FROM '#'", text) == base64.b64encode(text).decode()
    # names read nothing of a binary payload: undefined, so a WHERE on them is false
    assert run("SELECT device FROM '#'", raw) == {}
    assert run("SELECT * FROM '#' WHERE device = 'd-7'", raw) is NO_MATCH
    assert run("SELECT * FROM '#' WHERE timestamp() % 2 = 0", raw) == raw


def test_object_and_array_literals() -> None:
    result = run(
        "SELECT {'latitude': get(at, 0), 'longitude': get(at, 1), 'x': nothing} AS at, "
        "[device, nothing, 1] AS list FROM '#'",
        {"at": [47.6, -122.3], "device": "d"},
    )
    assert result == {"at": {"latitude": 47.6, "longitude": -122.3}, "list": ["d", 1]}


SENML: dict[str, Any] = {
    "e": [
        {"n": "pressure", "u": "hPa", "v": 1013.2},
        {"n": "wind", "u": "m/s", "v": 7},
        {"n": "rain", "u": "mm", "v": 0.4},
    ],
    "meta": {"site": "harbour", "ok": True},
}


def test_nested_object_queries() -> None:
    assert run("SELECT (SELECT VALUE n FROM e) AS names FROM '#'", SENML) == {
        "names": ["pressure", "wind", "rain"]
    }
    assert run("SELECT (SELECT v, u FROM e WHERE v > 1) AS big FROM '#'", SENML) == {
        "big": [{"v": 1013.2, "u": "hPa"}, {"v": 7, "u": "m/s"}]
    }
    flat = "SELECT get((SELECT v FROM e WHERE n = 'wind'), 0).v AS wind FROM '#'"
    assert run(flat, SENML) == {"wind": 7}
    assert run("SELECT (SELECT site FROM meta) AS m FROM '#'", SENML) == {"m": {"site": "harbour"}}
    assert run("SELECT (SELECT * FROM e WHERE n = 'rain') AS r FROM '#'", SENML) == {
        "r": [SENML["e"][2]]
    }
    assert run(
        "SELECT (SELECT VALUE x FROM e) AS none, (SELECT a FROM meta.site) AS s FROM '#'", SENML
    ) == {
        "none": []  # an element without x adds nothing; a string is no source: Undefined
    }
    assert (
        run("SELECT * FROM '#' WHERE get((SELECT VALUE v FROM e WHERE n = 'wind'), 0) > 5", SENML)
        == SENML
    )
    with pytest.raises(faaslib.ValidationException, match="nested SELECT needs SQL version"):
        parse("SELECT (SELECT VALUE n FROM e) AS n FROM '#'", V1)
    with pytest.raises(faaslib.ValidationException, match="Expected '\\)'"):
        parse("SELECT (SELECT VALUE n FROM e AS n FROM '#'", V2)


# -- WHERE -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ("temperature > 40", True),
        ("temperature >= 50", True),
        ("temperature < 50", False),
        ("temperature <= 50.0", True),
        ("temperature = 50", True),
        ("temperature = 50.0", True),  # Int and Decimal compare by value
        ("temperature <> 50", False),
        ("temperature = '50'", False),  # mismatched types are not equal
        ("temperature > '40'", True),  # ordering converts numeric strings
        ("device = 'd-7'", True),
        ('device = "d-7"', True),
        ("device <> 'd-8'", True),
        ("place = {'room': 'kitchen'}", True),
        ("place.room = 'kitchen' AND temperature > 10", True),
        ("place.room = 'hall' OR temperature > 10", True),
        ("NOT place.room = 'hall'", True),
        ("NOT (temperature > 10 AND humidity > 50)", True),
        ("missing = 1", False),  # Undefined is never true
        ("missing <> 1", False),
        ("NOT missing = 1", False),
        ("missing > 1 OR temperature > 10", False),  # Undefined spoils OR too
        ("device > 1", False),  # not a number: Undefined
        ("isNull(nothing) AND isUndefined(missing)", True),
        ("startswith(device, 'd-') AND endswith(topic(), 'telemetry')", True),
        ("'true'", True),
        ("'TRUE' AND true", True),
        ("1", False),  # a number is not a Boolean
        ("temperature % 7 = 1", True),
        ("-temperature < 0", True),
        ("CASE WHEN temperature > 40 THEN true ELSE false END", True),
    ],
)
def test_where_conditions(condition: str, matches: bool) -> None:
    payload = {**READING, "nothing": None}
    result = run(f"SELECT device FROM '#' WHERE {condition}", payload)
    assert (result is not NO_MATCH) is matches


# -- operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("7 / 2", 3),  # Int / Int is an Int, towards zero
        ("-7 / 2", -3),
        ("7 % 3", 1),
        ("-7 % 3", -1),  # the remainder keeps the dividend's sign
        ("7.0 / 2", 3.5),
        ("1.5 + 1", 2.5),
        ("'5' - 2", 3),  # numeric strings convert (a Decimal; 2016 makes it whole)
        ("'5' * '2'", 10),
        ("'x' - 1", UNDEFINED),
        ("1 / 0", UNDEFINED),
        ("1.0 / 0", UNDEFINED),
        ("'a' + 1", "a1"),  # + concatenates with a string
        ("1 + 'a'", "1a"),
        ("true + 1", UNDEFINED),
        ("'a' + nothing", UNDEFINED),  # Null has no string form
        ("missing + 1", UNDEFINED),
        ("-'2.5'", -2.5),
        ("2 * (3 + 4)", 14),
        ("2 * 3 + 4", 10),
        ("null = null", True),
        ("null <> null", False),
        ("[1, 'a'] = [1, 'a']", True),
        ("[1, 2] = [2, 1]", False),
        ("{'a': 1, 'b': 2} = {'b': 2, 'a': 1}", True),
        ("true = 'true'", False),
        ("1 = true", False),
    ],
)
def test_operators(expression: str, expected: Any) -> None:
    assert value(expression, {"nothing": None}) == expected


# -- functions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("topic()", "sensors/d-7/telemetry"),
        ("topic(1)", "sensors"),
        ("topic(3)", "telemetry"),
        ("topic(4)", UNDEFINED),
        ("topic(0)", UNDEFINED),
        ("timestamp()", 1_700_000_000_250),
        ("accountid()", "111122223333"),
        ("clientid()", "n/a"),  # published in-process, not over MQTT
        ("traceid()", UNDEFINED),
        ("sql_version()", "2016-03-23"),
        ("upper('hello')", "HELLO"),
        ("lower('HeLLo')", "hello"),
        ("upper(place)", '{"ROOM":"KITCHEN"}'),  # converted to its JSON first
        ("upper(nothing)", UNDEFINED),
        ("concat('con', 'cat')", "concat"),
        ("concat(1, 'hello')", "1hello"),
        ("concat([1, 2], 3, [4])", [1, 2, 3, 4]),
        ("concat(1)", 1),
        ("concat()", UNDEFINED),
        ("concat(1, 2)", UNDEFINED),
        ("abs(-5)", 5),
        ("abs('-5.5')", 5.5),
        ("abs(true)", UNDEFINED),
        ("round(1.5)", 2),
        ("round(-1.5)", -2),
        ("round(1.2)", 1),
        ("floor(-1.2)", -2),
        ("ceil(1.2)", 2),
        ("ceil(-1.2)", -1),
        ("Round('2.5')", 3),  # names are case-insensitive
        ("mod(8, 3)", 2),
        ("remainder(8, 3)", 2),
        ("sign(-7)", -1),
        ("sqrt(9)", 3),
        ("sqrt(-1)", UNDEFINED),
        ("get(['a', 'b', 'c'], 1)", "b"),
        ("get(['a'], 5)", UNDEFINED),
        ("get({'a': 'b'}, 'a')", "b"),
        ("get('abc', 1)", "b"),
        ("substring('012345', 2)", "2345"),
        ("substring('012345', 1, 3)", "12"),
        ("substring('012345', -50, 50)", "012345"),
        ("substring('012345', 3, 1)", ""),
        ("substring(true, 1.2)", "rue"),
        ("startswith('ranger', 'ran')", True),
        ("endswith('cat', 'at')", True),
        ("endswith(nothing, 'at')", UNDEFINED),
        ("indexof('abcd', 'bc')", 1),
        ("length('hi')", 2),
        ("length(false)", 5),
        ("numbytes('€')", 3),
        ("replace('abcdabcd', 'b', 'x')", "axcdaxcd"),
        ("trim('  hi ')", "hi"),
        ("ltrim(' h i ')", "h i "),
        ("rtrim(' h i ')", " h i"),
        ("isNull(nothing)", True),
        ("isNull(missing)", False),
        ("isUndefined(missing)", True),
        ("isUndefined(floor([1, 2]))", True),
        ("cast(true AS Int)", 1),
        ("cast('5.9' AS Int)", 5),
        ("cast(5 AS String)", "5"),
        ("cast('TRUE' AS Boolean)", True),
        ("cast(0 AS Bool)", False),
        ("cast([1] AS Int)", UNDEFINED),
        ("encode('hi', 'base64')", "aGk="),
        ("decode('aGk=', 'base64')", "hi"),
        ("decode('eyJ0IjogMzN9', 'base64').t", 33),  # decoded JSON is addressable
        ("decode('%%%', 'base64')", None),
        ("CASE device WHEN 'd-1' THEN 1 WHEN 'd-7' THEN 7 ELSE 0 END", 7),
        ("CASE device WHEN 'x' THEN 1 END", UNDEFINED),
        ("CASE missing WHEN 1 THEN 1 ELSE 2 END", UNDEFINED),  # an undefined subject
        ("CASE WHEN missing = 1 THEN 1 ELSE 2 END", 2),
    ],
)
def test_functions(expression: str, expected: Any) -> None:
    assert value(expression, {**READING, "nothing": None}) == expected


def test_newuuid_is_fresh_for_every_call() -> None:
    result = run("SELECT newuuid() AS a, newuuid() AS b FROM '#'")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", result["a"]
    )
    assert result["a"] != result["b"]


def test_clientid_of_an_mqtt_client() -> None:
    result = run("SELECT clientid() AS c FROM '#'", client_id="thermostat-1")
    assert result == {"c": "thermostat-1"}


def test_arguments_a_function_cannot_use_are_undefined() -> None:
    assert value("upper()") is UNDEFINED
    assert value("upper('a', 'b')") is UNDEFINED
    assert value("topic(1, 2)") is UNDEFINED
    assert value("timestamp(1)") is UNDEFINED
    assert value("encode('a', 'hex')") is UNDEFINED


# -- versions --------------------------------------------------------------------------------


def test_whole_decimals_are_ints_in_2016_only() -> None:
    payload = {"t": 10.0, "deep": [2.0, {"x": 3.0}]}
    assert run("SELECT * FROM '#'", payload, version=V2) == {"t": 10, "deep": [2, {"x": 3}]}
    v1 = run("SELECT * FROM '#'", payload, version=V1)
    assert v1 == payload
    assert isinstance(v1["t"], float)
    assert isinstance(run("SELECT t FROM '#'", payload, version=V2)["t"], int)
    assert value("7.0 / 2", version=V1) == 3.5
