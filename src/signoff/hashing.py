"""Keccak-256 without web3: pycryptodome is light enough for the artifact-only path."""

from __future__ import annotations

from Crypto.Hash import keccak


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data`` (Ethereum's hash, not SHA3-256)."""
    return keccak.new(digest_bits=256, data=data).digest()
