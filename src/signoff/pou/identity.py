"""The DIDs signoff acts as: Ed25519 ``did:key`` identities it generates, and signatures over the
JCS canonical form (RFC 8785) of an attestation.

A broker that only admits ``did:key:``/``did:web:`` agents with a public key gets real
identities: signoff makes a key pair per DID, writes the public key through the team's seeding
file, and signs what it sends as that DID when the dialect asks for signatures. signoff never acts
as a DID it did not create (:class:`Identities.require`).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from signoff.errors import SignoffError

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_PUB = b"\xed\x01"  # multicodec varint of ed25519-pub
SIGNED_FIELDS = ("task_id", "by_did", "type", "score", "confidence", "evidence_ref")


class NotOurIdentity(SignoffError):
    """signoff was about to act as a DID it did not create: a hard stop."""


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, rest = divmod(number, 58)
        digits = _BASE58[rest] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


def did_key(public_key: bytes) -> str:
    """``did:key:z…`` of a 32-byte Ed25519 public key."""
    return "did:key:z" + base58btc(_ED25519_PUB + public_key)


def _number(value: float | int) -> str:
    """A JSON number as ECMAScript prints it (RFC 8785 3.2.2.3) for the values an attestation carries."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"not a JSON number: {value!r}")
    if float(value).is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(float(value))
    if "e" not in text:
        return text
    if 1e-6 <= abs(value) < 1e21:  # ECMAScript writes these as decimals (Python: 1e-05)
        return format(Decimal(text), "f")
    mantissa, exponent = text.split("e")  # 1e-07 -> 1e-7
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"


def jcs(value: Any) -> str:
    """RFC 8785 canonical JSON: keys sorted by UTF-16 code units, no whitespace, ECMAScript numbers."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda key: str(key).encode("utf-16-be"))
        return "{" + ",".join(f"{json.dumps(str(key), ensure_ascii=False)}:{jcs(value[key])}" for key in keys) + "}"
    raise ValueError(f"not JSON: {type(value).__name__}")


def attestation_payload(task_id: str, by_did: str, body: Mapping[str, Any]) -> str:
    """The canonical text an attestation's signature covers."""
    signed = {"task_id": task_id, "by_did": by_did, **{key: body.get(key) for key in SIGNED_FIELDS[2:]}}
    return jcs(signed)


@dataclass(frozen=True)
class Identity:
    did: str
    public_key: bytes = field(repr=False)
    _private: bytes = field(repr=False)

    @property
    def public_key_hex(self) -> str:
        return self.public_key.hex()

    @property
    def public_key_base64(self) -> str:
        return base64.b64encode(self.public_key).decode()

    @property
    def public_key_multibase(self) -> str:
        return self.did.removeprefix("did:key:")

    def sign(self, text: str) -> str:
        """The Ed25519 signature of ``text`` (UTF-8), base64 with padding."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.from_private_bytes(self._private)
        return base64.b64encode(key.sign(text.encode())).decode()


def new_identity() -> Identity:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Identity(did_key(public), public, private)


@dataclass
class Identities:
    """Every DID this run may act as: the ones it generated, and (a live broker) the configured test DIDs."""

    keys: dict[str, Identity] = field(default_factory=dict)
    allowed: set[str] = field(default_factory=set)

    def create(self) -> Identity:
        identity = new_identity()
        self.keys[identity.did] = identity
        self.allowed.add(identity.did)
        return identity

    def allow(self, *dids: str) -> None:
        self.allowed.update(dids)

    def require(self, did: str) -> None:
        if did not in self.allowed:
            raise NotOurIdentity(
                f"signoff was about to act as {did}, a DID it did not create and the target file does not name as a "
                "test DID; it never acts as anybody else's identity. This is a fault of the check, not of the broker: "
                "report it"
            )

    def signature(self, task_id: str, did: str, body: Mapping[str, Any]) -> str | None:
        """The signature of an attestation by ``did``, or None when signoff holds no key for it."""
        identity = self.keys.get(did)
        return identity.sign(attestation_payload(task_id, did, body)) if identity is not None else None
