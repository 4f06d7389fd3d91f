"""What a log line may show of a request: its URL without the values that could be secrets.

Credentials travel in headers (`Authorization`, `Datatoken`, `X-AWE-Client-Secret`), which are
never logged; but a stream ticket is in its URL by design, and a caller may put a token in a
query (`?info.datatoken=…`, `?token=…`). Such values are replaced by `…` in every log line.
"""

from __future__ import annotations

import re

SECRET_NAMES = ("ticket", "token", "secret", "private", "password", "passwd", "apikey", "key")
_PARAM = re.compile(r"([?&])([^=&#]*)=([^&#]*)")


def redact_uri(uri: str) -> str:
    """`uri` with the value of every query parameter whose name suggests a secret masked."""

    def mask(match: re.Match[str]) -> str:
        name = match.group(2).lower()
        if any(word in name for word in SECRET_NAMES):
            return f"{match.group(1)}{match.group(2)}=…"
        return match.group(0)

    return _PARAM.sub(mask, uri)
