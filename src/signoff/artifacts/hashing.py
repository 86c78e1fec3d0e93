"""Keccak-256 without web3: the artifact-only path must stay light.

safe-pysha3 (a small C extension, a declared dependency) is used when importable: a new
hash object costs well under a microsecond, which keeps a 10,000-selector diamond far under
0.1 s. pycryptodome's public API is the fallback (about 5 us per hash).
"""

from __future__ import annotations

from collections.abc import Callable

from Crypto.Hash import keccak as _pycryptodome_keccak


def _pycryptodome(data: bytes) -> bytes:
    return _pycryptodome_keccak.new(digest_bits=256, data=data).digest()


def _choose() -> Callable[[bytes], bytes]:
    try:
        import sha3  # optional accelerator, see the module docstring
    except ImportError:
        return _pycryptodome
    keccak_256 = sha3.keccak_256

    def fast(data: bytes) -> bytes:
        return bytes(keccak_256(data).digest())

    return fast if fast(b"") == _pycryptodome(b"") else _pycryptodome


_keccak = _choose()


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data`` (Ethereum's hash, not SHA3-256)."""
    return _keccak(data)
