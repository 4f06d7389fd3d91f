"""Worker secrets: derived, checked in constant time, never handed out for a claimed id."""

from __future__ import annotations

import pytest

from awe.errors import AweError
from awe.model.workerauth import (
    CLIENT_SECRET,
    NEEDS_TOKEN,
    TOKEN_MISMATCH,
    Proof,
    Registration,
    WorkerRules,
    check_client,
    check_registration,
    derive_secret,
    new_key,
    proof,
)

KEY = bytes(range(32))
OPEN = WorkerRules()  # anonymous mode
OPEN_G = WorkerRules(clientgroup_tokens={"g": "tg"})  # … with a group that has a token
AUTH = WorkerRules(tokens_required=True, secrets_required=True, clientgroup_tokens={"g": "tg"})
LEGACY = WorkerRules(tokens_required=True, clientgroup_tokens={"g": "tg"})


def test_a_secret_is_long_derived_from_the_id_and_differs_per_key_and_id() -> None:
    secret = derive_secret(KEY, "c1")
    assert len(secret) >= 32 and secret == derive_secret(KEY, "c1")  # 256 bits, URL-safe
    assert secret != derive_secret(KEY, "c2") and secret != derive_secret(new_key(), "c1")


@pytest.mark.parametrize(
    ("presented", "expected"),
    [(None, Proof.NONE), ("", Proof.NONE), ("new", Proof.NONE), ("nope", Proof.WRONG),
     ("é" * 43, Proof.WRONG)],
)  # fmt: skip
def test_proof_of_what_a_request_shows(presented: str | None, expected: Proof) -> None:
    assert proof(KEY, "c1", presented) is expected
    assert proof(KEY, "c1", derive_secret(KEY, "c1")) is Proof.VALID
    assert proof(KEY, "c2", derive_secret(KEY, "c1")) is Proof.WRONG  # another client's secret


def error_of(check: object) -> tuple[int, str] | None:
    error = getattr(check, "error", check)
    return (error.status, error.message) if isinstance(error, AweError) else None


def test_a_client_id_alone_is_no_credential_once_auth_is_on() -> None:
    assert error_of(check_client("c1", ("g", False), "tg", Proof.NONE, AUTH)) == (
        401,
        CLIENT_SECRET,
    )
    assert error_of(check_client("c1", ("g", False), "tg", Proof.VALID, AUTH)) is None
    assert error_of(check_client("c1", ("g", False), None, Proof.VALID, AUTH)) == (
        401,
        "No Authorization",
    )
    assert error_of(check_client("c1", ("g", False), "x", Proof.VALID, AUTH)) == (
        400,
        TOKEN_MISMATCH,
    )


def test_a_secured_client_needs_its_secret_even_in_anonymous_and_legacy_mode() -> None:
    for rules in (OPEN, LEGACY):
        token = "tg" if rules is LEGACY else None
        assert error_of(check_client("c1", ("g", True), token, Proof.NONE, rules)) == (
            401,
            CLIENT_SECRET,
        )
        assert error_of(check_client("c1", ("g", False), token, Proof.NONE, rules)) is None


def test_order_wrong_secret_then_unknown_client() -> None:
    assert error_of(check_client("c1", None, "tg", Proof.WRONG, AUTH)) == (401, CLIENT_SECRET)
    assert error_of(check_client("c1", None, "tg", Proof.NONE, AUTH)) == (400, "Client not found")


def test_registration_hands_out_a_secret_only_for_an_id_it_makes_or_one_proven() -> None:
    new = check_registration("", "g", None, "tg", Proof.NONE, True, AUTH)
    assert new == Registration("", secured=True, issue_secret=True)
    again = check_registration("c1", "g", None, "tg", Proof.VALID, False, AUTH)
    assert again == Registration("c1", secured=True, issue_secret=True)  # after a restart too
    legacy = check_registration("c1", "g", None, "tg", Proof.NONE, False, LEGACY)
    assert legacy == Registration("c1", secured=False, issue_secret=False)
    claimed = check_registration("c1", "g", None, "tg", Proof.NONE, True, LEGACY)
    assert claimed == Registration("c1", secured=False, issue_secret=False)


def test_registration_never_takes_a_secured_id_without_its_secret() -> None:
    for rules, token in ((OPEN, None), (LEGACY, "tg"), (AUTH, "tg")):
        taken = check_registration("c1", "g", True, token, Proof.NONE, False, rules)
        assert error_of(taken) == (401, CLIENT_SECRET)
    assert error_of(check_registration("c1", "g", None, "tg", Proof.NONE, False, AUTH)) == (
        401,
        CLIENT_SECRET,
    )


def test_registration_tokens() -> None:
    assert error_of(check_registration("", "g", None, None, Proof.NONE, True, OPEN_G)) == (
        400,
        NEEDS_TOKEN,
    )
    assert error_of(check_registration("", "h", None, None, Proof.NONE, True, AUTH)) == (
        401,
        "No Authorization",
    )
    assert error_of(check_registration("", "h", None, None, Proof.NONE, True, OPEN)) is None
    assert error_of(check_registration("", "h", None, "tg", Proof.NONE, True, OPEN)) == (
        400,
        TOKEN_MISMATCH,
    )
    v09 = check_registration("", "g", None, "tg", Proof.NONE, False, AUTH)  # no secret asked
    assert error_of(v09) == (401, CLIENT_SECRET)
    assert isinstance(check_registration("", "g", None, "tg", Proof.NONE, False, LEGACY),
                      Registration)  # fmt: skip


def test_rules_never_show_tokens_in_a_log_line() -> None:
    assert "tg" not in repr(AUTH)
