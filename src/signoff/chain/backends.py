"""web3-backed chains. Imported only by fixtures that need a chain (web3 costs ~1 s)."""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse, TxParams

from signoff.chain import BlockPin, Endpoint, is_write_method
from signoff.chain.rpc import JsonRpcClient
from signoff.errors import ChainError

REVERT_ERRORS: tuple[type[BaseException], ...] = (ContractLogicError, TransactionFailed)

TIME_TRAVEL = "time_travel"
SNAPSHOT = "snapshot"
IMPERSONATE = "impersonate"


# anvil and live nodes report some EVM failures as a plain JSON-RPC error, not a revert.
_EVM_FAILURE = re.compile(
    r"revert|evm error|out of gas|outofgas|invalid opcode|invalidfeopcode|stack (?:under|over)flow|invalid ?jump", re.I
)
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)


def is_revert(error: BaseException) -> bool:
    """One place that knows how each backend reports a failed execution (not a failed request:
    "insufficient funds" or an unreachable node is not a revert)."""
    if isinstance(error, REVERT_ERRORS):
        return True
    return isinstance(error, Web3RPCError) and _EVM_FAILURE.search(str(error)) is not None


def revert_data(error: BaseException) -> bytes:
    """The raw revert data a backend attached to ``error``, b"" when it gave none.

    anvil (HTTP) hands it over as ``ContractLogicError.data``; eth-tester writes it into the
    message, as a bytes repr for custom errors and decoded for ``Error(string)`` (re-encoded
    here, so callers see one shape)."""
    if isinstance(error, ContractLogicError):
        data = error.data
        if isinstance(data, str) and data.startswith("0x"):
            return _hex(data)
        return b""
    raw = error.args[0] if error.args else b""
    if isinstance(raw, bytes):
        return raw
    return _revert_data_in(str(raw), decoded_reason=isinstance(error, TransactionFailed))


def _revert_data_in(message: str, *, decoded_reason: bool) -> bytes:
    text = message.removeprefix("execution reverted").removeprefix(":").strip()
    if text.startswith(("b'", 'b"')):
        try:
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            return b""
        return value if isinstance(value, bytes) else b""
    if text.startswith("0x"):
        return _hex(text)
    if not text or not decoded_reason:
        return b""
    from eth_abi.abi import encode

    return _ERROR_STRING + encode(["string"], [text])


EMBEDDED_GAS_LIMIT = 15_000_000  # under eth-tester's block gas limit; receipts still report the gas used


def send_checked(w3: Web3, tx: TxParams) -> Any:
    """Send ``tx``; its hash. On eth-tester a transaction that fails is refused with its reason,
    which a mined failure would not carry, and nothing is mined; it gets an explicit gas limit (the
    estimate runs a transaction many times over). On signoff's embedded chain the transaction runs
    once, in the pending block; on eth-tester as web3 ships it, an eth_call runs it first. Other
    backends estimate quickly and report a revert themselves: ``tx`` as it is."""
    if "gas" in tx or not isinstance(w3.provider, EthereumTesterProvider):
        return w3.eth.send_transaction(tx)
    tx = {**tx, "gas": EMBEDDED_GAS_LIMIT}
    refusing = getattr(getattr(w3.provider.ethereum_tester, "backend", None), "refusing_failures", None)
    if refusing is None:
        w3.eth.call(tx)
        return w3.eth.send_transaction(tx)
    with refusing():
        return w3.eth.send_transaction(tx)


@contextlib.contextmanager
def estimates_run_once(w3: Web3) -> Iterator[None]:
    """Within: on eth-tester, eth_estimateGas runs the transaction once, at the block gas limit, and fails
    exactly as py-evm's estimate does when that run fails; a success answers the block gas limit, not the
    smallest limit that works. For callers that ask only *whether* a transaction succeeds: py-evm's estimate
    searches for the smallest limit, a dozen runs. Other backends: unchanged."""
    chain = getattr(getattr(getattr(w3.provider, "ethereum_tester", None), "backend", None), "chain", None)
    if not isinstance(w3.provider, EthereumTesterProvider) or chain is None:
        yield
        return
    searched = chain.gas_estimator
    chain.gas_estimator = _run_once_at_block_limit
    try:
        yield
    finally:
        chain.gas_estimator = searched


def _run_once_at_block_limit(state: Any, transaction: Any) -> int:
    """py-evm's estimate's first full run (gas = the block's limit, gas price 0), alone."""
    from eth.vm.spoof import SpoofTransaction

    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(SpoofTransaction(transaction, gas=state.gas_limit, gas_price=0))
    finally:
        state.revert(snapshot)
    if computation.is_error:
        raise computation.error
    return int(state.gas_limit)


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        return b""


@dataclass(frozen=True)
class AccountState:
    """What an account holds at the latest block: a change in any part is a change of state."""

    nonce: int
    balance: int
    storage_root: bytes
    code_hash: bytes


class Chain:
    """A connected chain. Capabilities a backend lacks are declared, never left to fail."""

    def __init__(
        self,
        *,
        network: str,
        kind: str,
        w3: Web3,
        capabilities: frozenset[str],
        read_only: bool,
        pin: BlockPin | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.network = network
        self.kind = kind  # "embedded", "anvil" or "live"
        self.w3 = w3
        self.capabilities = capabilities
        self.read_only = read_only
        self.chain_id = int(w3.eth.chain_id)
        if pin is None:
            latest = w3.eth.get_block("latest")
            pin = BlockPin(int(latest["number"]), "0x" + bytes(latest["hash"]).hex(), int(latest["timestamp"]))
        self.pinned = pin
        if read_only:
            w3.eth.default_block = self.pinned.number
        self._close = close

    def _require(self, capability: str) -> None:
        if capability not in self.capabilities:
            raise ChainError(
                f"network {self.network} ({self.kind}) cannot {capability.replace('_', ' ')}; "
                "run this drill on eth-tester, anvil or a fork"
            )
        if self.read_only:
            raise ChainError(f"network {self.network} is read-only: signoff never changes a live chain")

    def request(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in response:  # eth-tester answers unknown methods with an error dict
            raise ChainError(f"{self.network}: {method} failed: {response['error']}")
        return response.get("result")

    def snapshot(self) -> Any:
        self._require(SNAPSHOT)
        return self.request("evm_snapshot")

    def revert(self, snapshot_id: Any) -> None:
        self._require(SNAPSHOT)
        self.request("evm_revert", snapshot_id)

    def time_travel(self, seconds: int) -> None:
        """Move the next block's timestamp ``seconds`` forward and mine it."""
        self._require(TIME_TRAVEL)
        if self.kind == "embedded":
            now = int(self.w3.eth.get_block("latest")["timestamp"])
            self.request("testing_timeTravel", now + seconds)
            self.request("evm_mine")
        else:
            self.request("evm_increaseTime", seconds)
            self.request("evm_mine")

    def account_state(self, address: str) -> AccountState:
        """The account at the latest block: from py-evm's state trie on eth-tester, else ``eth_getProof``."""
        if self.kind == "embedded":
            import rlp  # type: ignore[import-untyped]
            from eth.rlp.accounts import Account
            from trie.hexary import HexaryTrie

            from signoff.artifacts.hashing import keccak256

            chain = self.w3.provider.ethereum_tester.backend.chain  # type: ignore[attr-defined]
            trie = HexaryTrie(chain.chaindb.db, chain.get_canonical_head().state_root)
            raw = trie.get(keccak256(bytes.fromhex(address[2:])))
            if not raw:
                return AccountState(0, 0, b"", b"")
            account = rlp.decode(raw, sedes=Account)
            return AccountState(account.nonce, account.balance, account.storage_root, account.code_hash)
        proof = self.request("eth_getProof", address, [], "latest")
        return AccountState(
            int(proof["nonce"], 16),
            int(proof["balance"], 16),
            _hex(proof["storageHash"]),
            _hex(proof["codeHash"]),
        )

    def impersonate(self, address: str) -> None:
        self._require(IMPERSONATE)
        self.request("anvil_impersonateAccount", address)

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


def _latest_state_backend(genesis_state: Any = None) -> Any:
    """eth-tester's py-evm backend, reading at the latest block from one py-evm state per block.

    eth-tester builds a new VM and state from the state root for every ``eth_call`` (twice: once for
    the sender's nonce), so a call that reads one slot costs about 1.3 ms, most of it re-reading
    accounts from the trie. The search's invariants read dozens of views after every step, all at
    the same block. Here the latest block's state is built once and each call runs on it inside a
    snapshot, as eth-tester runs it: the same transaction, gas, fees and errors. Calls at other
    blocks take eth-tester's own path. Within :meth:`refusing_failures` (see :func:`send_checked`)
    a send that fails is refused rather than mined, so a step runs once, not as a call and then a send."""
    from eth_tester import PyEVMBackend
    from eth_tester.backends.pyevm.main import EVMSpoofTransaction

    class LatestStateBackend(PyEVMBackend):  # type: ignore[misc]
        _latest: tuple[int, bytes] | None = None  # (the py-evm chain object, the latest block's hash)
        _state: Any = None

        def _latest_state(self) -> Any:
            pending = self.chain.header  # eth-tester's "latest" is the block before the pending one
            key = (id(self.chain), pending.parent_hash)
            if key != self._latest:
                latest = self.chain.get_canonical_block_by_number(max(0, pending.block_number - 1))
                self._state = self.chain.get_vm(at_header=latest.header).state
                self._latest = key
            return self._state

        def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
            if block_number != "latest":
                return cast(bytes, super().call(transaction, block_number))
            state = self._latest_state()
            defaults = {"gas": self._max_available_gas(), "nonce": state.get_nonce(transaction["from"])}
            unsigned = self._get_normalized_and_unsigned_evm_transaction({**defaults, **transaction}, block_number)
            snapshot = state.snapshot()
            try:
                computation = state.apply_transaction(EVMSpoofTransaction(unsigned, from_=transaction["from"]))
            finally:
                state.revert(snapshot)
            if computation.is_error:
                raise TransactionFailed(_failure_message(computation.error))
            return bytes(computation.output)

        @contextlib.contextmanager
        def refusing_failures(self) -> Iterator[None]:
            """Within: a send that fails is refused (TransactionFailed with its reason, as the call
            raises it) and leaves the pending block as it was, instead of being mined as a failure."""
            self._refusing = True
            try:
                yield
            finally:
                self._refusing = False

        _refusing = False

        def send_transaction(self, transaction: dict[str, Any]) -> bytes:
            if not self._refusing:
                return cast(bytes, super().send_transaction(transaction))
            signed = self._get_normalized_and_signed_evm_transaction(transaction)
            pending = self.chain.header
            _, _, computation = self.chain.apply_transaction(signed)
            if computation.is_error:
                self.chain.header = pending  # the pending block without it: nothing is mined
                raise TransactionFailed(_failure_message(computation.error))
            return cast(bytes, signed.hash)

        def get_balance(self, account: bytes, block_number: Any = "latest") -> int:
            if block_number != "latest":
                return cast(int, super().get_balance(account, block_number))
            return cast(int, self._latest_state().get_balance(account))

        def get_nonce(self, account: bytes, block_number: Any = "latest") -> int:
            if block_number != "latest":
                return cast(int, super().get_nonce(account, block_number))
            return cast(int, self._latest_state().get_nonce(account))

        def get_code(self, account: bytes, block_number: Any = "latest") -> bytes:
            if block_number != "latest":
                return cast(bytes, super().get_code(account, block_number))
            return cast(bytes, self._latest_state().get_code(account))

    return LatestStateBackend(genesis_state=genesis_state)


def _failure_message(error: BaseException) -> Any:
    """What eth-tester raises for a failed call: an ``Error(string)`` reason decoded, else the error's
    text (a custom error: the repr of its bytes), which web3's provider turns into "execution reverted: ..."."""
    payload = error.args[0] if error.args else None
    if isinstance(payload, bytes) and payload[:4] == _ERROR_STRING:
        from eth_abi.abi import decode
        from eth_abi.exceptions import DecodingError

        try:
            return decode(["string"], payload[4:])[0]
        except DecodingError:
            pass
    return str(error)


def open_eth_tester(genesis: Mapping[str, bytes] | None = None, *, code_size_limit: bool = True) -> Chain:
    """A fresh in-process py-evm chain: the rehearsal default. ``genesis``: runtime code at addresses
    before the first block (a genesis alloc); ``code_size_limit=False`` lifts EIP-170 and EIP-3860 for
    as long as the chain is open (py-evm keeps them as module constants: they are restored at close)."""
    from eth_tester import EthereumTester, PyEVMBackend

    state = None
    if genesis:
        state = PyEVMBackend.generate_genesis_state(num_accounts=10)
        for address, code in genesis.items():
            state[bytes.fromhex(address[2:])] = {"balance": 0, "nonce": 1, "code": code, "storage": {}}
    w3 = Web3(EthereumTesterProvider(EthereumTester(_latest_state_backend(state))))
    # web3's validation middleware asks eth_chainId before every call, estimate and send, to check a
    # chainId field signoff never sets: a third of the cost of a call here. The chain is our own.
    w3.middleware_onion.remove("validation")
    restore = None if code_size_limit else _lift_code_size_limit()
    return Chain(
        network="eth-tester",
        kind="embedded",
        w3=w3,
        capabilities=frozenset({TIME_TRAVEL, SNAPSHOT}),
        read_only=False,
        close=restore,
    )


def _lift_code_size_limit() -> Callable[[], None]:
    import eth.vm.forks.shanghai.computation as shanghai
    import eth.vm.forks.spurious_dragon.computation as spurious_dragon

    limits = ((spurious_dragon, "EIP170_CODE_SIZE_LIMIT"), (shanghai, "MAX_INITCODE_SIZE"))
    saved = [(module, name, getattr(module, name)) for module, name in limits]
    for module, name in limits:
        setattr(module, name, 2**64)

    def restore() -> None:
        for module, name, value in saved:
            setattr(module, name, value)

    return restore


class DeadlineHTTPProvider(JSONBaseProvider):
    """web3 over signoff's JSON-RPC client: one overall deadline per exchange (a node that
    trickles its answer is cut off), credentials in a header, never the URL in a log line, and
    on a live network every state-changing method refused before it leaves the process (RP-RO)."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__()
        self._client = JsonRpcClient(endpoint.url, deadline=endpoint.request_timeout)
        self._read_only = endpoint.kind == "live"

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if self._read_only and is_write_method(str(method)):
            raise ChainError(f"refused to send {method} to {self._client.shown}: live networks are read-only")
        return cast(RPCResponse, self._client.exchange(str(method), params))

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            self._client.chain_id()
        except ChainError:
            if show_traceback:
                raise
            return False
        return True


def open_endpoint(endpoint: Endpoint, *, pin: BlockPin | None = None, close: Callable[[], None] | None = None) -> Chain:
    """Connect to an anvil we started (writable) or a live network (read-only, pinned)."""
    live = endpoint.kind == "live"
    w3 = Web3(DeadlineHTTPProvider(endpoint))
    capabilities = frozenset() if live else frozenset({TIME_TRAVEL, SNAPSHOT, IMPERSONATE})
    return Chain(
        network=endpoint.network,
        kind=endpoint.kind,
        w3=w3,
        capabilities=capabilities,
        read_only=live,
        pin=pin if live else None,
        close=close,
    )
