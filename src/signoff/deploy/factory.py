"""The interface of a CREATE2 factory: which function deploys (salt and init code, in either order)
and which view predicts (salt with the init code or its hash). Factories name these differently
(``deployDeterministic``, ``deploy``, ``deployCreate2``, ``computeAddress``, ``getAddress`` ...), so
the interface is detected from the ABI by argument types, names breaking ties, and any part may be
named by full signature (``[[deploy.step]] via_function``, ``[[postdeploy.create2]] predict``).
Pure: nothing here touches a chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signoff.artifacts.abi import canonical_type, signature
from signoff.errors import ConfigError

DEPLOY_NAMES = ("deployDeterministic", "deploy", "deployCreate2", "create2", "safeCreate2", "deployContract")
PREDICT_NAMES = ("predict", "computeAddress", "getAddress", "predictAddress", "computeCreate2Address", "addressOf")
_MEANING = {"bytes32": "salt", "bytes": "init_code"}


@dataclass(frozen=True)
class FactoryInterface:
    deploy: str  # full signature
    deploy_args: tuple[str, ...]  # "salt" / "init_code", in the function's order
    predict: str | None
    predict_args: tuple[str, ...]  # "salt" / "init_code_hash" / "init_code"

    def deploy_values(self, salt: bytes, init_code: bytes) -> list[Any]:
        return [salt if meaning == "salt" else init_code for meaning in self.deploy_args]

    def predict_values(self, salt: bytes, init_code: bytes, init_code_hash: bytes) -> list[Any]:
        values = {"salt": salt, "init_code": init_code, "init_code_hash": init_code_hash}
        return [values[meaning] for meaning in self.predict_args]


def _functions(abi: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in abi if e.get("type") == "function"]


def _types(entry: Mapping[str, Any]) -> list[str]:
    return [canonical_type(p) for p in entry.get("inputs", [])]


def _deploy_args(entry: Mapping[str, Any]) -> tuple[str, ...] | None:
    types = _types(entry)
    return tuple(_MEANING[t] for t in types) if sorted(types) == ["bytes", "bytes32"] else None


def _predict_args(entry: Mapping[str, Any]) -> tuple[str, ...] | None:
    types = _types(entry)
    outputs = [canonical_type(o) for o in entry.get("outputs", [])]
    if outputs[:1] != ["address"] or entry.get("stateMutability") not in {"view", "pure"}:
        return None
    if sorted(types) == ["bytes32", "bytes32"]:
        return ("salt", "init_code_hash")
    if sorted(types) == ["bytes", "bytes32"]:
        return tuple(_MEANING[t] for t in types)
    return None


def detect_factory(
    name: str, abi: Sequence[Mapping[str, Any]], *, deploy: str | None = None, predict: str | None = None
) -> FactoryInterface:
    """The factory's deploy and predict functions; a ConfigError naming the key when there is no deploy."""
    functions = _functions(abi)
    by_signature = {signature(e): e for e in functions}

    def named(text: str, key: str, shape: Any) -> tuple[str, tuple[str, ...]]:
        wanted = text.replace(" ", "")
        entry = by_signature.get(wanted)
        args = shape(entry) if entry is not None else None
        if entry is None or args is None:
            raise ConfigError(
                f"{key} = {text!r}: {name} has no such function taking a bytes32 salt and the init code (or its "
                f"hash). Its functions: {', '.join(sorted(by_signature)) or 'none'}. Next step: write the full "
                'signature, e.g. "deploy(bytes32,bytes)"'
            )
        return wanted, args

    def pick(names: Sequence[str], shape: Any, view: bool) -> tuple[str, tuple[str, ...]] | None:
        candidates = [
            e for e in functions if shape(e) is not None and (e.get("stateMutability") in {"view", "pure"}) == view
        ]
        candidates.sort(key=lambda e: names.index(e["name"]) if e.get("name") in names else len(names))
        if not candidates:
            return None
        return signature(candidates[0]), shape(candidates[0])

    if deploy is not None:
        deploy_sig, deploy_args = named(deploy, "via_function", _deploy_args)
    else:
        found = pick(DEPLOY_NAMES, _deploy_args, view=False)
        if found is None:
            raise ConfigError(
                f"{name} has no function that deploys by CREATE2 from a bytes32 salt and the init code (bytes); "
                f"tried every function of its ABI ({', '.join(sorted(by_signature)) or 'none'}). Next step: name "
                'it with via_function = "yourDeploy(bytes32,bytes)" in the [[deploy.step]]'
            )
        deploy_sig, deploy_args = found
    if predict is not None:
        predict_sig: str | None
        predict_sig, predict_args = named(predict, "predict", _predict_args)
    else:
        found = pick(PREDICT_NAMES, _predict_args, view=True)
        predict_sig, predict_args = found if found is not None else (None, ())
    return FactoryInterface(deploy_sig, deploy_args, predict_sig, predict_args)
