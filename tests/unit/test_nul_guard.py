"""Where the NUL guard finds a NUL in a body, and where it rightly finds none."""

from __future__ import annotations

from api.nul_guard import nul_in_body, nul_in_json


def test_the_first_nul_is_named_by_its_dotted_path() -> None:
    assert nul_in_json({"lines": [{"sku": "A"}, {"sku": "B\x00"}]}) == "lines.1.sku"
    assert nul_in_json({"a": {"b\x00": 1}}) == "a.b\x00"
    assert nul_in_json({"a": [1, 2.5, None, True, "ok"]}) is None


def test_a_json_body_is_parsed_only_when_it_holds_the_escape() -> None:
    assert nul_in_body("application/json", b'{"a": "x\\u0000"}') == "a"
    assert nul_in_body("application/problem+json", b'"\\u0000"') == "body"
    # An escaped backslash followed by u0000 is text, not NUL.
    assert nul_in_body("application/json", b'{"a": "x\\\\u0000"}') is None
    # Not JSON at all: left for the route to answer.
    assert nul_in_body("application/json", b'{"a": "\\u0000"') is None


def test_form_bodies_are_decoded_and_other_bodies_left_alone() -> None:
    assert nul_in_body("application/x-www-form-urlencoded", b"a=1&note=x%00y") == "note"
    assert nul_in_body("application/x-www-form-urlencoded", b"a=1&note=x") is None
    assert nul_in_body("text/plain", b"\x00") is None


def test_a_body_without_a_content_type_is_read_as_json_and_multipart_is_refused_whole() -> None:
    # FastAPI parses a body with no content type as JSON, so the guard does too.
    assert nul_in_body("", b'{"note": "x\\u0000"}') == "note"
    assert nul_in_body("multipart/form-data; boundary=b", b"--b\r\n\r\nx\x00y\r\n--b--") == "body"
    assert nul_in_body("multipart/form-data; boundary=b", b"--b\r\n\r\nxy\r\n--b--") is None


def test_a_json_body_in_utf16_is_parsed_for_the_escape_too() -> None:
    body = '{"note": "a\\u0000b"}'.encode("utf-16")
    assert nul_in_body("application/json", body) == "note"
    assert nul_in_body("application/json", '{"note": "ab"}'.encode("utf-16")) is None
