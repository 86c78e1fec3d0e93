"""The team's config files and their values in on-chain units: pure, no chain.

A config file is JSON as the team writes it. :func:`leaves` walks it into dotted keys (a mapped
key is a leaf even when its value is an object, so an allow-list map stays one value);
:func:`unmapped` lists the keys neither mapped nor ignored (a new key cannot slip by);
:func:`expected_value` turns one value into what the getter must return, by unit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from signoff.errors import ConfigError
from signoff.postdeploy.control.settings import ParamMapping

Value = int | str | bool | frozenset[str]
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_RANGES = {"percent": 100, "bps": 10_000}


def read_json(path: Path, what: str) -> Any:
    """A team's JSON file, or a ConfigError naming the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: the {what} cannot be read ({exc}). Next step: fix the file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: the {what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}). "
            "Next step: fix the file"
        ) from None


def leaves(data: Any, mapped: Iterable[str], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value for every leaf; ``mapped`` keys are leaves whatever their value."""
    wanted = set(mapped)
    if prefix and (prefix in wanted or not isinstance(data, dict) or not data):
        return {prefix: data}
    if not isinstance(data, dict):
        return {prefix or "(the file)": data}
    found: dict[str, Any] = {}
    for key, value in data.items():
        found.update(leaves(value, wanted, f"{prefix}.{key}" if prefix else str(key)))
    return found


def unmapped(data: Any, mapped: Iterable[str], ignored: Iterable[str]) -> list[str]:
    """Keys of ``data`` that are neither mapped nor ignored (an ignored key covers what is under it)."""
    skip = tuple(ignored)
    return sorted(
        key for key in leaves(data, mapped) if key not in set(mapped) and not any(_under(key, i) for i in skip)
    )


def missing(data: Any, mapped: Iterable[str]) -> list[str]:
    """Mapped keys the file does not have."""
    present = leaves(data, mapped)
    return sorted(key for key in mapped if key not in present)


def _under(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + ".")


def expected_value(param: ParamMapping, raw: Any, source: Path) -> Value:
    """What ``param``'s getter must return for the config value ``raw``; a ConfigError says why not."""
    where = f"{source}: {param.key} = {json.dumps(raw)[:80]}"
    unit = param.unit
    if unit == "address":
        return _address(raw, where)
    if unit == "bool":
        if isinstance(raw, bool):
            return raw
        raise ConfigError(f"{where} must be true or false (unit bool). Next step: correct the value or the unit")
    if unit == "address-set":
        return _address_set(raw, where)
    if unit == "tokens":
        amount = _decimal(raw, where, "a number of whole tokens")
        scaled = amount * (Decimal(10) ** param.decimals)
        if scaled != scaled.to_integral_value():
            raise ConfigError(
                f"{where} has more decimal places than the token's {param.decimals}. Next step: round the value"
            )
        return int(scaled)
    number = _decimal(raw, where, "a whole number")
    if number != number.to_integral_value():
        raise ConfigError(f"{where} must be a whole number (unit {unit}). Next step: correct the value or the unit")
    value = int(number)
    if unit in _RANGES and not 0 <= value <= _RANGES[unit]:
        raise ConfigError(
            f"{where} is outside 0..{_RANGES[unit]} (unit {unit}). Next step: correct the value or the unit"
        )
    if unit in ("seconds", "wei") and value < 0:
        raise ConfigError(f"{where} must not be negative (unit {unit}). Next step: correct the value")
    return value


def _decimal(raw: Any, where: str, what: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ConfigError(f"{where} must be {what} (a number or a numeric string). Next step: correct the value")
    try:
        number = Decimal(str(raw).strip().replace("_", ""))
    except InvalidOperation:
        number = Decimal("nan")
    if not number.is_finite():
        raise ConfigError(f"{where} must be {what}, not {raw!r}. Next step: correct the value")
    return number


def _address(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not _ADDRESS.fullmatch(raw):
        raise ConfigError(f"{where} must be a 0x address of 40 hex digits. Next step: correct the value")
    from eth_utils.address import is_checksum_address, to_checksum_address

    if raw != raw.lower() and raw[2:] != raw[2:].upper() and not is_checksum_address(raw):
        raise ConfigError(
            f"{where} has a wrong EIP-55 checksum (a mistyped address?): expected {to_checksum_address(raw)}. "
            "Next step: check the address"
        )
    return str(to_checksum_address(raw))


def _address_set(raw: Any, where: str) -> frozenset[str]:
    if isinstance(raw, list):
        return frozenset(_address(item, where) for item in raw)
    if isinstance(raw, dict):
        members = set()
        for key, flag in raw.items():
            if not isinstance(flag, bool):
                raise ConfigError(f"{where}: {key} must map to true or false. Next step: correct the value")
            if flag:
                members.add(_address(key, where))
        return frozenset(members)
    raise ConfigError(
        f"{where} must be a list of addresses or a map of address -> true (unit address-set). "
        "Next step: correct the value or the unit"
    )


def shown(param: ParamMapping, value: Value | None, label: Any = str) -> str:
    """A value for people: tokens with their whole amount, sets sorted, addresses labelled."""
    if value is None:
        return ""
    if isinstance(value, frozenset):
        return "{" + ", ".join(label(a) for a in sorted(value, key=str.lower)) + "}" if value else "{} (empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(label(value))
    if param.unit == "tokens":
        whole = Decimal(value) / (Decimal(10) ** param.decimals)
        return f"{_plain(whole)} {'token' if whole == 1 else 'tokens'} ({value})"
    suffix = {"percent": " %", "bps": " bps", "seconds": " s"}.get(param.unit, "")
    return f"{value}{suffix}"


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text


def module_addresses(data: Any, source: Path) -> dict[str, str]:
    """The team's address book: ``{"modules": {key: 0x…}}`` (or a flat ``{key: 0x…}``)."""
    table = data.get("modules", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(
            f"{source}: the address book must be a JSON object of module key -> address (optionally under "
            '"modules"). Next step: fix the file or remove [control] addresses'
        )
    found = {}
    for key, value in table.items():
        if isinstance(value, str) and _ADDRESS.fullmatch(value):
            found[str(key)] = _address(value, f"{source}: modules.{key}")
    return found


def as_mapping(data: Any, source: Path, what: str) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the {what} must be a JSON object. Next step: fix the file")
    return data
