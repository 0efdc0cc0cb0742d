"""The intrinsic functions of the States Language: every function with AWS's documented examples
(the developer guide's "Intrinsic functions" page), their limits and failures, nested calls,
and the parser's handling of malformed calls."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from faaslib.workflows._failure import INTRINSIC_FAILURE, RUNTIME, StatesFailure
from faaslib.workflows._intrinsics import MAX_CALLS, check_intrinsic, evaluate_intrinsic

CONTEXT = {"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e1"}}


def run(text: str, data: Any = None) -> Any:
    assert check_intrinsic(text) is None, check_intrinsic(text)
    return evaluate_intrinsic(text, {} if data is None else data, CONTEXT)


def fails(text: str, data: Any = None) -> str:
    """The cause of the ``States.IntrinsicFailure`` the (well-formed) call fails with."""
    assert check_intrinsic(text) is None, check_intrinsic(text)
    with pytest.raises(StatesFailure) as failure:
        evaluate_intrinsic(text, {} if data is None else data, CONTEXT)
    assert failure.value.error == INTRINSIC_FAILURE
    return failure.value.cause


# -- States.Format ------------------------------------------------------------------------------


def test_format_aws_example_with_a_literal_or_a_path_template() -> None:
    data = {"name": "Arnav", "template": "Hello, my name is {}."}
    assert run("States.Format('Hello, my name is {}.', $.name)", data) == "Hello, my name is Arnav."
    assert run("States.Format($.template, $.name)", data) == "Hello, my name is Arnav."


def test_format_escapes_quote_braces_and_backslash() -> None:
    # In JSON these are written \\' \\{ \\} \\\\ ; the intrinsic text has one backslash each.
    assert run(r"States.Format('it\'s \{\} {} \\ done', 'x')") == "it's {} x \\ done"
    assert run(r"States.Format('\{{}\}', 1)") == "{1}"
    assert run("States.Format('no placeholders')") == "no placeholders"
    assert run("States.Format('')") == ""


def test_format_renders_each_kind_of_value_as_aws_does() -> None:
    data = {"obj": {"Arg1": 1, "Arg2": []}, "list": ["a", 1, None], "text": '{"Arg1": 1}'}
    assert run("States.Format('{}|{}|{}|{}', null, 1, 1.1, true)") == "null|1|1.1|true"
    assert run("States.Format('{} and {}', $.obj, $.list)", data) == (
        "{Arg1=1, Arg2=[]} and [a, 1, null]"
    )
    assert run("States.Format('{}', $.text)", data) == '{"Arg1": 1}'
    assert run("States.Format('{}', '')") == ""


def test_format_with_a_path_template_fills_every_brace_pair() -> None:
    assert run("States.Format($.t, 1, 2)", {"t": "{}-{}"}) == "1-2"


def test_format_fails_on_a_placeholder_count_mismatch_or_a_template_that_is_no_string() -> None:
    assert "1 placeholder(s) for 2 value(s)" in fails("States.Format('{}', 1, 2)")
    assert "2 placeholder(s) for 1 value(s)" in fails("States.Format('{}{}', 1)")
    assert "must be a string" in fails("States.Format(1)")
    assert "must be a string" in fails("States.Format($.t, 1)", {"t": ["{}"]})
    # An escaped brace pair is no placeholder.
    assert "0 placeholder(s) for 1 value(s)" in fails(r"States.Format('\{\}', 1)")


def test_format_of_a_nested_call() -> None:
    data = {"items": [1, 2, 3]}
    assert run("States.Format('{}', States.ArrayLength($.items))", data) == "3"
    assert run(
        "States.Format('{} items', States.MathAdd(States.ArrayLength($.items), 1))", data
    ) == ("4 items")


# -- JSON ---------------------------------------------------------------------------------------


def test_string_to_json_aws_example() -> None:
    data = {"escapedJsonString": '{"foo": "bar"}'}
    assert run("States.StringToJson($.escapedJsonString)", data) == {"foo": "bar"}
    assert run("States.StringToJson('[1, 2.5, null, true]')") == [1, 2.5, None, True]
    assert run("States.StringToJson('\"text\"')") == "text"


def test_string_to_json_fails_on_text_that_is_not_json_or_on_a_non_string() -> None:
    assert "is not JSON text" in fails("States.StringToJson('{oops')")
    assert "is not JSON text" in fails("States.StringToJson('')")
    assert "is not JSON text" in fails("States.StringToJson('NaN')")
    assert "must be a string" in fails("States.StringToJson($.a)", {"a": {"b": 1}})


def test_json_to_string_is_compact_json() -> None:
    data = {"unescapedJson": {"foo": "bar", "n": [1, 2.5, None]}, "word": "héllo"}
    assert run("States.JsonToString($.unescapedJson)", data) == '{"foo":"bar","n":[1,2.5,null]}'
    assert run("States.JsonToString($.word)", data) == '"héllo"'
    assert run("States.JsonToString($)", {"a": 1}) == '{"a":1}'
    assert run("States.JsonToString(3)") == "3"


def test_json_merge_aws_example_is_shallow() -> None:
    data = {
        "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
        "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
    }
    merged = run("States.JsonMerge($.json1, $.json2, false)", data)
    assert merged == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}
    assert data["json1"] == {"a": {"a1": 1, "a2": 2}, "b": 2}  # the input is left as it was


def test_json_merge_fails_on_deep_merge_or_a_non_object() -> None:
    data = {"o": {"a": 1}, "l": [1]}
    assert "shallow" in fails("States.JsonMerge($.o, $.o, true)", data)
    assert "must be false" in fails("States.JsonMerge($.o, $.o, 'false')", data)
    assert "first argument must be a JSON object" in fails(
        "States.JsonMerge($.l, $.o, false)", data
    )
    assert "second argument must be a JSON object" in fails("States.JsonMerge($.o, 1, false)", data)


# -- arrays -------------------------------------------------------------------------------------


def test_array_aws_example_and_any_number_of_arguments() -> None:
    assert run("States.Array($.Id)", {"Id": 123456}) == [123456]
    assert run("States.Array()") == []
    assert run("States.Array('a', 1, -2.5, 1e3, true, false, null, States.Array())") == [
        "a", 1, -2.5, 1000.0, True, False, None, [],
    ]  # fmt: skip


def test_array_partition_aws_example() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}
    assert run("States.ArrayPartition($.inputArray,4)", data) == [[1, 2, 3, 4], [5, 6, 7, 8], [9]]
    assert run("States.ArrayPartition($.inputArray, 9)", data) == [data["inputArray"]]
    assert run("States.ArrayPartition($.inputArray, 20)", data) == [data["inputArray"]]
    assert run("States.ArrayPartition(States.Array(), 2)") == []


def test_array_partition_rounds_the_chunk_size_and_wants_it_positive() -> None:
    assert run("States.ArrayPartition(States.Array(1, 2, 3), 1.5)") == [[1, 2], [3]]
    assert "positive" in fails("States.ArrayPartition(States.Array(1), 0)")
    assert "positive" in fails("States.ArrayPartition(States.Array(1), -1)")
    assert "positive" in fails("States.ArrayPartition(States.Array(1), 0.4)")
    assert "must be a number" in fails("States.ArrayPartition(States.Array(1), '2')")
    assert "must be an array" in fails("States.ArrayPartition('abc', 2)")


def test_array_contains_aws_example_and_json_equality() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}
    assert run("States.ArrayContains($.inputArray, $.lookingFor)", data) is True
    assert run("States.ArrayContains($.inputArray, 10)", data) is False
    items = {"items": [{"a": 1, "b": [1, 2]}, [None], True]}
    assert run("States.ArrayContains($.items, $.probe)", {**items, "probe": {"b": [1, 2], "a": 1}})
    assert run("States.ArrayContains($.items, States.Array(null))", items) is True
    assert run("States.ArrayContains($.items, 1)", items) is False  # true is not 1
    assert run("States.ArrayContains(States.Array(), null)") is False
    assert "must be an array" in fails("States.ArrayContains('abc', 'a')")


def test_array_range_aws_example_and_steps() -> None:
    assert run("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]
    assert run("States.ArrayRange(0, 10, 3)") == [0, 3, 6, 9]
    assert run("States.ArrayRange(1, 9, 9)") == [1]
    assert run("States.ArrayRange(9, 1, -2)") == [9, 7, 5, 3, 1]
    assert run("States.ArrayRange(5, 1, 1)") == []
    assert run("States.ArrayRange(0.6, 2.5, 1)") == [1, 2, 3]  # rounded half up


def test_array_range_makes_at_most_1000_items_and_needs_a_step() -> None:
    assert len(run("States.ArrayRange(1, 1000, 1)")) == 1000
    assert "1001 items; at most 1000" in fails("States.ArrayRange(0, 1000, 1)")
    assert "at most 1000" in fails("States.ArrayRange(0, 100000000, 1)")
    assert "must not be 0" in fails("States.ArrayRange(1, 9, 0)")
    assert "third argument must be a number" in fails("States.ArrayRange(1, 9, 'x')")


def test_array_get_item_aws_example() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}
    assert run("States.ArrayGetItem($.inputArray, $.index)", data) == 6
    assert run("States.ArrayGetItem($.inputArray, 0)", data) == 1
    assert run("States.ArrayGetItem($.inputArray, 8.0)", data) == 9


def test_array_get_item_fails_out_of_bounds_or_on_a_bad_index() -> None:
    data = {"a": [1, 2, 3]}
    assert "index 3 is out of bounds of an array of 3 items" in fails(
        "States.ArrayGetItem($.a, 3)", data
    )
    assert "out of bounds" in fails("States.ArrayGetItem($.a, -1)", data)
    assert "must be an integer" in fails("States.ArrayGetItem($.a, 1.5)", data)
    assert "must be an integer" in fails("States.ArrayGetItem($.a, '1')", data)
    assert "must be an integer" in fails("States.ArrayGetItem($.a, true)", data)
    assert "must be an array" in fails("States.ArrayGetItem($, 0)", data)


def test_array_length_aws_example() -> None:
    assert run("States.ArrayLength($.inputArray)", {"inputArray": list(range(1, 10))}) == 9
    assert run("States.ArrayLength(States.Array())") == 0
    assert "must be an array" in fails("States.ArrayLength('abc')")


def test_array_unique_aws_example_keeps_first_occurrences() -> None:
    assert run("States.ArrayUnique($.inputArray)", {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}) == [
        1, 2, 3, 4,
    ]  # fmt: skip
    data: dict[str, Any] = {
        "a": [None, None, True, 1, 1.0, "1", {"a": 1, "b": 2}, {"b": 2, "a": 1}, [], []]
    }
    assert run("States.ArrayUnique($.a)", data) == [None, True, 1, 1.0, "1", {"a": 1, "b": 2}, []]
    assert "must be an array" in fails("States.ArrayUnique($.o)", {"o": {}})


# -- encoding and hashing -----------------------------------------------------------------------


def test_base64_encode_and_decode_aws_examples() -> None:
    assert (
        run("States.Base64Encode($.input)", {"input": "Data to encode"}) == "RGF0YSB0byBlbmNvZGU="
    )
    # The guide prints "Decoded data" here; the text really encoded is "Data to encode".
    assert run("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}) == (
        "Data to encode"
    )
    assert run("States.Base64Decode(States.Base64Encode('héllo ✓'))") == "héllo ✓"
    assert run("States.Base64Encode('')") == ""
    assert run("States.Base64Decode('')") == ""


def test_base64_decode_takes_missing_padding_and_mime_line_breaks() -> None:
    assert run("States.Base64Decode('RGF0YQ')") == "Data"
    assert run("States.Base64Decode($.b)", {"b": "RGF0YSB0\r\nbyBlbmNvZGU="}) == "Data to encode"


def test_base64_decode_fails_on_text_that_is_not_base64() -> None:
    assert "is not Base64 text" in fails("States.Base64Decode('not base64!')")
    assert "is not Base64 text" in fails("States.Base64Decode('RGF0Y')")  # a 1-character tail
    assert "is not Base64 text" in fails("States.Base64Decode('RG=F0')")
    assert "does not decode to UTF-8 text" in fails("States.Base64Decode('/w==')")  # byte 0xFF
    assert "must be a string" in fails("States.Base64Decode(1)")


def test_base64_functions_take_at_most_10000_characters() -> None:
    assert len(run("States.Base64Encode($.t)", {"t": "a" * 10_000})) == 13_336
    assert "10001 characters; at most 10000" in fails(
        "States.Base64Encode($.t)", {"t": "a" * 10_001}
    )
    assert "at most 10000" in fails("States.Base64Decode($.t)", {"t": "QUFB" * 2501})


def test_hash_aws_example() -> None:
    # The guide prints this digest with a "4" missing (…d7485e…); SHA-1 of "input data" is:
    data = {"Data": "input data", "Algorithm": "SHA-1"}
    assert (
        run("States.Hash($.Data, $.Algorithm)", data) == "aaff4a450a104cd177d28d18d74485e8cae074b7"
    )


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [  # FIPS 180 / RFC 1321 test vectors for "abc"
        ("MD5", "900150983cd24fb0d6963f7d28e17f72"),
        ("SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "SHA-384",
            (
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                "8086072ba1e7cc2358baeca134c825a7"
            ),
        ),
        (
            "SHA-512",
            (
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
            ),
        ),
    ],
)
def test_hash_every_algorithm_as_lowercase_hex(algorithm: str, digest: str) -> None:
    assert run(f"States.Hash('abc', '{algorithm}')") == digest


def test_hash_fails_on_an_unknown_algorithm_a_non_string_or_long_data() -> None:
    assert "'sha-1'" not in fails("States.Hash('abc', 'sha-1')")
    assert 'algorithm "sha-1" is not one of MD5, SHA-1' in fails("States.Hash('abc', 'sha-1')")
    assert "is not one of" in fails("States.Hash('abc', 'SHA-224')")
    assert "is not one of" in fails("States.Hash('abc', 1)")
    assert "must be a string" in fails("States.Hash($.o, 'MD5')", {"o": {"a": 1}})
    assert len(run("States.Hash($.t, 'MD5')", {"t": "a" * 10_000})) == 32
    assert "at most 10000" in fails("States.Hash($.t, 'MD5')", {"t": "a" * 10_001})


# -- math ---------------------------------------------------------------------------------------


def test_math_random_aws_example_is_in_range_end_excluded() -> None:
    drawn = {run("States.MathRandom($.start, $.end)", {"start": 1, "end": 3}) for _ in range(200)}
    assert drawn == {1, 2}
    assert 1 <= run("States.MathRandom($.start, $.end)", {"start": 1, "end": 999}) < 999
    assert run("States.MathRandom(-5, -4)") == -5


def test_math_random_with_a_seed_is_deterministic() -> None:
    first = run("States.MathRandom(0, 1000000, 7)")
    assert all(run("States.MathRandom(0, 1000000, 7)") == first for _ in range(5))
    seeded = {run(f"States.MathRandom(0, 1000000, {seed})") for seed in range(20)}
    assert len(seeded) > 1  # different seeds, different draws
    assert run("States.MathRandom(0, 999, $.s)", {"s": 3}) == run("States.MathRandom(0, 999, 3)")


def test_math_random_rounds_and_fails_on_an_empty_range() -> None:
    assert run("States.MathRandom(0.5, 1.6)") == 1  # the range [1, 2)
    assert "start 5 must be less than the end 5" in fails("States.MathRandom(5, 5)")
    assert "must be less than" in fails("States.MathRandom(9, 1)")
    assert "second argument must be a number" in fails("States.MathRandom(1, '9')")
    assert "third argument must be a number" in fails("States.MathRandom(1, 9, 'seed')")


def test_math_add_aws_example() -> None:
    assert run("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}) == 110
    assert run("States.MathAdd(-9, 3)") == -6


@pytest.mark.parametrize(
    ("a", "b", "total"),
    [  # rounded half up, as Java's Math.round (the first four as AWS answered them)
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (0.5, 0, 1),
        (2.5, 0, 3),
        (-0.5, 0, 0),
        (-2.5, 0, -2),
        (0.49999999999999994, 0, 0),
    ],
)
def test_math_add_rounds_non_integers(a: float, b: float, total: int) -> None:
    assert run("States.MathAdd($.a, $.b)", {"a": a, "b": b}) == total


def test_math_add_takes_32_bit_integers_only() -> None:
    assert run("States.MathAdd(2147483647, -2147483648)") == -1
    assert "outside the integers" in fails("States.MathAdd(2147483648, 0)")
    assert "outside the integers" in fails("States.MathAdd(0, -2147483649)")
    assert "must be a number" in fails("States.MathAdd('1', 2)")
    assert "must be a number" in fails("States.MathAdd(true, 2)")
    assert "must be a number" in fails("States.MathAdd(null, 2)")


# -- strings and identifiers --------------------------------------------------------------------


def test_string_split_aws_examples() -> None:
    data = {"inputString": "1,2,3,4,5", "splitter": ","}
    assert run("States.StringSplit($.inputString, $.splitter)", data) == ["1", "2", "3", "4", "5"]
    data = {"inputString": "This.is+a,test=string", "splitter": ".+,="}
    assert run("States.StringSplit($.inputString, $.splitter)", data) == [
        "This", "is", "a", "test", "string",
    ]  # fmt: skip


def test_string_split_drops_empty_parts() -> None:
    assert run("States.StringSplit(',a,,b,', ',')") == ["a", "b"]
    assert run("States.StringSplit($.t, $.d)", {"t": "Hello\nWorld", "d": "\n"}) == [
        "Hello",
        "World",
    ]
    assert run("States.StringSplit('a-b', '|')") == ["a-b"]
    assert run("States.StringSplit('', ',')") == []
    assert run("States.StringSplit('abc', '')") == ["abc"]
    assert run(r"States.StringSplit('a\\b]c^d', '\\]^')") == ["a", "b", "c", "d"]


def test_string_split_fails_on_non_strings() -> None:
    assert "first argument must be a string" in fails("States.StringSplit(1, ',')")
    assert "second argument must be a string" in fails("States.StringSplit('a', 1)")


def test_uuid_is_a_random_version_4_uuid() -> None:
    first, second = run("States.UUID()"), run("States.UUID()")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )
    assert uuid.UUID(first).version == 4
    assert first != second


# -- paths and nesting --------------------------------------------------------------------------


def test_paths_read_the_input_and_the_context_object() -> None:
    data = {"a b": 1, "items": [{"n": 1}, {"n": 2}], "x": {"y": "z"}}
    assert run("States.Array($$.Execution.Id)") == [CONTEXT["Execution"]["Id"]]
    assert run("States.Array($['a b'], $.x.y, $.items[1].n)", data) == [1, "z", 2]
    assert run("States.Array($.items[*].n)", data) == [[1, 2]]  # a wildcard gives its matches
    assert run("States.ArrayLength($.items[?(@.n > 1)])", data) == 1  # a filter, with ')' inside
    assert run("States.Array($)", {"k": 1}) == [{"k": 1}]


def test_a_path_that_selects_nothing_is_a_runtime_error() -> None:
    with pytest.raises(StatesFailure) as failure:
        evaluate_intrinsic("States.Format('{}', $.missing)", {"a": 1}, CONTEXT)
    assert failure.value.error == RUNTIME
    assert "$.missing" in failure.value.cause


def test_the_guides_nine_nested_calls_are_well_formed() -> None:
    arn = (
        "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem("
        "States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2),"
        " '.'), 1))"
    )
    assert check_intrinsic(arn) is None
    data = {"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:1:image-recipe/r/1.2.3"}}
    # As printed, the guide's template has three placeholders for two values.
    assert "3 placeholder(s) for 2 value(s)" in fails(arn, data)
    two = arn.replace("'{}.{}.{}'", "'{}.{}'")
    assert run(two, data) == "1.2"


def test_a_field_holds_at_most_ten_calls() -> None:
    ten = "States.Array(" * MAX_CALLS + ")" * MAX_CALLS
    assert check_intrinsic(ten) is None
    eleven = "States.Array(" * (MAX_CALLS + 1) + ")" * (MAX_CALLS + 1)
    assert (
        check_intrinsic(eleven)
        == f"{eleven!r} nests 11 intrinsic functions; a field holds at most 10"
    )
    wide = "States.Array(" + ", ".join(["States.UUID()"] * MAX_CALLS) + ")"
    assert "nests 11" in str(check_intrinsic(wide))


def test_blanks_between_tokens_are_ignored() -> None:
    assert run("  States.MathAdd (\t1 ,\n2 )  ") == 3
    assert run("States.Array( )") == []


# -- malformed calls ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected an intrinsic function call"),
        ("$.a", "expected an intrinsic function call"),
        ("Format('x')", "expected an intrinsic function call"),
        ("states.Format('x')", "expected an intrinsic function call"),
        ("States.Frobnicate(1)", "unknown intrinsic function States.Frobnicate"),
        ("States.format('x')", "unknown intrinsic function States.format"),
        ("States.Format", "expected '(' after States.Format"),
        ("States.Format('x'", "missing ')' closing States.Format("),
        ("States.Format('x'))", "unexpected ')' after the call"),
        ("States.Format('x') trailing", "unexpected 'trailing' after the call"),
        ("States.Format('x)", "unterminated string"),
        ("States.Format('it's')", "expected ',' or ')' in the arguments of States.Format"),
        (r"States.Format('a\nb')", "an open escape backslash"),
        ("States.Format('a\\", "an open escape backslash"),
        ("States.Array(1,)", "expected an argument"),
        ("States.Array(,1)", "expected an argument"),
        ("States.Array(1 2)", "expected ',' or ')'"),
        ('States.Array("x")', "unexpected '\"' (a string argument is written in single quotes)"),
        ("States.Array(abc)", "unexpected 'abc'"),
        ("States.Array(True)", "unexpected 'True'"),
        ("States.Array(truex)", "unexpected 'truex'"),
        ("States.Array(01)", "unexpected '1'"),
        ("States.Array(1.2.3)", "unexpected '.'"),
        ("States.Array(-)", "unexpected '-'"),
        ("States.Array(.5)", "unexpected '.5'"),
        ("States.Array(1e)", "unexpected 'e'"),
        ("States.Array($.a[0)", "unbalanced brackets or quotes"),
        ("States.Array($['a)", "unbalanced brackets or quotes"),
        ("States.Array($.a])", "unbalanced brackets or quotes"),
        ("States.Array($x)", "the argument '$x' of 'States.Array($x)'"),
        ("States.Array(States.Nope())", "unknown intrinsic function States.Nope"),
        ("States.Array(States.UUID(1))", "States.UUID takes 0 argument(s), not 1"),
    ],
)
def test_malformed_calls_say_what_is_wrong(text: str, problem: str) -> None:
    found = check_intrinsic(text)
    assert found is not None
    assert problem in found
    with pytest.raises(StatesFailure) as failure:
        evaluate_intrinsic(text, {"a": [1]}, CONTEXT)
    assert failure.value.error in (INTRINSIC_FAILURE, RUNTIME)


@pytest.mark.parametrize(
    ("text", "takes"),
    [
        ("States.Format()", "States.Format takes at least 1 argument(s), not 0"),
        ("States.StringToJson()", "takes 1 argument(s), not 0"),
        ("States.JsonToString($.a, $.a)", "takes 1 argument(s), not 2"),
        ("States.ArrayPartition($.a)", "takes 2 argument(s), not 1"),
        ("States.ArrayContains($.a)", "takes 2 argument(s), not 1"),
        ("States.ArrayRange(1, 2)", "takes 3 argument(s), not 2"),
        ("States.ArrayGetItem($.a, 1, 2)", "takes 2 argument(s), not 3"),
        ("States.ArrayLength()", "takes 1 argument(s), not 0"),
        ("States.ArrayUnique($.a, $.a)", "takes 1 argument(s), not 2"),
        ("States.Base64Encode()", "takes 1 argument(s), not 0"),
        ("States.Base64Decode('a', 'b')", "takes 1 argument(s), not 2"),
        ("States.Hash('a')", "takes 2 argument(s), not 1"),
        ("States.JsonMerge($.a, $.a)", "takes 3 argument(s), not 2"),
        ("States.MathRandom(1)", "States.MathRandom takes 2 or 3 argument(s), not 1"),
        ("States.MathRandom(1, 2, 3, 4)", "takes 2 or 3 argument(s), not 4"),
        ("States.MathAdd(1)", "takes 2 argument(s), not 1"),
        ("States.StringSplit('a')", "takes 2 argument(s), not 1"),
        ("States.UUID(1)", "States.UUID takes 0 argument(s), not 1"),
    ],
)
def test_wrong_arity_is_malformed(text: str, takes: str) -> None:
    assert takes in str(check_intrinsic(text))
    with pytest.raises(StatesFailure) as failure:
        evaluate_intrinsic(text, {"a": [1]}, CONTEXT)
    assert failure.value.error == INTRINSIC_FAILURE
    assert takes in failure.value.cause


def test_well_formed_calls_check_clean() -> None:
    for text in (
        "States.Format('{}', $.a)",
        "States.Array($$.Execution.Id, -1, 2.5e-3, 'x', true, false, null)",
        "States.ArrayGetItem($.a[?(@.b == 'c, d)')], 0)",
        "States.JsonMerge($.a, States.StringToJson('{\"b\": 1}'), false)",
    ):
        assert check_intrinsic(text) is None, text
