"""CREATE2 factories of other shapes (signoff.deploy.factory): the deploy function and the prediction
view are found by argument types, in either order, names breaking ties, or named by full signature."""

from __future__ import annotations

from typing import Any

import pytest

from signoff.artifacts.loader import load_artifacts
from signoff.deploy.factory import detect_factory
from signoff.errors import ConfigError
from tests.conftest import FIXTURES


def fn(name: str, inputs: list[str], outputs: list[str] | None = None, view: bool = False) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "inputs": [{"type": t, "name": ""} for t in inputs],
        "outputs": [{"type": t} for t in (outputs or [])],
        "stateMutability": "view" if view else "nonpayable",
    }


def test_the_reference_factory() -> None:
    abi = load_artifacts(FIXTURES / "reference" / "artifacts").resolve("DeterministicChunkFactory").abi
    found = detect_factory("DeterministicChunkFactory", abi)
    assert (found.deploy, found.deploy_args) == ("deployDeterministic(bytes32,bytes)", ("salt", "init_code"))
    assert (found.predict, found.predict_args) == ("predict(bytes32,bytes32)", ("salt", "init_code_hash"))


def test_another_api_init_code_first_and_a_compute_address_view() -> None:
    abi = [
        fn("deploy", ["bytes", "bytes32"], ["address"]),
        fn("computeAddress", ["bytes32", "bytes"], ["address"], view=True),
        fn("owner", [], ["address"], view=True),
    ]
    found = detect_factory("Create2Deployer", abi)
    assert (found.deploy, found.deploy_args) == ("deploy(bytes,bytes32)", ("init_code", "salt"))
    assert found.deploy_values(b"S" * 32, b"code") == [b"code", b"S" * 32]
    assert (found.predict, found.predict_args) == ("computeAddress(bytes32,bytes)", ("salt", "init_code"))
    assert found.predict_values(b"S" * 32, b"code", b"H" * 32) == [b"S" * 32, b"code"]


def test_a_factory_without_a_deploy_function_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r'Next step: name it with via_function = "yourDeploy\(bytes32,bytes\)"'):
        detect_factory("Registry", [fn("register", ["address"])])


def test_a_named_function_must_have_the_shape() -> None:
    abi = [fn("deploy", ["bytes", "bytes32"]), fn("deployWithValue", ["bytes", "bytes32", "uint256"])]
    assert detect_factory("F", abi, deploy="deploy(bytes,bytes32)").deploy == "deploy(bytes,bytes32)"
    with pytest.raises(ConfigError, match=r"via_function = 'deployWithValue\(bytes,bytes32,uint256\)': F has no such"):
        detect_factory("F", abi, deploy="deployWithValue(bytes,bytes32,uint256)")
