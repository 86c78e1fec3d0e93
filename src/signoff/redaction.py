"""One place that knows what a secret is and how it is hidden.

Secrets are every value substituted from ``${VAR}`` in a target file, plus the credentials
of any URL (user-info, and path or query segments that look like API keys). The registry is
process-wide because an error can be raised anywhere; everything written to a report, a log
or an error message passes through :func:`redact`.
"""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
_MIN_SECRET_LENGTH = 4
_secrets: set[str] = set()
_compiled: dict[str, re.Pattern[str]] = {}  # "all": every secret and derived form, compiled once per change
_KEYLIKE = re.compile(r"[A-Za-z0-9_\-]{16,}")


def derived_forms(value: str) -> set[str]:
    """The forms a secret takes on its way out: URL-encoded, HTML- and JSON-escaped, base64 (as in an
    ``Authorization: Basic`` header), and a hex key without its ``0x``. (Case is ignored when matching.)"""
    in_json = json.dumps(value)[1:-1]
    forms = {value, quote(value, safe=""), quote_plus(value), html.escape(value), in_json, html.escape(in_json)}
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    if value[:2].lower() == "0x" and len(value) >= 18:
        forms.add(value[2:])
    for raw in (value.encode(),):
        forms.add(base64.b64encode(raw).decode().rstrip("="))
        forms.add(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


def _basic_auth_forms(user: str, password: str) -> set[str]:
    """``user:password`` as an HTTP client sends it (base64 of the decoded pair)."""
    pair = f"{unquote(user)}:{unquote(password)}".encode()
    return {base64.b64encode(pair).decode().rstrip("="), base64.urlsafe_b64encode(pair).decode().rstrip("=")}


def register_secret(value: str) -> None:
    """Remember ``value`` as secret. For a URL, what is secret is what can carry a key:
    user-info, path and query (a bare ``scheme://host:port`` is not a secret, and stays
    visible so that an error can name the host)."""
    _compiled.clear()
    database = _database_secrets(value)
    if database is not None:  # a database URL: only its password is secret (user, host and database stay readable)
        for part in database:
            _secrets.update(derived_forms(part) | derived_forms(unquote(part)))
        return
    parts = _url_parts(value)
    if parts is None:
        if len(value) >= _MIN_SECRET_LENGTH:
            _secrets.update(derived_forms(value))
        return
    if parts:
        _secrets.update(derived_forms(value))
    for part in parts:
        if len(part) >= _MIN_SECRET_LENGTH:
            _secrets.update(derived_forms(part))
            _secrets.update(derived_forms(unquote(part)))
    split = urlsplit(value)
    if split.username is not None and split.password:
        _secrets.update(_basic_auth_forms(split.username, split.password))


def known_secrets() -> frozenset[str]:
    """Every registered secret, for tests that prove nothing leaked."""
    return frozenset(_secrets)


def forget_secrets() -> None:
    """Clear the registry (a new pytest session in the same process starts clean)."""
    _secrets.clear()
    _compiled.clear()


def redact(text: str) -> str:
    """Replace every registered secret (in any of its derived forms, in any letter case) in ``text`` by
    ``***``; longest first, so a URL and the key inside it are both hidden."""
    if not _secrets or not text:
        return text
    pattern = _compiled.get("all")
    if pattern is None:
        alternatives = "|".join(re.escape(secret) for secret in sorted(_secrets, key=len, reverse=True))
        pattern = _compiled["all"] = re.compile(alternatives, re.IGNORECASE)
    return pattern.sub(MASK, text)


def display_url(url: str) -> str:
    """The part of an RPC URL that is safe to show: scheme, host and port only.

    ``https://user:pw@eth-sepolia.example/v2/abcd...`` becomes
    ``https://eth-sepolia.example/***``: the host is named so the user knows which endpoint
    failed, and everything that can hold a key is hidden.
    """
    if _database_secrets(url) is not None:  # a database URL: everything but its password
        register_secret(url)
        return redact(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    hidden = "/" + MASK if (parts.path.strip("/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


_DATABASE_SCHEMES = re.compile(r"postgres(ql)?(\+\w+)?", re.IGNORECASE)
_PASSWORD_PARAMETER = re.compile(r"(?:^|&)(?:password|sslpassword)=([^&]+)", re.IGNORECASE)


def _database_secrets(value: str) -> list[str] | None:
    """The password (and password parameters) of a PostgreSQL URL; None if ``value`` is not one."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if not _DATABASE_SCHEMES.fullmatch(parts.scheme or "") or " " in value:
        return None
    found = [parts.password] if parts.password else []
    found += _PASSWORD_PARAMETER.findall(parts.query)
    return found


def _url_parts(value: str) -> list[str] | None:
    """``None`` if ``value`` is not a URL; else its secret-bearing parts."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc or " " in value:
        return None
    found: list[str] = []
    if parts.username:
        found.append(parts.username)
    if parts.password:
        found.append(parts.password)
    path = parts.path.strip("/")
    if path:
        found.append(path)
        found.extend(_KEYLIKE.findall(path))
    if parts.query:
        found.append(parts.query)
        found.extend(_KEYLIKE.findall(parts.query))
    return found
