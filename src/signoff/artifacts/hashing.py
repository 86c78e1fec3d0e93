"""Keccak-256 without web3: the artifact-only path must stay light.

safe-pysha3 (a small C extension, a declared dependency) is used when importable: a new
hash object costs well under a microsecond, which keeps a 10,000-selector diamond far under
0.1 s. pycryptodome's public API is the fallback (about 5 us per hash).
"""

from __future__ import annotations

from collections.abc import Callable

# Keccak-256 of the empty input, the known answer either implementation must give (pycryptodome's import
# costs about 20 ms, its FFI set-up mostly: it is made only when it is the one used).
_EMPTY = bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")


def _pycryptodome() -> Callable[[bytes], bytes]:
    from Crypto.Hash import keccak

    def digest(data: bytes) -> bytes:
        return keccak.new(digest_bits=256, data=data).digest()

    return digest


def _choose() -> Callable[[bytes], bytes]:
    try:
        import sha3  # optional accelerator, see the module docstring
    except ImportError:
        return _pycryptodome()
    keccak_256 = sha3.keccak_256

    def fast(data: bytes) -> bytes:
        return bytes(keccak_256(data).digest())

    return fast if fast(b"") == _EMPTY else _pycryptodome()


_keccak = _choose()


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data`` (Ethereum's hash, not SHA3-256)."""
    return _keccak(data)
