"""RecordingRpcProxy against a real anvil: answers pass through unchanged, every method is
recorded (single and batch, from many threads), writes are told apart, stop() frees the port."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from signoff.chain.anvil import AnvilNode, find_anvil
from signoff.chain.proxy import RecordingRpcProxy, request_methods
from tests.conftest import REPO, anvil_available, rpc

pytestmark = pytest.mark.skipif(not anvil_available(), reason="anvil not installed: run `npm ci`")


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """One anvil node shared by this module's tests (each test only reads or mines)."""
    with AnvilNode(find_anvil(REPO)) as node:
        yield node.url


@pytest.fixture
def proxy(upstream: str) -> Iterator[RecordingRpcProxy]:
    with RecordingRpcProxy(upstream) as running:
        yield running


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def call(method: str, *params: object, request_id: int = 1) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}


def test_reads_pass_through_and_are_recorded_in_order(proxy: RecordingRpcProxy, upstream: str) -> None:
    assert proxy.url.startswith("http://127.0.0.1:") and proxy.url != upstream
    assert rpc(proxy.url, "eth_chainId") == "0x7a69"
    assert rpc(proxy.url, "eth_blockNumber") == rpc(upstream, "eth_blockNumber")
    assert proxy.methods() == ("eth_chainId", "eth_blockNumber")
    assert proxy.write_methods() == ()


def test_answers_are_the_upstreams_byte_for_byte(proxy: RecordingRpcProxy, upstream: str) -> None:
    for body in (
        json.dumps(call("eth_chainId", request_id=7)).encode(),
        json.dumps(call("eth_noSuchMethod", request_id=8)).encode(),  # a JSON-RPC error answer
        b'{"jsonrpc": "2.0", "id": 9, "method": ',  # not JSON at all
    ):
        assert post(proxy.url, body) == post(upstream, body)
    assert proxy.methods() == ("eth_chainId", "eth_noSuchMethod")


def test_batch_request_records_each_method(proxy: RecordingRpcProxy) -> None:
    batch = [
        call("eth_chainId", request_id=1),
        call("eth_blockNumber", request_id=2),
        call("eth_gasPrice", request_id=3),
    ]
    status, answer = post(proxy.url, json.dumps(batch).encode())
    assert status == 200
    assert sorted(item["id"] for item in json.loads(answer)) == [1, 2, 3]
    assert json.loads(answer)[0]["result"] == "0x7a69"
    assert proxy.methods() == ("eth_chainId", "eth_blockNumber", "eth_gasPrice")


def test_write_method_is_forwarded_and_recorded_as_a_write(proxy: RecordingRpcProxy, upstream: str) -> None:
    before = int(str(rpc(upstream, "eth_blockNumber")), 16)
    status, _ = post(proxy.url, json.dumps([call("eth_blockNumber"), call("evm_mine", request_id=2)]).encode())
    assert status == 200
    rpc(proxy.url, "eth_chainId")
    assert int(str(rpc(upstream, "eth_blockNumber")), 16) == before + 1  # it really reached the node
    assert proxy.methods() == ("eth_blockNumber", "evm_mine", "eth_chainId")
    assert proxy.write_methods() == ("evm_mine",)


def test_concurrent_requests_are_all_recorded(proxy: RecordingRpcProxy) -> None:
    def reader() -> None:
        for _ in range(10):
            rpc(proxy.url, "eth_blockNumber")

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert proxy.methods() == ("eth_blockNumber",) * 60


def test_web3_reads_a_block_through_the_proxy(proxy: RecordingRpcProxy, upstream: str) -> None:
    from web3 import HTTPProvider, Web3

    w3 = Web3(HTTPProvider(proxy.url))
    block = w3.eth.get_block("latest")
    direct = rpc(upstream, "eth_getBlockByNumber", hex(block["number"]), False)
    assert isinstance(direct, dict)
    assert block["hash"].to_0x_hex() == direct["hash"]
    assert "eth_getBlockByNumber" in proxy.methods()
    assert proxy.write_methods() == ()


def test_stop_frees_the_port_and_keeps_the_record(upstream: str) -> None:
    proxy = RecordingRpcProxy(upstream)
    url = proxy.start()
    assert proxy.start() == url  # starting twice is harmless
    rpc(url, "eth_chainId")
    proxy.stop()
    proxy.stop()  # so is stopping twice
    port = urlsplit(url).port
    assert port is not None
    with pytest.raises(urllib.error.URLError):
        rpc(url, "eth_chainId")
    with socket.socket() as again:  # a new server can listen on the very same port
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen()
    assert proxy.methods() == ("eth_chainId",)


def test_unreachable_upstream_is_a_json_rpc_error_without_the_key() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    with RecordingRpcProxy(
        f"http://user:s3cretKey@127.0.0.1:{dead_port}/v2/abcdefABCDEF0123456789", timeout=2
    ) as proxy:
        status, answer = post(proxy.url, json.dumps(call("eth_sendRawTransaction", "0x00")).encode())
    assert status == 502
    error = json.loads(answer)["error"]
    assert "signoff proxy: upstream http://127.0.0.1" in error["message"]
    assert "s3cretKey" not in error["message"] and "abcdefABCDEF" not in error["message"]
    assert proxy.write_methods() == ("eth_sendRawTransaction",)  # counted although it never arrived


def test_get_is_refused(proxy: RecordingRpcProxy) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(proxy.url, timeout=5)
    assert caught.value.code == 405
    assert proxy.methods() == ()


@pytest.mark.parametrize(
    ("body", "methods"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[]}', ["eth_call"]),
        (b'[{"method":"eth_chainId"},{"method":"anvil_mine"}]', ["eth_chainId", "anvil_mine"]),
        (b'[{"method":"eth_chainId"}, 5, {"id": 2}, {"method": 7}]', ["eth_chainId"]),
        (b"not json", []),
        (b"\xff\xfe", []),
        (b"[]", []),
    ],
    ids=["single", "batch", "junk-in-batch", "not-json", "not-utf8", "empty-batch"],
)
def test_request_methods(body: bytes, methods: list[str]) -> None:
    assert request_methods(body) == methods
