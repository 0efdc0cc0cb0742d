"""CloudWatch Logs filter patterns: terms, JSON and space-delimited forms, with the AWS
documentation's own examples and the edges between them."""

from __future__ import annotations

import json

import pytest

from faaslib import InvalidParameterException
from faaslib._services.log_patterns import (
    MAX_FILTER_PATTERN,
    LogPattern,
)


def matching(pattern: str, *messages: str) -> list[str]:
    compiled = LogPattern(pattern)
    return [m for m in messages if compiled.matches(m)]


# -- Terms ---------------------------------------------------------------------------------------

LINES = ("ERROR WARN message", "ERROR message", "WARN message")


@pytest.mark.parametrize("pattern", ["", "   "])
def test_an_empty_pattern_matches_everything(pattern: str) -> None:
    assert matching(pattern, "anything", " ", "{}") == ["anything", " ", "{}"]
    assert LogPattern(pattern).kind == "terms"
    assert LogPattern(pattern).match("x") == {}


def test_a_term_is_a_case_sensitive_substring() -> None:
    assert matching(
        "ERROR",
        "[ERROR] A fatal exception has occurred",
        "Exiting with ERRORCODE: -1",
        "error: lower case",
    ) == ["[ERROR] A fatal exception has occurred", "Exiting with ERRORCODE: -1"]


def test_every_term_must_appear_in_any_order() -> None:
    assert matching(
        "ERROR Exception",
        "[ERROR] Caught IllegalArgumentException",
        "Exception first, then ERROR",
        "[ERROR] only",
    ) == ["[ERROR] Caught IllegalArgumentException", "Exception first, then ERROR"]
    assert matching("ERROR WARN", *LINES) == ["ERROR WARN message"]


def test_a_quoted_phrase_is_one_term() -> None:
    pattern = '"Failed to process the request"'
    assert matching(
        pattern,
        "[WARN] Failed to process the request",
        "the request Failed to process",
    ) == ["[WARN] Failed to process the request"]
    assert matching('"ERROR:" "401"', "ERROR: 401 denied", "ERROR 401") == ["ERROR: 401 denied"]
    assert matching(r'"say \"hi\""', 'they say "hi"', "say hi") == ['they say "hi"']


def test_a_minus_excludes_a_term() -> None:
    assert matching("ERROR -WARN", *LINES) == ["ERROR message"]
    # the documentation's form, with spaces and quotes
    assert matching('"ERROR" - "Exiting"', "[ERROR] fatal", "Exiting with ERRORCODE: -1") == [
        "[ERROR] fatal"
    ]
    assert matching("-DEBUG", "INFO a", "DEBUG b") == ["INFO a"]


def test_a_question_mark_makes_alternatives() -> None:
    assert matching("?ERROR ?WARN", *LINES, "INFO message") == list(LINES)
    # each ? starts a group of terms that must all appear: (ERROR and Main) or (WARN and Lock)
    pattern = '?ERROR "Main" ?WARN Lock'
    assert matching(pattern, "ERROR in Main", "ERROR elsewhere", "WARN Lock held", "WARN") == [
        "ERROR in Main",
        "WARN Lock held",
    ]
    assert matching("?ERROR -Retry ?FATAL", "ERROR x", "ERROR Retry", "FATAL Retry") == [
        "ERROR x",
        "FATAL Retry",
    ]


def test_a_regex_term_is_searched() -> None:
    assert matching("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST", "[OK] fine") == [
        "[ERROR 401] UNAUTHORIZED REQUEST"
    ]
    assert matching(r"%^\[[A-Z]+\]%", "[ERROR] boom", "x [ERROR]") == ["[ERROR] boom"]
    assert matching("%gr[ae]y%", "grey", "gray", "green") == ["grey", "gray"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("ERROR:", "Invalid character(s) in term 'ERROR:'"),
        ("a.b", "Invalid character(s) in term 'a.b'"),
        ('"unclosed', "a quoted string is not closed"),
        ("%unclosed", "expected a closing '%'"),
        ("%a(b)%", "no parentheses"),
        ("%a b%", "a %regex% holds"),
        ("%%", "a %regex% holds"),
    ],
)
def test_terms_that_do_not_parse(pattern: str, message: str) -> None:
    with pytest.raises(InvalidParameterException) as raised:
        LogPattern(pattern)
    assert message in str(raised.value)
    assert raised.value.error_type == "InvalidParameterException"


def test_a_pattern_is_at_most_1024_characters() -> None:
    LogPattern("a" * MAX_FILTER_PATTERN)
    with pytest.raises(InvalidParameterException, match="less than or equal to 1024"):
        LogPattern("a" * (MAX_FILTER_PATTERN + 1))


# -- JSON ----------------------------------------------------------------------------------------

TRAIL = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
        "OtherFlag": False,
        "latency": 1200,
        "numbers": [5, 0.5],
        "processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}],
        "errorCode": 400,
        "code": "404",
    }
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventType = "UpdateTrail" }', True),
        ("{ $.eventType = UpdateTrail }", True),  # letters and digits need no quotes
        ('{ $.eventType = "updatetrail" }', False),  # case-sensitive
        ('{ $.eventType != "UpdateTrail" }', False),
        ("{ $.sourceIPAddress != 123.123.* }", True),
        ("{ $.sourceIPAddress = 111.111.* }", True),
        ("{ $.eventType = *Trail }", True),
        ("{ $.eventType = Update* }", True),
        ("{ $.eventType = *date* }", True),
        ("{ $.eventType = Up*Trail }", False),  # a * in the middle is itself
        ("{ $.eventType = * }", True),
        ("{ $.missing = * }", False),
        ('{ $.arrayKey[0] = "value" }', True),
        ('{ $.arrayKey[1] = "another value" }', True),
        ('{ $.arrayKey[2] = "value" }', False),
        ('{ $.eventType[0] = "U" }', False),  # not an array
        ("{ $.objectList[1].id = 2 }", True),
        ("{ $.objectList[1].id = 1 }", False),
        ("{ $.objectList[0].missing = 1 }", False),
        ("{ $.SomeObject IS NULL }", True),
        ("{ $.eventType IS NULL }", False),
        ("{ $.SomeOtherObject IS NULL }", False),  # absent is not null
        ("{ $.SomeOtherObject NOT EXISTS }", True),
        ("{ $.SomeObject NOT EXISTS }", False),
        ("{ $.objectList NOT EXISTS }", False),
        ("{ $.ThisFlag IS TRUE }", True),
        ("{ $.ThisFlag IS FALSE }", False),
        ("{ $.OtherFlag IS FALSE }", True),
        ("{ $.errorCode IS TRUE }", False),
        ("{ $.latency >= 500 }", True),
        ("{ $.latency > +1000 }", True),
        ("{ $.latency < 1200 }", False),
        ("{ $.latency <= 1200 }", True),
        ("{ $.latency = 1.2e3 }", True),
        ("{ $.numbers[0] < 10e3 }", True),
        ("{ $.numbers[1] < 10e-3 }", False),
        ("{ $.numbers[1] > -1 }", True),
        ("{ $.processes[4].averageRuntime <= 55.5 }", True),
        ("{ $.errorCode = 400 }", True),
        ("{ $.errorCode != 500 }", True),
        ("{ $.errorCode = 4* }", True),  # a number compares by its text with text
        ("{ $.code = 404 }", True),
        ("{ $.code > 400 }", True),
        ("{ $.eventType > 1 }", False),  # not a number
        ("{ $.ThisFlag = true }", True),
        ("{ $.SomeObject = 1 }", False),
        ("{ $.SomeObject != 1 }", True),
        ("{ $.missing != 1 }", False),  # a comparison needs a value to compare
        ("{ $.objectList = 1 }", False),  # an array is no value
        ("{ $.objectList != 1 }", False),
        ("{ $.objectList[0] != 1 }", False),  # nor an object
        ("{ $.eventType = %^Update% }", True),
        ("{ $.eventType != %^Update% }", False),
        ("{ $.eventType = %Trail$% && $.latency > 1000 }", True),
        ('{$.eventType="UpdateTrail"}', True),  # spaces are optional
    ],
)
def test_json_comparisons(pattern: str, expected: bool) -> None:
    compiled = LogPattern(pattern)
    assert compiled.kind == "json"
    assert compiled.matches(TRAIL) is expected


USERS = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [
            {"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"},
        ],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        # && binds tighter than ||
        (
            (
                '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
                " && $.actions[2] = nomatch }"
            ),
            True,
        ),
        (
            (
                '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
                " && $.actions[2] = nomatch }"
            ),
            False,
        ),
        ("{ $.coordinates[2][0] = 7 }", True),
        ("{ ((($.user.id = 1))) }", True),
        ("{ $.user.id = 2 || $.user.id = 3 || $.user.id = 1 }", True),
        ("{ $.user.id = 1 && $.users[1].id = 3 && $.actions[0] = GET }", True),
    ],
)
def test_json_compound_conditions(pattern: str, expected: bool) -> None:
    assert LogPattern(pattern).matches(USERS) is expected


def test_a_message_that_is_not_json_matches_no_json_pattern() -> None:
    pattern = LogPattern("{ $.a NOT EXISTS }")
    assert pattern.matches("{}")
    assert pattern.matches("[1, 2]")
    assert not pattern.matches("plain text")
    assert not pattern.matches('{"a": 1')


def test_json_selectors_take_dashes_and_underscores() -> None:
    message = json.dumps({"request-id": "r-1", "user_name": "ana"})
    assert LogPattern('{ $.request-id = "r-1" && $.user_name = ana }').matches(message)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{ $.a = 1", "If a filter pattern starts with '{' it must end with '}'"),
        ("{ }", "a JSON pattern needs a condition"),
        ("{ a = 1 }", "a selector starts with '$'"),
        ("{ $ = 1 }", "a selector names a property"),
        ("{ $. = 1 }", "expected a property name"),
        ("{ $.a[x] = 1 }", "an array index is a whole number"),
        ("{ $.a ~ 1 }", "expected a comparison"),
        ("{ $.a = }", "expected a value"),
        ("{ $.a = @home }", "expected a value"),
        ("{ $.a > abc }", "'>' compares numbers"),
        ('{ $.a < "x" }', "'<' compares numbers"),
        ("{ $.a IS MAYBE }", "expected NULL, TRUE or FALSE"),
        ("{ $.a NOT THERE }", "expected EXISTS"),
        ("{ ($.a = 1 }", "expected ')'"),
        ("{ $.a = 1 $.b = 2 }", "expected '&&', '||' or the end"),
        ("{ $.a > %x% }", "cannot be compared with '>'"),
        ("{ $.a = %a% || $.b = %b% || $.c = %c% }", "at most 2 regular expressions"),
    ],
)
def test_json_patterns_that_do_not_parse(pattern: str, message: str) -> None:
    with pytest.raises(InvalidParameterException) as raised:
        LogPattern(pattern)
    assert message in str(raised.value)


# -- Space-delimited -----------------------------------------------------------------------------

ACCESS = (
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 404 4355',
    '127.0.0.1 - frank [10/Oct/2000:13:51:00 -0700] "GET /index.html HTTP/1.0" 403 200',
)
FIELDS = "ip, user, username, timestamp, request, status_code, bytes"


def codes(pattern: str) -> list[str]:
    return [m.split()[-2] for m in matching(pattern, *ACCESS)]


def test_fields_are_named_in_order_and_extracted() -> None:
    pattern = LogPattern(f"[{FIELDS}]")
    assert pattern.kind == "delimited"
    assert pattern.match(ACCESS[0]) == {
        "$ip": "127.0.0.1",
        "$user": "-",
        "$username": "frank",
        "$timestamp": "10/Oct/2000:13:25:15 -0700",  # [...] is one field, without brackets
        "$request": "GET /apache_pb.gif HTTP/1.0",  # "..." too, without quotes
        "$status_code": "200",
        "$bytes": "1534",
    }


def test_the_field_count_must_match_without_an_ellipsis() -> None:
    assert codes("[ip, user, username, timestamp, request, status_code]") == []
    assert codes(f"[{FIELDS}, extra]") == []
    assert codes(f"[{FIELDS}]") == ["200", "500", "404", "403"]


@pytest.mark.parametrize(
    "pattern",
    ["[..., status_code, bytes]", "[ip, user, ..., status_code, bytes]", "[ip, user, ...]"],
)
def test_an_ellipsis_stands_for_any_number_of_fields(pattern: str) -> None:
    assert codes(pattern) == ["200", "500", "404", "403"]


def test_an_ellipsis_may_stand_for_no_field() -> None:
    assert LogPattern("[a, ..., b]").match("x y") == {"$a": "x", "$b": "y"}
    assert LogPattern("[a, ..., b]").match("x") is None


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ("status_code, bytes > 1000", ["200", "500", "404"]),
        ("status_code = 200, bytes", ["200"]),
        ("status_code = 4*, bytes", ["404", "403"]),
        ("status_code != 200, bytes", ["500", "404", "403"]),
        ("status_code = 4* && status_code != 403, bytes", ["404"]),
        ("status_code = 200 || status_code = 500, bytes", ["200", "500"]),
        ("status_code >= 403 && status_code < 500, bytes <= 4355", ["404", "403"]),
        ("status_code, bytes = 1534", ["200"]),
        ("status_code = %^5%, bytes", ["500"]),
    ],
)
def test_conditions_on_fields(conditions: str, expected: list[str]) -> None:
    assert codes(f"[ip, user, username, timestamp, request, {conditions}]") == expected


def test_string_conditions_with_wildcards() -> None:
    assert codes("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]") == [
        "404",
        "403",
    ]
    assert codes('[ip, user, username = "frank", ...]') == ["200", "500", "404", "403"]
    assert codes("[ip, user = -, ...]") == ["200", "500", "404", "403"]


def test_the_documentations_or_and_and_on_words() -> None:
    lines = ("ERROR WARN message", "ERROR message", "WARN message")
    assert matching("[w1=ERROR, w2]", *lines) == ["ERROR message"]
    assert matching("[w1=ERROR || w1=WARN, w2]", *lines) == ["ERROR message", "WARN message"]


def test_unnamed_and_elided_fields_are_extracted_by_position() -> None:
    # the documentation's example: an ellipsis, then named fields, then an empty slot
    message = (
        '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /products/index.html HTTP/1.0" '
        "404 1534"
    )
    assert LogPattern("[..., request=*.html*, status_code=4*,]").match(message) == {
        "$1": "127.0.0.1",
        "$2": "-",
        "$3": "frank",
        "$4": "10/Oct/2000:13:25:15 -0700",
        "$request": "GET /products/index.html HTTP/1.0",
        "$status_code": "404",
        "$7": "1534",
    }


def test_a_condition_may_name_another_field() -> None:
    pattern = LogPattern("[level, code = 5* && level = ERROR]")
    assert pattern.matches("ERROR 503")
    assert not pattern.matches("WARN 503")
    assert not LogPattern("[level, code = 5* && nothing = x]").matches("ERROR 503")


def test_fields_split_at_runs_of_spaces_and_unclosed_groups_run_to_the_end() -> None:
    assert LogPattern("[a, b, c]").match("  x   y\tz ") == {"$a": "x", "$b": "y", "$c": "z"}
    assert LogPattern("[a, b]").match('x "y z') == {"$a": "x", "$b": "y z"}
    assert LogPattern("[]").match("") == {}
    assert LogPattern("[]").match("x") is None


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[a, b", "If a filter pattern starts with '[' it must end with ']'"),
        ("[..., a, ...]", "'...' may appear only once"),
        ("[a, ... = 1]", "'...' takes no condition"),
        ("[a, = 1]", "a field is named"),
        ("[a = ]", "expected a value"),
        ("[a > x]", "'>' compares numbers"),
        ("[a = 1 b]", "expected '&&', '||' or the end of the field"),
        ("[a = %x%, b = %y%, c = %z%]", "at most 2 regular expressions"),
    ],
)
def test_space_delimited_patterns_that_do_not_parse(pattern: str, message: str) -> None:
    with pytest.raises(InvalidParameterException) as raised:
        LogPattern(pattern)
    assert message in str(raised.value)


def test_a_comma_in_a_quoted_value_does_not_split_the_slot() -> None:
    assert LogPattern('[a = "x,y", b]').match("x,y z") == {"$a": "x,y", "$b": "z"}
