"""The `awe` command: a friendlier front end to the AWE REST API than curl."""

from awe.cli.app import cli, main

__all__ = ["cli", "main"]
