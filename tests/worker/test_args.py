"""cmd.args → argv: spaces, single quotes, @<filename>, ${VAR} (spec 2.4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from awe.worker.runner import expand_args, split_args


def test_args_split_on_spaces_and_skip_repeated_spaces() -> None:
    assert split_args("-a  1 -b 2 ") == ["-a", "1", "-b", "2"]


def test_single_quotes_group_words_and_are_removed() -> None:
    assert split_args("-c 'echo a b' --x='y z' ''") == ["-c", "echo a b", "--x=y z", ""]


def test_double_quotes_are_ordinary_characters() -> None:
    assert split_args('"a b"') == ['"a', 'b"']


def test_an_unbalanced_quote_is_an_error() -> None:
    with pytest.raises(ValueError, match="unbalanced"):
        split_args("a 'b c")


def test_at_name_becomes_the_absolute_path_of_that_input() -> None:
    files = {"in.fa": Path("/w/in.fa"), "refs.db": Path("/w/refs.db")}
    argv = expand_args(["-i", "@in.fa", "-d", "@refs.db", "@other", "x@in.fa"], files, {})
    assert argv == ["-i", "/w/in.fa", "-d", "/w/refs.db", "@other", "x@in.fa"]


def test_env_vars_come_from_the_given_environment_and_unknown_ones_are_empty() -> None:
    argv = expand_args(
        ["${HOME}/x", "-t${THREADS}", "${NOPE}", "$HOME"], {}, {"HOME": "/h", "THREADS": "4"}
    )
    assert argv == ["/h/x", "-t4", "", "$HOME"]


def test_a_variable_value_with_spaces_stays_one_argument() -> None:
    assert expand_args(split_args("--msg ${M}"), {}, {"M": "a b"}) == ["--msg", "a b"]
