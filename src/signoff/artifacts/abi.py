"""ABI helpers that need eth_abi: imported only when a target gives constructor arguments."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from signoff.artifacts.hashing import keccak256
from signoff.errors import ConfigError

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


def check_constructor_arity(abi: Sequence[Mapping[str, Any]], args: Sequence[Any], where: str) -> list[str]:
    """The constructor's types, when ``args`` gives one value for each (else a ConfigError saying so)."""
    types = constructor_types(abi)
    if len(types) != len(args):
        raise ConfigError(
            f"{where}: the constructor takes {len(types)} argument(s) ({', '.join(types) or 'none'}), "
            f"constructor_args gives {len(args)}. Next step: list one value per parameter"
        )
    return types


def encode_constructor_args(abi: Sequence[Mapping[str, Any]], args: Sequence[Any], where: str) -> bytes:
    """ABI-encode ``args`` for the constructor; ``"@Name"`` stands for a deployed contract's
    address, sized as a placeholder (an address always encodes to 32 bytes)."""
    types = check_constructor_arity(abi, args, where)
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


def find_function(abi: Sequence[Mapping[str, Any]], function: str, where: str) -> Mapping[str, Any]:
    """The ABI entry of ``function`` (a name, or a signature when overloaded); a clear error otherwise."""
    functions = [e for e in abi if e.get("type") == "function"]
    if "(" in function:
        wanted = function.replace(" ", "")
        matches = [e for e in functions if signature(e) == wanted]
    else:
        matches = [e for e in functions if e.get("name") == function]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"{where}: {function} is not a function of its ABI. Next step: correct the name (functions: "
            f"{', '.join(sorted(signature(e) for e in functions)) or 'none'})"
        )
    raise ConfigError(
        f"{where}: {function} is overloaded ({', '.join(signature(e) for e in matches)}). Next step: write "
        "the full signature, e.g. Contract.fn(uint256)"
    )


def encode_call(abi: Sequence[Mapping[str, Any]], function: str, args: Sequence[Any], where: str) -> bytes:
    """Calldata of ``function(args)``; ``function`` may be a signature absent from ``abi`` (a routed one)."""
    from eth_abi.abi import encode

    if "(" in function and not any(e.get("type") == "function" and signature(e) == function for e in abi):
        text = function.replace(" ", "")
        params = text[text.index("(") + 1 : -1]
        types = split_types(params)
    else:
        entry = find_function(abi, function, where)
        text = signature(entry)
        types = [canonical_type(p) for p in entry.get("inputs", [])]
    if len(types) != len(args):
        raise ConfigError(
            f"{where}: {text} takes {len(types)} argument(s), {len(args)} given. Next step: one value per parameter"
        )
    try:
        body = encode(types, [abi_value(t, v) for t, v in zip(types, args, strict=True)])
    except Exception as exc:  # eth_abi raises several unrelated types for bad values
        raise ConfigError(f"{where}: the arguments do not fit {text}: {exc}. Next step: correct them") from None
    return keccak256(text.encode())[:4] + bytes(body)


def split_types(params: str) -> list[str]:
    """``"uint256,(address,bytes)[],bool"`` -> its top-level types."""
    types: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(params):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            types.append(params[start:index])
            start = index + 1
    if params:
        types.append(params[start:])
    return types


def abi_value(abi_type: str, value: Any) -> Any:
    """A TOML value as eth_abi wants it: ``"0x.."`` -> bytes for bytes types, lists element-wise, a struct
    (a TOML array of its fields, in order) field by field."""
    if abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        return [abi_value(inner, item) for item in value] if isinstance(value, list | tuple) else value
    if abi_type.startswith("(") and isinstance(value, list | tuple):  # a struct, written as a TOML array
        fields = split_types(abi_type[1:-1])
        fit = len(fields) == len(value)
        return tuple(abi_value(t, v) for t, v in zip(fields, value, strict=True)) if fit else value
    if abi_type.startswith("bytes") and isinstance(value, str) and value.startswith("0x"):
        return bytes.fromhex(value[2:])
    if abi_type == "address" and isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    if abi_type.startswith(("uint", "int")) and isinstance(value, str):
        return _integer_text(value)
    return value


def _integer_text(value: str) -> Any:
    """An integer written as text, for amounts past TOML's int64: "1000000000000000000000", "-5",
    "1000 ether", "30 gwei". Anything else is returned as it is, for eth_abi to refuse with its reason."""
    text = value.strip().replace("_", "")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    from signoff.target import parse_wei

    parsed = parse_wei(text)
    return value if parsed is None else parsed
