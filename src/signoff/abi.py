"""ABI helpers that need eth_abi: imported only when a target gives constructor arguments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from signoff.errors import ConfigError
from signoff.hashing import keccak256

PLACEHOLDER_ADDRESS = "0x" + "00" * 20


def canonical_type(param: Mapping[str, Any]) -> str:
    """The canonical ABI type of one parameter, tuples expanded: ``(uint256,address)[]``."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(entry: Mapping[str, Any]) -> str:
    """Canonical signature of an ABI function, event or error: ``transfer(address,uint256)``."""
    inputs = ",".join(canonical_type(p) for p in entry.get("inputs", []))
    return f"{entry['name']}({inputs})"


def selector(text_signature: str) -> str:
    """The 4-byte function/error selector of a canonical signature, as ``0x`` + 8 hex."""
    return "0x" + keccak256(text_signature.encode()).hex()[:8]


def topic(text_signature: str) -> str:
    """The 32-byte event topic of a canonical signature, as ``0x`` + 64 hex."""
    return "0x" + keccak256(text_signature.encode()).hex()


def constructor_types(abi: Sequence[Mapping[str, Any]]) -> list[str]:
    for entry in abi:
        if entry.get("type") == "constructor":
            return [canonical_type(p) for p in entry.get("inputs", [])]
    return []


def encode_constructor_args(abi: Sequence[Mapping[str, Any]], args: Sequence[Any], where: str) -> bytes:
    """ABI-encode ``args`` for the constructor; ``"@Name"`` stands for a deployed contract's
    address, sized as a placeholder (an address always encodes to 32 bytes)."""
    types = constructor_types(abi)
    if len(types) != len(args):
        raise ConfigError(
            f"{where}: the constructor takes {len(types)} argument(s) ({', '.join(types) or 'none'}), "
            f"constructor_args gives {len(args)}. Next step: list one value per parameter"
        )
    values = [_placeholder(v) for v in args]
    from eth_abi.abi import encode

    try:
        return bytes(encode(types, values))
    except Exception as exc:  # eth_abi raises several unrelated types for bad values
        raise ConfigError(
            f"{where}: constructor_args do not fit the constructor ({', '.join(types)}): {exc}. "
            "Next step: correct the values"
        ) from None


def _placeholder(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return PLACEHOLDER_ADDRESS
    if isinstance(value, list):
        return [_placeholder(v) for v in value]
    return value
