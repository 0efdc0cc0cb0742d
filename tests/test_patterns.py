from __future__ import annotations

import base64
import json
import types
from typing import Any

import pytest

from faaslib._errors import InvalidParameterValueException
from faaslib._services.patterns import MAX_FILTERS, EventPattern, FilterCriteria, filter_criteria

# --------------------------------------------------------------------------------------------
# Matching: (pattern, event, expected)
# --------------------------------------------------------------------------------------------

EC2 = {
    "source": "aws.ec2",
    "detail-type": "EC2 Instance State-change Notification",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0abc", "arn:aws:ec2:x"],
    "detail": {"instance-id": "i-0abc", "state": "running", "c-count": 5, "x-limit": 301.8},
}

EMPLOYEES = {
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}

MATCHES = [
    # --- exact values: strings, OR within a field, AND across fields
    pytest.param({"source": ["aws.ec2"]}, EC2, True, id="string-equal"),
    pytest.param({"source": ["AWS.EC2"]}, EC2, False, id="string-case-sensitive"),
    pytest.param({"source": ["aws.ec"]}, EC2, False, id="string-no-partial"),
    pytest.param({"source": ["aws.s3", "aws.ec2"]}, EC2, True, id="values-are-or"),
    pytest.param(
        {"source": ["aws.ec2"], "detail": {"state": ["running"]}}, EC2, True, id="fields-are-and"
    ),
    pytest.param(
        {"source": ["aws.ec2"], "detail": {"state": ["stopped"]}}, EC2, False, id="and-one-fails"
    ),
    pytest.param({"region": ["us-east-1"]}, EC2, False, id="missing-field"),
    pytest.param({"detail": {"nope": ["x"]}}, EC2, False, id="missing-nested-field"),
    pytest.param({"a": [""]}, {"a": ""}, True, id="empty-string"),
    pytest.param({"a": [""]}, {"a": None}, False, id="empty-string-is-not-null"),
    # --- numbers compare by their JSON form; booleans and null are their own values
    pytest.param({"n": [300]}, {"n": 300}, True, id="int-equal"),
    pytest.param({"n": [300]}, {"n": 300.0}, False, id="300-is-not-300.0"),
    pytest.param({"n": [300.5]}, {"n": 300.5}, True, id="float-equal"),
    pytest.param({"n": [300]}, {"n": "300"}, False, id="number-is-not-string"),
    pytest.param({"n": ["300"]}, {"n": 300}, False, id="string-is-not-number"),
    pytest.param({"b": [True]}, {"b": True}, True, id="true"),
    pytest.param({"b": [False]}, {"b": True}, False, id="false-vs-true"),
    pytest.param({"b": [True]}, {"b": 1}, False, id="true-is-not-1"),
    pytest.param({"b": [1]}, {"b": True}, False, id="1-is-not-true"),
    pytest.param({"b": [0]}, {"b": False}, False, id="0-is-not-false"),
    pytest.param({"b": ["true"]}, {"b": True}, False, id="string-true-is-not-true"),
    pytest.param({"z": [None]}, {"z": None}, True, id="null"),
    pytest.param({"z": [None]}, {}, False, id="null-is-not-absent"),
    pytest.param({"z": [None]}, {"z": ""}, False, id="null-is-not-empty-string"),
    pytest.param({"z": [None, "x"]}, {"z": "x"}, True, id="null-or-string"),
    # --- nesting
    pytest.param({"detail": {"c-count": [5]}}, EC2, True, id="nested"),
    pytest.param({"a": {"b": {"c": ["deep"]}}}, {"a": {"b": {"c": "deep"}}}, True, id="3-levels"),
    pytest.param({"a": {"b": ["x"]}}, {"a": "x"}, False, id="pattern-object-event-scalar"),
    pytest.param({"a": ["x"]}, {"a": {"b": "x"}}, False, id="pattern-leaf-event-object"),
    pytest.param({"prefix": ["x"]}, {"prefix": "x"}, True, id="field-named-like-an-operator"),
    # --- arrays in events
    pytest.param({"resources": ["arn:aws:ec2:x"]}, EC2, True, id="array-any-element"),
    pytest.param({"resources": ["arn:aws:ec2:y", "arn:aws:ec2:x"]}, EC2, True, id="intersection"),
    pytest.param({"resources": ["arn:aws:ec2:y"]}, EC2, False, id="array-no-element"),
    pytest.param({"tags": ["a"]}, {"tags": []}, False, id="empty-array"),
    pytest.param({"tags": ["a"]}, {"tags": [["b"], ["a"]]}, True, id="nested-arrays"),
    pytest.param({"tags": [1]}, {"tags": ["1", 2, 1]}, True, id="mixed-array"),
    pytest.param({"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True, id="array-of-objects"),
    pytest.param(
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        EMPLOYEES,
        True,
        id="array-of-objects-same-element",
    ),
    pytest.param(
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        EMPLOYEES,
        False,
        id="array-of-objects-across-elements",
    ),
    pytest.param(
        {"employees": {"firstName": ["Peter"]}},
        {"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]},
        True,
        id="multi-level-array-of-objects",
    ),
    pytest.param(
        {"a": {"b": {"c": [2]}}},
        {"a": [{"b": [{"c": 1}, {"c": 2}]}]},
        True,
        id="arrays-at-two-levels",
    ),
    # --- prefix
    pytest.param({"r": [{"prefix": "us-"}]}, {"r": "us-east-1"}, True, id="prefix"),
    pytest.param({"r": [{"prefix": "us-"}]}, {"r": "eu-west-1"}, False, id="prefix-miss"),
    pytest.param({"r": [{"prefix": "us-"}]}, {"r": "US-east-1"}, False, id="prefix-case"),
    pytest.param({"r": [{"prefix": "us-"}]}, {"r": "us-"}, True, id="prefix-whole"),
    pytest.param({"n": [{"prefix": "1"}]}, {"n": 12}, False, id="prefix-not-on-numbers"),
    pytest.param({"r": [{"prefix": "us-"}]}, {"r": ["eu-1", "us-2"]}, True, id="prefix-array"),
    pytest.param({"r": [{"prefix": "us-"}]}, {}, False, id="prefix-missing"),
    pytest.param(
        {"s": [{"prefix": {"equals-ignore-case": "EventB"}}]},
        {"s": "eventbridge"},
        True,
        id="prefix-ignore-case",
    ),
    pytest.param(
        {"s": [{"prefix": {"equals-ignore-case": "EventB"}}]},
        {"s": "the eventbridge"},
        False,
        id="prefix-ignore-case-miss",
    ),
    # --- suffix
    pytest.param({"f": [{"suffix": ".png"}]}, {"f": "cat.png"}, True, id="suffix"),
    pytest.param({"f": [{"suffix": ".png"}]}, {"f": "cat.PNG"}, False, id="suffix-case"),
    pytest.param({"f": [{"suffix": ".png"}]}, {"f": "cat.png.gz"}, False, id="suffix-miss"),
    pytest.param({"n": [{"suffix": "5"}]}, {"n": 5}, False, id="suffix-not-on-numbers"),
    pytest.param(
        {"f": [{"suffix": {"equals-ignore-case": ".png"}}]},
        {"f": "CAT.PNG"},
        True,
        id="suffix-ignore-case",
    ),
    # --- equals-ignore-case
    pytest.param({"n": [{"equals-ignore-case": "alice"}]}, {"n": "ALICE"}, True, id="eic"),
    pytest.param({"n": [{"equals-ignore-case": "alice"}]}, {"n": "AlIcE"}, True, id="eic-mixed"),
    pytest.param({"n": [{"equals-ignore-case": "alice"}]}, {"n": "alicia"}, False, id="eic-miss"),
    pytest.param({"n": [{"equals-ignore-case": "École"}]}, {"n": "éCOLE"}, True, id="eic-unicode"),
    pytest.param({"n": [{"equals-ignore-case": "1"}]}, {"n": 1}, False, id="eic-not-numbers"),
    # --- anything-but
    pytest.param({"s": [{"anything-but": "init"}]}, {"s": "running"}, True, id="ab-string"),
    pytest.param({"s": [{"anything-but": "init"}]}, {"s": "init"}, False, id="ab-string-hit"),
    pytest.param({"s": [{"anything-but": "init"}]}, {"s": "INIT"}, True, id="ab-case-sensitive"),
    pytest.param({"s": [{"anything-but": "init"}]}, {}, False, id="ab-missing-field"),
    pytest.param({"s": [{"anything-but": "init"}]}, {"s": None}, True, id="ab-null-value"),
    pytest.param({"s": [{"anything-but": "5"}]}, {"s": 5}, True, id="ab-string-vs-number"),
    pytest.param(
        {"s": [{"anything-but": ["stopped", "overloaded"]}]},
        {"s": "overloaded"},
        False,
        id="ab-list-hit",
    ),
    pytest.param(
        {"s": [{"anything-but": ["stopped", "overloaded"]}]},
        {"s": "running"},
        True,
        id="ab-list-miss",
    ),
    pytest.param(
        {"s": [{"anything-but": ["stopped"]}]},
        {"s": ["stopped", "running"]},
        True,
        id="ab-array-any-element",
    ),
    pytest.param(
        {"s": [{"anything-but": ["stopped"]}]}, {"s": ["stopped"]}, False, id="ab-array-all-hit"
    ),
    pytest.param({"x": [{"anything-but": 123}]}, {"x": 123}, False, id="ab-number-hit"),
    pytest.param({"x": [{"anything-but": 123}]}, {"x": 123.0}, False, id="ab-number-by-value"),
    pytest.param({"x": [{"anything-but": 123}]}, {"x": 124}, True, id="ab-number-miss"),
    pytest.param({"x": [{"anything-but": 123}]}, {"x": "123"}, True, id="ab-number-vs-string"),
    pytest.param(
        {"x": [{"anything-but": [100, 200, 300]}]}, {"x": 200}, False, id="ab-numbers-hit"
    ),
    pytest.param(
        {"x": [{"anything-but": [100, 200, 300]}]}, {"x": 100.1}, True, id="ab-numbers-miss"
    ),
    pytest.param(
        {"s": [{"anything-but": {"prefix": "init"}}]},
        {"s": "initializing"},
        False,
        id="ab-prefix-hit",
    ),
    pytest.param(
        {"s": [{"anything-but": {"prefix": "init"}}]}, {"s": "running"}, True, id="ab-prefix-miss"
    ),
    pytest.param(
        {"s": [{"anything-but": {"prefix": "init"}}]}, {"s": 7}, True, id="ab-prefix-number"
    ),
    pytest.param(
        {"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.png"}, False, id="ab-suffix-hit"
    ),
    pytest.param(
        {"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.jpg"}, True, id="ab-suffix-miss"
    ),
    pytest.param(
        {"s": [{"anything-but": {"equals-ignore-case": "init"}}]},
        {"s": "INIT"},
        False,
        id="ab-ignore-case-hit",
    ),
    pytest.param(
        {"s": [{"anything-but": {"equals-ignore-case": ["init", "stop"]}}]},
        {"s": "Stop"},
        False,
        id="ab-ignore-case-list-hit",
    ),
    pytest.param(
        {"s": [{"anything-but": {"equals-ignore-case": ["init", "stop"]}}]},
        {"s": "run"},
        True,
        id="ab-ignore-case-list-miss",
    ),
    pytest.param(
        {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"p": "/usr/lib/x.so"},
        False,
        id="ab-wildcard-hit",
    ),
    pytest.param(
        {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"p": "/usr/bin/x"},
        True,
        id="ab-wildcard-miss",
    ),
    # --- numeric, boundaries included
    pytest.param({"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 0}, False, id="num-lower-open"),
    pytest.param(
        {"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 0.000001}, True, id="num-above-lower"
    ),
    pytest.param({"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 3}, True, id="num-inside"),
    pytest.param({"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 5}, True, id="num-upper-closed"),
    pytest.param({"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": 5.01}, False, id="num-above"),
    pytest.param({"c": [{"numeric": [">", 0, "<=", 5]}]}, {"c": -1}, False, id="num-below"),
    pytest.param({"c": [{"numeric": [">=", 0, "<", 5]}]}, {"c": 0}, True, id="num-lower-closed"),
    pytest.param({"c": [{"numeric": [">=", 0, "<", 5]}]}, {"c": 5}, False, id="num-upper-open"),
    pytest.param({"c": [{"numeric": [">=", 0, "<", 5]}]}, {"c": 4.99}, True, id="num-below-top"),
    pytest.param({"c": [{"numeric": ["<", 10]}]}, {"c": 9.5}, True, id="num-lt"),
    pytest.param({"c": [{"numeric": ["<", 10]}]}, {"c": 10}, False, id="num-lt-boundary"),
    pytest.param({"c": [{"numeric": ["<=", 10]}]}, {"c": 10}, True, id="num-le-boundary"),
    pytest.param({"c": [{"numeric": [">", 10]}]}, {"c": 10}, False, id="num-gt-boundary"),
    pytest.param({"c": [{"numeric": [">=", 10]}]}, {"c": 10.0}, True, id="num-ge-boundary"),
    pytest.param({"c": [{"numeric": [">", -5.5]}]}, {"c": -5}, True, id="num-negative"),
    pytest.param({"x": [{"numeric": ["=", 300]}]}, {"x": 300.0}, True, id="num-eq-by-value"),
    pytest.param({"x": [{"numeric": ["=", 3.018e2]}]}, {"x": 301.8}, True, id="num-eq-exponent"),
    pytest.param({"x": [{"numeric": ["=", 300]}]}, {"x": 301}, False, id="num-eq-miss"),
    pytest.param({"c": [{"numeric": [">", 0]}]}, {"c": "5"}, False, id="num-not-strings"),
    pytest.param({"c": [{"numeric": [">", 0]}]}, {"c": True}, False, id="num-not-booleans"),
    pytest.param({"c": [{"numeric": [">", 0]}]}, {"c": None}, False, id="num-not-null"),
    pytest.param({"c": [{"numeric": [">", 0]}]}, {}, False, id="num-missing"),
    pytest.param({"c": [{"numeric": [">", 10]}]}, {"c": [1, 20]}, True, id="num-array"),
    pytest.param(
        {"c": [{"numeric": ["<", 0]}, {"numeric": [">", 10]}]},
        {"c": 11},
        True,
        id="num-two-ranges-or",
    ),
    # --- exists
    pytest.param({"s": [{"exists": True}]}, {"s": "x"}, True, id="exists-true"),
    pytest.param({"s": [{"exists": True}]}, {"s": None}, True, id="exists-true-null"),
    pytest.param({"s": [{"exists": True}]}, {"s": ""}, True, id="exists-true-empty-string"),
    pytest.param({"s": [{"exists": True}]}, {"s": [0]}, True, id="exists-true-array"),
    pytest.param({"s": [{"exists": True}]}, {}, False, id="exists-true-absent"),
    pytest.param({"s": [{"exists": True}]}, {"s": []}, False, id="exists-true-empty-array"),
    pytest.param({"s": [{"exists": True}]}, {"s": {"c1": 1}}, False, id="exists-true-object"),
    pytest.param({"s": [{"exists": False}]}, {}, True, id="exists-false-absent"),
    pytest.param({"s": [{"exists": False}]}, {"s": "x"}, False, id="exists-false-present"),
    pytest.param({"s": [{"exists": False}]}, {"s": None}, False, id="exists-false-null"),
    pytest.param({"s": [{"exists": False}]}, {"s": {"c1": 1}}, True, id="exists-false-object"),
    pytest.param({"s": [{"exists": False}]}, {"s": []}, True, id="exists-false-empty-array"),
    pytest.param({"detail": {"c": [{"exists": False}]}}, {}, True, id="exists-false-parent-absent"),
    pytest.param(
        {"detail": {"c": [{"exists": False}]}},
        {"detail": "scalar"},
        True,
        id="exists-false-parent-scalar",
    ),
    pytest.param({"detail": {"c": [{"exists": True}]}}, {}, False, id="exists-true-parent-absent"),
    pytest.param(
        {"e": {"x": [{"exists": False}]}},
        {"e": [{"x": 1}, {"y": 2}]},
        True,
        id="exists-false-one-array-element",
    ),
    pytest.param({"s": [{"exists": False}, "x"]}, {"s": "x"}, True, id="exists-false-or-value"),
    # --- wildcard
    pytest.param({"f": [{"wildcard": "*.png"}]}, {"f": "dir/cat.png"}, True, id="wc-suffix"),
    pytest.param({"f": [{"wildcard": "*.png"}]}, {"f": ".png"}, True, id="wc-empty-run"),
    pytest.param({"f": [{"wildcard": "*.png"}]}, {"f": "cat.png.gz"}, False, id="wc-anchored"),
    pytest.param({"f": [{"wildcard": "*.png"}]}, {"f": "cat.PNG"}, False, id="wc-case"),
    pytest.param(
        {"s": [{"wildcard": "Simple*Service"}]},
        {"s": "SimpleNotificationService"},
        True,
        id="wc-middle",
    ),
    pytest.param({"s": [{"wildcard": "a*b*c"}]}, {"s": "a-b-b-c"}, True, id="wc-several"),
    pytest.param({"s": [{"wildcard": "a*b*c"}]}, {"s": "a-c-b"}, False, id="wc-several-miss"),
    pytest.param({"s": [{"wildcard": "a.c"}]}, {"s": "abc"}, False, id="wc-dot-is-literal"),
    pytest.param({"s": [{"wildcard": "a*"}]}, {"s": "a\nb"}, True, id="wc-spans-newlines"),
    pytest.param({"s": [{"wildcard": r"a\*b"}]}, {"s": "a*b"}, True, id="wc-escaped-star"),
    pytest.param({"s": [{"wildcard": r"a\*b"}]}, {"s": "axb"}, False, id="wc-escaped-literal"),
    pytest.param({"s": [{"wildcard": "a\\\\b"}]}, {"s": "a\\b"}, True, id="wc-backslash"),
    pytest.param({"s": [{"wildcard": "1*"}]}, {"s": 12}, False, id="wc-not-numbers"),
    pytest.param({"s": [{"wildcard": "nostar"}]}, {"s": "nostar"}, True, id="wc-no-star"),
    # --- cidr
    pytest.param({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.0"}, True, id="cidr-first"),
    pytest.param({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"}, True, id="cidr-last"),
    pytest.param({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.0"}, False, id="cidr-out"),
    pytest.param({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "example"}, False, id="cidr-not-ip"),
    pytest.param({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": 167772161}, False, id="cidr-number"),
    pytest.param({"ip": [{"cidr": "10.0.0.7/24"}]}, {"ip": "10.0.0.200"}, True, id="cidr-host"),
    pytest.param({"ip": [{"cidr": "10.0.0.7/32"}]}, {"ip": "10.0.0.7"}, True, id="cidr-single"),
    pytest.param({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"}, True, id="cidr-ipv6"),
    pytest.param(
        {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "10.0.0.1"}, False, id="cidr-v4-in-v6"
    ),
    pytest.param(
        {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": ["192.168.0.1", "10.1.2.3"]}, True, id="cidr-arr"
    ),
    # --- several operators in one array are OR
    pytest.param(
        {"s": ["exact", {"prefix": "pre"}, {"numeric": [">", 100]}]},
        {"s": "prefixed"},
        True,
        id="mixed-or-prefix",
    ),
    pytest.param(
        {"s": ["exact", {"prefix": "pre"}, {"numeric": [">", 100]}]},
        {"s": 101},
        True,
        id="mixed-or-numeric",
    ),
    pytest.param(
        {"s": ["exact", {"prefix": "pre"}, {"numeric": [">", 100]}]},
        {"s": "other"},
        False,
        id="mixed-or-none",
    ),
    # --- $or
    pytest.param(
        {"source": ["aws.ec2"], "$or": [{"detail": {"state": ["stopped"]}}, {"region": ["x"]}]},
        EC2,
        False,
        id="or-none",
    ),
    pytest.param(
        {"source": ["aws.ec2"], "$or": [{"detail": {"state": ["running"]}}, {"region": ["x"]}]},
        EC2,
        True,
        id="or-first",
    ),
    pytest.param(
        {"source": ["aws.s3"], "$or": [{"detail": {"state": ["running"]}}, {"region": ["x"]}]},
        EC2,
        False,
        id="or-and-rest-fails",
    ),
    pytest.param(
        {"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"x-limit": [301.8]}]}},
        EC2,
        True,
        id="or-nested-second",
    ),
    pytest.param(
        {
            "$or": [
                {"source": ["aws.s3"]},
                {"detail": {"state": ["running"], "$or": [{"c-count": [1]}, {"c-count": [5]}]}},
            ]
        },
        EC2,
        True,
        id="or-inside-or",
    ),
    pytest.param(
        {"$or": [{"a": [{"exists": False}]}, {"b": ["x"]}]}, {"a": 1}, False, id="or-exists"
    ),
    # --- events that are not objects
    pytest.param({"a": [{"exists": False}]}, "just a string", True, id="scalar-event-exists-false"),
    pytest.param({"a": ["x"]}, "x", False, id="scalar-event"),
    pytest.param({"a": ["x"]}, None, False, id="none-event"),
    pytest.param({"a": ["x"]}, [{"a": "y"}, {"a": "x"}], True, id="array-event"),
    pytest.param({"a": ["x"]}, {"a": b"x"}, False, id="non-json-value"),
    pytest.param({"a": [{"exists": True}]}, {"a": {1, 2}}, True, id="non-json-value-exists"),
    pytest.param(
        {"a": [{"anything-but": "x"}]}, {"a": types.SimpleNamespace()}, True, id="non-json-ab"
    ),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), MATCHES)
def test_matches(pattern: dict[str, Any], event: Any, expected: bool) -> None:
    assert EventPattern(pattern).matches(event) is expected


@pytest.mark.parametrize(("pattern", "event", "expected"), MATCHES)
def test_json_text_matches_like_the_dict(
    pattern: dict[str, Any], event: Any, expected: bool
) -> None:
    assert EventPattern(json.dumps(pattern)).matches(event) is expected


# --------------------------------------------------------------------------------------------
# Invalid patterns
# --------------------------------------------------------------------------------------------

INVALID = [
    # --- the pattern as a whole
    pytest.param("[]", "is a JSON object", id="text-array"),
    pytest.param("42", "is a JSON object", id="text-number"),
    pytest.param("{not json", "not valid JSON", id="text-not-json"),
    pytest.param('{"a": [NaN]}', "not valid JSON", id="text-nan"),
    pytest.param('{"a": [Infinity]}', "not valid JSON", id="text-infinity"),
    pytest.param(None, "is a JSON object", id="none"),
    pytest.param(["a"], "is a JSON object", id="list"),
    pytest.param({}, "Empty objects", id="empty"),
    pytest.param({"a": {}}, "Empty objects", id="empty-nested"),
    pytest.param({1: ["x"]}, "field names are strings", id="non-string-key"),
    pytest.param({"a": [float("inf")]}, "not a JSON number", id="infinite-value"),
    pytest.param({"a": [{1, 2}]}, "not a JSON value", id="set-value"),
    pytest.param({"a": [b"x"]}, "not a JSON value", id="bytes-value"),
    # --- leaves
    pytest.param({"a": []}, "must not be empty", id="empty-leaf"),
    pytest.param({"a": "x"}, "go in an array", id="bare-string"),
    pytest.param({"a": 5}, "go in an array", id="bare-number"),
    pytest.param({"a": None}, "go in an array", id="bare-null"),
    pytest.param({"a": [["x"]]}, "Arrays inside", id="nested-array"),
    pytest.param({"a": [{}]}, "exactly one operator", id="empty-operator"),
    pytest.param({"a": [{"prefix": "x", "suffix": "y"}]}, "exactly one", id="two-operators"),
    pytest.param({"a": [{"Prefix": "x"}]}, 'Unknown operator "Prefix"', id="operator-case"),
    pytest.param({"a": [{"contains": "x"}]}, 'Unknown operator "contains"', id="unknown-op"),
    pytest.param({"a": [{"anything_but": "x"}]}, "Unknown operator", id="underscore-op"),
    # --- string operators
    pytest.param({"a": [{"prefix": 5}]}, '"prefix" takes a string', id="prefix-number"),
    pytest.param({"a": [{"prefix": ["x"]}]}, '"prefix" takes a string', id="prefix-list"),
    pytest.param({"a": [{"prefix": None}]}, '"prefix" takes a string', id="prefix-null"),
    pytest.param(
        {"a": [{"prefix": {"equals-ignore-case": 5}}]}, "takes a string", id="prefix-eic-number"
    ),
    pytest.param(
        {"a": [{"prefix": {"ignore-case": "x"}}]}, "Unknown operator", id="prefix-bad-modifier"
    ),
    pytest.param({"a": [{"suffix": True}]}, '"suffix" takes a string', id="suffix-bool"),
    pytest.param(
        {"a": [{"equals-ignore-case": ["x"]}]}, "takes a string", id="equals-ignore-case-list"
    ),
    pytest.param({"a": [{"wildcard": 5}]}, '"wildcard" takes a string', id="wildcard-number"),
    pytest.param({"a": [{"wildcard": "a**b"}]}, "consecutive", id="wildcard-double-star"),
    pytest.param({"a": [{"wildcard": r"a\b"}]}, "backslash", id="wildcard-bad-escape"),
    pytest.param({"a": [{"wildcard": "a\\"}]}, "backslash", id="wildcard-trailing-backslash"),
    # --- cidr
    pytest.param({"a": [{"cidr": "10.0.0.0/33"}]}, "not an IP address range", id="cidr-prefix"),
    pytest.param({"a": [{"cidr": "ten"}]}, "not an IP address range", id="cidr-text"),
    pytest.param({"a": [{"cidr": 10}]}, '"cidr" takes a string', id="cidr-number"),
    # --- numeric
    pytest.param({"a": [{"numeric": []}]}, "one or two comparisons", id="numeric-empty"),
    pytest.param({"a": [{"numeric": [">"]}]}, "one or two comparisons", id="numeric-no-bound"),
    pytest.param({"a": [{"numeric": 5}]}, "one or two comparisons", id="numeric-not-array"),
    pytest.param({"a": [{"numeric": [">", 0, "<", 5, "<", 9]}]}, "one or two", id="numeric-three"),
    pytest.param({"a": [{"numeric": [">", "5"]}]}, "with a number", id="numeric-string-bound"),
    pytest.param({"a": [{"numeric": [">", True]}]}, "with a number", id="numeric-bool-bound"),
    pytest.param({"a": [{"numeric": [">", None]}]}, "with a number", id="numeric-null-bound"),
    pytest.param({"a": [{"numeric": ["==", 5]}]}, "Unknown comparison", id="numeric-eqeq"),
    pytest.param({"a": [{"numeric": [5, ">"]}]}, "Unknown comparison", id="numeric-swapped"),
    pytest.param({"a": [{"numeric": ["<", 5, ">", 1]}]}, "lower bound", id="numeric-upper-first"),
    pytest.param({"a": [{"numeric": [">", 0, ">", 5]}]}, "lower bound", id="numeric-two-lower"),
    pytest.param({"a": [{"numeric": ["=", 5, "<", 9]}]}, "lower bound", id="numeric-eq-range"),
    pytest.param({"a": [{"numeric": [">", 5, "<", 1]}]}, "Empty range", id="numeric-inverted"),
    pytest.param({"a": [{"numeric": [">=", 5, "<=", 5]}]}, "Empty range", id="numeric-point"),
    # --- exists
    pytest.param({"a": [{"exists": "true"}]}, "true or false", id="exists-string"),
    pytest.param({"a": [{"exists": 1}]}, "true or false", id="exists-number"),
    pytest.param({"a": [{"exists": None}]}, "true or false", id="exists-null"),
    # --- anything-but
    pytest.param({"a": [{"anything-but": []}]}, "non-empty", id="ab-empty"),
    pytest.param({"a": [{"anything-but": [1, "a"]}]}, "only strings or only numbers", id="ab-mix"),
    pytest.param({"a": [{"anything-but": True}]}, '"anything-but" takes', id="ab-bool"),
    pytest.param({"a": [{"anything-but": None}]}, '"anything-but" takes', id="ab-null"),
    pytest.param({"a": [{"anything-but": [None]}]}, '"anything-but" takes', id="ab-null-list"),
    pytest.param({"a": [{"anything-but": [["x"]]}]}, '"anything-but" takes', id="ab-nested"),
    pytest.param({"a": [{"anything-but": {}}]}, "exactly one", id="ab-empty-object"),
    pytest.param(
        {"a": [{"anything-but": {"prefix": ["a", "b"]}}]}, "takes a string", id="ab-prefix-list"
    ),
    pytest.param({"a": [{"anything-but": {"prefix": 5}}]}, "takes a string", id="ab-prefix-num"),
    pytest.param(
        {"a": [{"anything-but": {"numeric": [">", 1]}}]}, "Unknown operator", id="ab-numeric"
    ),
    pytest.param({"a": [{"anything-but": {"exists": True}}]}, "Unknown operator", id="ab-exists"),
    pytest.param(
        {"a": [{"anything-but": {"equals-ignore-case": []}}]}, "non-empty", id="ab-eic-empty"
    ),
    pytest.param(
        {"a": [{"anything-but": {"wildcard": "a**"}}]}, "consecutive", id="ab-wildcard-bad"
    ),
    # --- $or
    pytest.param({"$or": [{"a": ["x"]}]}, "at least 2", id="or-one"),
    pytest.param({"$or": []}, "at least 2", id="or-empty"),
    pytest.param({"$or": {"a": ["x"]}}, "at least 2", id="or-object"),
    pytest.param({"$or": ["x", "y"]}, "at least 2", id="or-values"),
    pytest.param({"$or": [{"a": ["x"]}, "y"]}, "at least 2", id="or-mixed"),
    pytest.param({"$or": [{"a": ["x"]}, {}]}, "Empty objects", id="or-empty-alternative"),
    pytest.param({"$or": [{"a": ["x"]}, {"b": []}]}, "must not be empty", id="or-bad-alt"),
]


@pytest.mark.parametrize(("pattern", "message"), INVALID)
def test_invalid_pattern(pattern: Any, message: str) -> None:
    with pytest.raises(InvalidParameterValueException) as info:
        EventPattern(pattern)
    assert str(info.value).startswith("Invalid filter pattern definition. ")
    assert message in str(info.value)


def test_invalid_pattern_error_names_the_field() -> None:
    with pytest.raises(InvalidParameterValueException) as info:
        EventPattern({"detail": {"$or": [{"a": ["x"]}, {"state": [{"prefix": 5}]}]}})
    assert "(at detail.$or[1].state)" in info.value.message
    assert info.value.error_type == "InvalidParameterValueException"
    assert info.value.status_code == 400
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------------------------
# The normalized pattern
# --------------------------------------------------------------------------------------------


def test_pattern_is_a_plain_json_copy() -> None:
    given: dict[str, Any] = {
        "detail": types.MappingProxyType({"state": ("a", {"prefix": "b"})}),
        "n": [{"numeric": (">", 0)}],
    }
    compiled = EventPattern(given)
    assert compiled.pattern == {
        "detail": {"state": ["a", {"prefix": "b"}]},
        "n": [{"numeric": [">", 0]}],
    }
    assert type(compiled.pattern["detail"]) is dict
    given["n"] = ["changed"]
    assert compiled.matches({"n": 1, "detail": {"state": "a"}})
    assert EventPattern(json.dumps(compiled.pattern)).pattern == compiled.pattern


def test_json_text_keeps_the_last_of_duplicate_keys() -> None:
    compiled = EventPattern('{"location": [{"prefix": "us-"}], "location": ["eu-1"]}')
    assert compiled.pattern == {"location": ["eu-1"]}
    assert compiled.matches({"location": "eu-1"})
    assert not compiled.matches({"location": "us-east-1"})


def test_repr_shows_the_pattern() -> None:
    assert repr(EventPattern({"a": ["x"]})) == 'EventPattern({"a": ["x"]})'


# --------------------------------------------------------------------------------------------
# Realistic Lambda records (filtered as an event source mapping sees them)
# --------------------------------------------------------------------------------------------

SQS_RECORD = {
    "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
    "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
    "body": json.dumps({"RequestCode": "BBBB", "order": {"total": 42.5, "items": ["a", "b"]}}),
    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
    "messageAttributes": {},
    "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
    "awsRegion": "us-east-2",
}


def sqs_view(record: dict[str, Any]) -> dict[str, Any]:
    """The record as SQS filtering sees it: ``body`` parsed when it is JSON."""
    try:
        return {**record, "body": json.loads(record["body"])}
    except ValueError:
        return record


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"body": {"RequestCode": ["BBBB"]}}, True),
        ({"body": {"RequestCode": ["AAAA"]}}, False),
        ({"body": {"order": {"total": [{"numeric": [">", 40]}]}}}, True),
        ({"body": {"order": {"items": ["b"]}}}, True),
        (
            {"body": {"RequestCode": ["BBBB"]}, "attributes": {"ApproximateReceiveCount": ["1"]}},
            True,
        ),
        ({"body": {"RequestCode": ["BBBB"]}, "awsRegion": ["eu-west-1"]}, False),
        ({"body": [{"prefix": "{"}]}, False),  # the body is JSON: a string pattern misses
    ],
)
def test_sqs_record_with_json_body(pattern: dict[str, Any], expected: bool) -> None:
    assert EventPattern(pattern).matches(sqs_view(SQS_RECORD)) is expected


def test_sqs_record_with_plain_text_body() -> None:
    record = sqs_view({**SQS_RECORD, "body": "Test message."})
    assert EventPattern({"body": ["Test message."]}).matches(record)
    assert EventPattern({"body": [{"prefix": "Test"}]}).matches(record)
    assert not EventPattern({"body": {"RequestCode": ["BBBB"]}}).matches(record)


def test_kinesis_record_decoded_data() -> None:
    payload = {"device": "thermo-7", "temperature": 31.5, "tags": ["lab", "roof"]}
    record: dict[str, Any] = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "1",
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": base64.b64encode(json.dumps(payload).encode()).decode(),
            "approximateArrivalTimestamp": 1545084650.987,
        },
        "eventSource": "aws:kinesis",
        "eventName": "aws:kinesis:record",
        "awsRegion": "us-east-2",
    }
    view = {**record, "data": json.loads(base64.b64decode(record["kinesis"]["data"]))}
    hot = EventPattern({"data": {"temperature": [{"numeric": [">", 30]}], "tags": ["roof"]}})
    cold = EventPattern({"data": {"temperature": [{"numeric": ["<=", 30]}]}})
    by_device = EventPattern(
        {"eventSource": ["aws:kinesis"], "data": {"device": [{"wildcard": "thermo-*"}]}}
    )
    assert hot.matches(view)
    assert not cold.matches(view)
    assert by_device.matches(view)


def dynamodb_record(event_name: str, status: str | None) -> dict[str, Any]:
    image = {"Id": {"N": "101"}, "Message": {"S": "New item!"}}
    if status is not None:
        image["status"] = {"S": status}
    return {
        "eventID": "1",
        "eventVersion": "1.0",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-west-2",
        "dynamodb": {
            "ApproximateCreationDateTime": 1693997155.0,
            "Keys": {"Id": {"N": "101"}},
            "NewImage": image,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "SequenceNumber": "111",
            "SizeBytes": 26,
        },
    }


SHIPPED = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"NewImage": {"status": {"S": ["shipped"]}}},
}


@pytest.mark.parametrize(
    ("pattern", "record", "expected"),
    [
        pytest.param(SHIPPED, dynamodb_record("MODIFY", "shipped"), True, id="modify-shipped"),
        pytest.param(SHIPPED, dynamodb_record("INSERT", "shipped"), True, id="insert-shipped"),
        pytest.param(SHIPPED, dynamodb_record("REMOVE", "shipped"), False, id="remove"),
        pytest.param(SHIPPED, dynamodb_record("MODIFY", "pending"), False, id="pending"),
        pytest.param(SHIPPED, dynamodb_record("MODIFY", None), False, id="no-status"),
        pytest.param(
            {"dynamodb": {"NewImage": {"status": [{"exists": False}]}}},
            dynamodb_record("INSERT", None),
            True,
            id="status-absent",
        ),
        pytest.param(
            {"dynamodb": {"NewImage": {"Id": {"N": ["101"]}}}},
            dynamodb_record("INSERT", None),
            True,
            id="number-attribute-as-string",
        ),
        pytest.param(
            # DynamoDB JSON carries numbers as strings: numeric never matches them.
            {"dynamodb": {"NewImage": {"Id": {"N": [{"numeric": [">", 100]}]}}}},
            dynamodb_record("INSERT", None),
            False,
            id="numeric-on-N-string",
        ),
    ],
)
def test_dynamodb_stream_record(
    pattern: dict[str, Any], record: dict[str, Any], expected: bool
) -> None:
    assert EventPattern(pattern).matches(record) is expected


# --------------------------------------------------------------------------------------------
# filter_criteria
# --------------------------------------------------------------------------------------------


def test_filter_criteria_passes_when_any_pattern_matches() -> None:
    accept = filter_criteria(
        [
            {"eventName": ["INSERT"]},
            '{"dynamodb": {"NewImage": {"status": {"S": ["shipped"]}}}}',
            EventPattern({"eventName": ["REMOVE"], "awsRegion": ["eu-west-1"]}),
        ]
    )
    assert accept(dynamodb_record("INSERT", "pending"))
    assert accept(dynamodb_record("MODIFY", "shipped"))
    assert not accept(dynamodb_record("MODIFY", "pending"))
    assert not accept(dynamodb_record("REMOVE", "pending"))  # region is us-west-2
    assert isinstance(accept, FilterCriteria)
    assert [type(pattern) for pattern in accept.patterns] == [EventPattern] * 3
    assert accept.patterns[1].pattern == {"dynamodb": {"NewImage": {"status": {"S": ["shipped"]}}}}


def test_filter_criteria_limit() -> None:
    assert MAX_FILTERS == 5
    five = filter_criteria({"n": [index]} for index in range(MAX_FILTERS))
    assert len(five.patterns) == 5
    assert five({"n": 4})
    assert not five({"n": 5})
    with pytest.raises(InvalidParameterValueException, match="6 filters exceed the limit of 5"):
        filter_criteria([{"n": [index]} for index in range(MAX_FILTERS + 1)])


def test_filter_criteria_without_patterns_passes_everything() -> None:
    accept = filter_criteria([])
    assert accept({"anything": 1})
    assert accept(None)


def test_filter_criteria_rejects_an_invalid_pattern() -> None:
    with pytest.raises(InvalidParameterValueException, match="Unknown operator"):
        filter_criteria([{"a": ["x"]}, {"b": [{"begins-with": "x"}]}])


@pytest.mark.parametrize("single", [{"a": ["x"]}, '{"a": ["x"]}'])
def test_filter_criteria_wants_a_list(single: Any) -> None:
    with pytest.raises(TypeError, match="iterable of patterns"):
        filter_criteria(single)


def test_filter_criteria_repr() -> None:
    accept = filter_criteria([{"a": ["x"]}])
    assert repr(accept) == 'FilterCriteria([EventPattern({"a": ["x"]})])'
