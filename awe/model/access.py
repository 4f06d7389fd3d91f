"""Who sends a request, as rights see it (awe/model/rights.py decides what it may do)."""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC = "public"


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a user name (`public` when anonymous) and whether it is an admin."""

    user: str = PUBLIC
    admin: bool = False
