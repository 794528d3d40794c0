"""Pattern behaviour beyond the shared vectors: failing fields, warnings, edge cases of validation."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import pytest

from port_aws_exporter.eventbridge.pattern import (
    InvalidPatternError,
    PatternMatch,
    cached_pattern,
    compile_pattern,
    pattern_matches,
)

SEED_PATTERN: dict[str, Any] = {
    "source": ["aws.lambda"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["lambda.amazonaws.com"],
        "eventName": [
            {"prefix": "UpdateFunctionConfiguration"},
            {"prefix": "CreateFunction"},
            {"prefix": "DeleteFunction"},
        ],
    },
}


def lambda_event(event_name: str, source: str = "aws.lambda") -> dict[str, Any]:
    return {
        "source": source,
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventSource": "lambda.amazonaws.com", "eventName": event_name},
    }


def reason_of(pattern: object) -> str:
    with pytest.raises(InvalidPatternError) as raised:
        compile_pattern(pattern)  # type: ignore[arg-type]
    return raised.value.reason


class TestFailedField:
    def test_match_has_no_failed_field(self) -> None:
        assert compile_pattern(SEED_PATTERN).match(lambda_event("CreateFunction20150331")) == PatternMatch(True)

    def test_first_failing_field_in_pattern_order(self) -> None:
        pattern = compile_pattern(SEED_PATTERN)
        assert pattern.match(lambda_event("GetFunction20150331")).failed_field == "detail.eventName"
        assert pattern.match(lambda_event("GetFunction20150331", source="aws.s3")).failed_field == "source"

    def test_missing_field_is_the_failing_field(self) -> None:
        event = lambda_event("CreateFunction20150331")
        del event["detail"]["eventSource"]
        assert compile_pattern(SEED_PATTERN).match(event).failed_field == "detail.eventSource"

    def test_or_reports_the_branch_that_got_furthest(self) -> None:
        pattern = compile_pattern(
            {"source": ["aws.ec2"], "$or": [{"detail": {"a": ["x"], "b": ["y"]}}, {"detail": {"c": ["z"]}}]}
        )
        result = pattern.match({"source": "aws.ec2", "detail": {"a": "x", "b": "nope"}})
        assert result == PatternMatch(False, "detail.b")

    def test_array_consistency_failure_names_a_field(self) -> None:
        pattern = compile_pattern({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}})
        event = {
            "employees": [
                {"firstName": "Anna", "lastName": "Smith"},
                {"firstName": "Peter", "lastName": "Jones"},
            ]
        }
        result = pattern.match(event)
        assert result.matched is False
        assert result.failed_field in {"employees.firstName", "employees.lastName"}

    def test_bool_of_a_match_is_matched(self) -> None:
        assert bool(PatternMatch(True)) and not bool(PatternMatch(False, "x"))


class TestFieldConditions:
    def test_seed_event_name_field_admits_other_operations(self) -> None:
        """What the linter builds on: the seed's prefixes admit more than the three operations."""
        [condition] = [c for c in compile_pattern(SEED_PATTERN).fields() if c.path == "detail.eventName"]
        assert condition.accepts("DeleteFunctionConcurrency20171031")
        assert condition.accepts("CreateFunctionUrlConfig20211031")
        assert not condition.accepts("GetFunction20150331")
        assert not condition.admits_absence

    def test_fields_list_every_branch(self) -> None:
        pattern = compile_pattern({"a": ["1"], "$or": [{"b": ["2"]}, {"c": [{"exists": False}]}]})
        assert [(c.branch, c.path) for c in pattern.fields()] == [(0, "a"), (0, "b"), (1, "a"), (1, "c")]
        assert pattern.fields()[3].admits_absence


class TestSemantics:
    def test_dotted_pattern_keys_and_nested_event_keys_meet(self) -> None:
        pattern = compile_pattern({"detail.state": ["on"]})
        assert pattern.matches({"detail": {"state": "on"}})
        assert pattern.matches({"detail.state": "on"})
        assert not pattern.matches({"detail": {"state": {"x": "on"}}})

    def test_repeated_path_keeps_the_last_matchers(self) -> None:
        pattern = compile_pattern({"a": {"b": ["first"]}, "a.b": ["second"]})
        assert pattern.matches({"a": {"b": "second"}})
        assert not pattern.matches({"a": {"b": "first"}})

    def test_exact_ip_matches_other_spellings_of_the_address(self) -> None:
        pattern = compile_pattern({"ip": ["2001:db8::1"]})
        assert pattern.matches({"ip": "2001:0db8:0000:0000:0000:0000:0000:0001"})
        assert not pattern.matches({"ip": "2001:db8::2"})

    def test_cidr_with_host_bits_set_matches_the_whole_network(self) -> None:
        # AWS (and event-ruler since May 2023) clear the host bits: 10.0.0.128/24 is 10.0.0.0/24.
        pattern = compile_pattern({"ip": [{"cidr": "10.0.0.128/24"}]})
        assert pattern.matches({"ip": "10.0.0.200"})
        assert pattern.matches({"ip": "10.0.0.5"})
        assert not pattern.matches({"ip": "10.0.1.5"})
        assert not pattern.matches({"ip": "2001:db8::1"})
        assert compile_pattern({"ip": [{"cidr": "2001:db8::ff/120"}]}).matches({"ip": "2001:db8::1"})

    def test_wildcard_escapes(self) -> None:
        assert compile_pattern({"a": [{"wildcard": "x\\*y"}]}).matches({"a": "x*y"})
        assert not compile_pattern({"a": [{"wildcard": "x\\*y"}]}).matches({"a": "xzy"})
        assert compile_pattern({"a": [{"wildcard": "x\\\\*"}]}).matches({"a": "x\\anything"})

    def test_dollar_or_that_is_not_an_or_is_a_field_name(self) -> None:
        assert compile_pattern({"$or": {"a": ["b"]}}).matches({"$or": {"a": "b"}})
        assert compile_pattern({"$or": ["x", "y"]}).matches({"$or": "y"})

    def test_nested_or(self) -> None:
        pattern = compile_pattern(
            {"source": ["s"], "$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]}
        )
        assert pattern.matches({"source": "s", "b": "2", "d": "4"})
        assert not pattern.matches({"source": "s", "b": "2"})

    def test_non_object_events_never_match(self) -> None:
        pattern = compile_pattern({"a": [{"exists": False}], "b": ["x"]})
        for event in ([], "text", 3, None, [1, "x"]):
            assert pattern.match(event).matched is False

    def test_dict_subclass_events_match_like_dicts(self) -> None:
        event = OrderedDict(source="aws.lambda", detail=OrderedDict(eventName="CreateFunction20150331"))
        assert compile_pattern({"source": ["aws.lambda"], "detail": {"eventName": [{"prefix": "Create"}]}}).matches(
            event
        )

    def test_array_root_event_is_crushed_like_any_array(self) -> None:
        # `a` is absent from the element that holds `b`, so `exists: false` holds there.
        pattern = compile_pattern({"a": [{"exists": False}], "b": ["x"]})
        assert pattern.matches([{"b": "x"}, {"a": 1}])
        assert not pattern.matches([{"b": "x", "a": 1}])

    def test_exists_false_judged_within_the_chosen_array_element(self) -> None:
        pattern = compile_pattern({"items": {"name": ["a"], "tag": [{"exists": False}]}})
        assert pattern.matches({"items": [{"name": "a"}, {"name": "b", "tag": "t"}]})
        assert not pattern.matches({"items": [{"name": "a", "tag": "t"}, {"name": "b"}]})

    def test_numbers_compare_as_numbers_but_not_as_booleans(self) -> None:
        pattern = compile_pattern({"n": [1, {"numeric": [">=", 5]}]})
        assert pattern.matches({"n": 1.0})
        assert pattern.matches({"n": 7})
        assert not pattern.matches({"n": True})
        assert not pattern.matches({"n": "7"})

    def test_cached_pattern_is_compiled_once(self) -> None:
        assert cached_pattern(SEED_PATTERN) is cached_pattern(json.dumps(SEED_PATTERN))

    def test_pattern_matches_caches_by_text(self) -> None:
        assert pattern_matches(SEED_PATTERN, lambda_event("UpdateFunctionConfiguration20150331v2"))
        assert not pattern_matches(SEED_PATTERN, lambda_event("ListFunctions20150331"))
        assert pattern_matches('{"a": ["b"]}', {"a": "b"})


class TestWarnings:
    def test_simple_wildcards_give_no_warning(self) -> None:
        assert compile_pattern({"a": [{"wildcard": "arn:aws:events:*:*:rule/*"}]}).warnings == ()
        # AWS-accepted: repeated characters after a single wildcard.
        assert compile_pattern({"a": [{"wildcard": "/Users/*/dir/dir/dir/dir/dir/doc.txt"}]}).warnings == ()

    def test_patterns_longer_than_put_rule_allows_warn(self) -> None:
        names = [f"Operation{index:04d}" for index in range(300)]
        pattern = compile_pattern({"detail": {"eventName": names}})
        [warning] = pattern.warnings
        assert warning.code == "pattern-too-long" and "at most 4096 characters" in warning.message
        assert compile_pattern({"detail": {"eventName": names[:200]}}).warnings == ()

    def test_many_wildcards_warn_inside_anything_but_too(self) -> None:
        pattern = compile_pattern({"a": [{"anything-but": {"wildcard": ["*a*b*c*d*e*f*"]}}]})
        assert [warning.code for warning in pattern.warnings] == ["wildcard-too-complex"]


class TestValidation:
    @pytest.mark.parametrize(
        ("pattern", "reason"),
        [
            ([1], "Filter is not an object"),
            ("[1]", "Filter is not an object"),
            ({}, "Empty objects are not allowed"),
            ({"a": {}}, "Empty objects are not allowed"),
            ({"a": [[1]]}, "Match value must be String, number, true, false, or null"),
            ({"a": [{}]}, "Match expression name not found"),
            ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
            ({"a": [{"numeric": ["=", 1], "x": 1}]}, "Too many elements in numeric expression"),
            ({"a": [{"numeric": ["<", 1, ">", 0]}]}, "Too many elements in numeric expression"),
            ({"a": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"),
            ({"a": [{"numeric": [">", 0, "<", 5, 6]}]}, "Too many terms in numeric range expression"),
            ({"a": [{"numeric": ["!=", 1]}]}, "Unrecognized numeric range operator: !="),
            ({"a": [{"numeric": [5]}]}, "Invalid member in numeric match: 5"),
            ({"a": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
            ({"a": [{"numeric": ["=", "5"]}]}, "Value of equals must be numeric"),
            ({"a": [{"numeric": [">", 0, 5]}]}, "Bad value in numeric range: 5"),
            ({"a": [{"numeric": [">", True]}]}, "Value of > must be numeric"),
            ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
            ({"a": [{"cidr": "10.0.0.0/32"}]}, "IPv4 mask bits must be < 32"),
            ({"a": [{"cidr": "10.0.0.0/-1"}]}, "Malformed CIDR, mask bits must not be negative"),
            ({"a": [{"cidr": "10.0.0.300/8"}]}, "Invalid IP address: 10.0.0.300"),
            ({"a": [{"cidr": "::/128"}]}, "IPv6 mask bits must be < 128"),
            ({"a": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 2"),
            ({"a": [{"wildcard": "é**"}]}, "Consecutive wildcard characters at pos 3"),
            (
                {"a": [{"anything-but": []}]},
                "Inside anything but list, either all values are number or string, mixed type is not supported",
            ),
            (
                {"a": [{"anything-but": ["x", 1]}]},
                "Inside anything but list, either all values are number or string, mixed type is not supported",
            ),
            ({"a": [{"anything-but": {}}]}, "Anything-But expression name not found"),
            ({"a": [{"anything-but": {"numeric": [1]}}]}, "Unsupported anything-but pattern: numeric"),
            (
                {"a": [{"anything-but": {"prefix": "x", "suffix": "y"}}]},
                "Too many elements in numeric expression",
            ),
            ({"a": [{"anything-but": {"wildcard": "a**"}}]}, "Consecutive wildcard characters at pos 2"),
            ({"a": [{"prefix": {}}]}, "Prefix expression name not found"),
            ({"a": [{"prefix": {"wildcard": "x"}}]}, "Unsupported prefix pattern: wildcard"),
            (
                {"a": [{"suffix": {"equals-ignore-case": 1}}]},
                "equals-ignore-case match pattern must be a string",
            ),
            (
                {"a": [{"suffix": {"equals-ignore-case": "x", "y": 1}}]},
                "Only one key allowed in match expression",
            ),
            ({"a": [{"exactly": "x"}]}, "Unrecognized match type exactly"),
            ({"a": [float("nan")]}, "Match value must be String, number, true, false, or null"),
            (
                {"$or": [{"a": {"prefix": ["x"]}}, {"b": ["y"]}]},
                "prefix is Ruler reserved fieldName which cannot be used inside $or.",
            ),
        ],
    )
    def test_invalid_patterns(self, pattern: object, reason: str) -> None:
        assert reason_of(pattern) == reason

    def test_message_is_aws_text_and_path_is_kept(self) -> None:
        with pytest.raises(InvalidPatternError) as raised:
            compile_pattern({"detail": {"count": [{"numeric": 1}]}})
        assert str(raised.value) == "Event pattern is not valid. Reason: Value of numeric must be an array."
        assert raised.value.path == "detail.count"

    def test_invalid_json_text(self) -> None:
        assert reason_of('{"a": [1,]}').startswith("Invalid JSON")
        assert reason_of('{"a": [NaN]}').startswith("Invalid JSON")

    def test_duplicate_keys_in_text_keep_the_last(self) -> None:
        pattern = compile_pattern('{"a": ["x"], "a": ["y"]}')
        assert pattern.matches({"a": "y"}) and not pattern.matches({"a": "x"})

    def test_or_combinations_are_limited(self) -> None:
        alternatives = [{f"k{index}": ["v"]} for index in range(40)]
        pattern = {"$or": alternatives, "x": {"$or": alternatives}}
        assert "1600 combinations" in reason_of(pattern)
        assert compile_pattern({"$or": alternatives, "x": {"$or": alternatives[:25]}}).match({}).matched is False
