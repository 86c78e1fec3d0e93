"""Integrity of the sign-off evidence: a manifest of SHA-256 digests, an optional signature, and ``signoff verify``.
The manifest ``<stem>.manifest.json`` sits beside the files it covers and lists each by name, digest and size. A
signature covers the manifest's canonical form (:func:`canonical_bytes`: the manifest without its ``signature`` key,
``json.dumps(sort_keys=True, separators=(",", ":"))``, ASCII). An ``eip191`` signature is ``personal_sign`` of the
64-character lowercase SHA-256 hex digest of those bytes (:func:`payload_digest`), so any EIP-191 tool can check it by
hand and a hardware wallet shows a short, fixed-length text; a ``gpg`` signature is a detached, ASCII-armored OpenPGP
signature of the canonical bytes themselves. :func:`verify` recomputes every digest, checks the signature and, when
asked, who signed; :func:`main` is its command line. Secrets (a private key, a keystore password) are registered with
:mod:`signoff.redaction` and never appear in a message, a ``repr`` or a chained exception.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from signoff.errors import ConfigError
from signoff.redaction import redact, register_secret
from signoff.whole_files import write_whole

if TYPE_CHECKING:  # eth_account loads only to sign or verify: its import costs 0.3 s (py_ecc's BLS tables)
    from eth_account.signers.local import LocalAccount

MANIFEST_SCHEMA = "signoff-manifest/1"
MANIFEST_SUFFIX = ".manifest.json"
USAGE_ERROR = 4
GPG_SIGN_TIMEOUT_S = 60.0
GPG_VERIFY_TIMEOUT_S = 30.0
_CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")
_MIN_GPG_KEY_ID = 16  # a 32-bit short key id is forgeable; ask for the 64-bit id or the fingerprint


class Signer(Protocol):
    """Turns the canonical bytes of a manifest into its ``signature`` block."""

    def sign(self, payload: bytes) -> dict[str, str]: ...


@dataclass(frozen=True)
class FileCheck:
    """One covered file: ``status`` is ``ok``, ``CHANGED``, ``MISSING`` or ``INVALID`` (a bad manifest entry)."""

    name: str
    status: str
    expected_sha256: str
    actual_sha256: str | None = None
    expected_bytes: int | None = None
    actual_bytes: int | None = None


@dataclass(frozen=True)
class Verification:
    """The verdict on one manifest: ``ok`` only when every file matches and every signature check passed."""

    ok: bool
    problems: tuple[str, ...]
    signer: str | None  # checksummed address (eip191) or primary key fingerprint (gpg), only when the signature holds
    scheme: str | None
    files: tuple[str, ...]
    checks: tuple[FileCheck, ...] = ()
    signer_uid: str | None = None  # gpg: the user id gpg reported for the key


# -- digests and the manifest ------------------------------------------------------------------------------------------
def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest and size of ``path`` (read in chunks; raises ``OSError``)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def manifest_path_for(json_evidence: Path) -> Path:
    """``reports/signoff-x.json`` (or its ``.html``/``.xml`` sibling) -> ``reports/signoff-x.manifest.json``."""
    return json_evidence.with_name(json_evidence.stem + MANIFEST_SUFFIX)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_manifest(files: Sequence[Path], *, created_at: str | None = None) -> dict[str, Any]:
    """The unsigned manifest of ``files``: name (no folder), SHA-256 and size of each, sorted by name."""
    if not files:
        raise ConfigError("no evidence files to cover: a manifest needs at least one file")
    entries: dict[str, dict[str, Any]] = {}
    for path in files:
        if path.name in entries:
            raise ConfigError(f"two evidence files are named {path.name}: a manifest names files without their folder")
        try:
            sha256, size = file_digest(path)
        except OSError as exc:
            raise ConfigError(
                redact(f"cannot read evidence file {path}: {exc.strerror or exc}. Next step: check the path")
            ) from None
        entries[path.name] = {"name": path.name, "sha256": sha256, "bytes": size}
    return {
        "schema": MANIFEST_SCHEMA,
        "created_at": created_at or utc_now(),
        "files": [entries[name] for name in sorted(entries)],
    }


def canonical_bytes(manifest: Mapping[str, Any]) -> bytes:
    """What a signature covers: the manifest without ``signature``, sorted keys, no spaces, ASCII."""
    body = {key: value for key, value in manifest.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def payload_digest(payload: bytes) -> str:
    """The text an ``eip191`` signature signs: the lowercase SHA-256 hex digest of the canonical bytes."""
    return hashlib.sha256(payload).hexdigest()


def write_manifest(
    files: Sequence[Path], manifest_path: Path, signer: Signer | None = None, *, created_at: str | None = None
) -> Path:
    """Build the manifest of ``files`` (which must sit in ``manifest_path``'s folder), sign it, write it."""
    folder = manifest_path.parent.resolve()
    for path in files:
        if path.resolve().parent != folder:
            raise ConfigError(
                f"{path} is not in {manifest_path.parent}: the manifest covers files beside it only. "
                "Next step: write the manifest into the evidence folder"
            )
        if path.name == manifest_path.name:
            raise ConfigError(f"{manifest_path.name} cannot cover itself")
    manifest = build_manifest(files, created_at=created_at)
    if signer is not None:
        manifest["signature"] = signer.sign(canonical_bytes(manifest))
    write_whole(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest_path


# -- signers -----------------------------------------------------------------------------------------------------------
class Eip191Signer:
    """Signs with an Ethereum private key (``personal_sign`` of :func:`payload_digest`); never shows the key."""

    __slots__ = ("_account",)

    def __init__(self, private_key: str) -> None:
        key = private_key.strip()
        register_secret(key)
        register_secret(key.removeprefix("0x"))
        from eth_account import Account

        try:
            self._account: LocalAccount = Account.from_key(key)
        except Exception:  # eth_account's messages may quote the key: replace them all
            raise ConfigError(
                "the EIP-191 signing key is not a private key (expected 32 bytes as 64 hex digits, 0x optional; "
                "the value is not shown). Next step: check the key, or sign with a keystore file"
            ) from None

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign(self, payload: bytes) -> dict[str, str]:
        from eth_account.messages import encode_defunct

        signed = self._account.sign_message(encode_defunct(text=payload_digest(payload)))
        return {"scheme": "eip191", "signer": self.address, "signature": "0x" + bytes(signed.signature).hex()}

    def __repr__(self) -> str:
        return f"Eip191Signer(address={self.address})"


def keystore_signer(path: Path, password: str) -> Eip191Signer:
    """An :class:`Eip191Signer` from a standard Ethereum JSON keystore (V3); errors name the file, not the password."""
    register_secret(password)
    try:
        keystore = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            redact(f"cannot read the keystore {path}: {exc.strerror or exc}. Next step: check the path")
        ) from None
    except ValueError:
        raise ConfigError(f"{path} is not a JSON keystore. Next step: pass an Ethereum V3 keystore file") from None
    if not isinstance(keystore, dict):
        raise ConfigError(
            f"{path} is not a JSON keystore (not an object). Next step: pass an Ethereum V3 keystore file"
        )
    from eth_account import Account

    try:
        key = bytes(Account.decrypt(keystore, password))
    except Exception as exc:  # eth_keyfile raises KeyError/TypeError/ValueError subclasses: all become one message
        if "MAC mismatch" in str(exc):
            raise ConfigError(
                f"wrong password for the keystore {path} (MAC mismatch; the password is not shown). "
                "Next step: check the password and where it is read from"
            ) from None
        raise ConfigError(
            redact(
                f"{path} is not a standard Ethereum keystore ({type(exc).__name__}: {exc}). "
                "Next step: pass a V3 keystore (geth, clef, `cast wallet import`, eth_account.Account.encrypt)"
            )
        ) from None
    signer = Eip191Signer("0x" + key.hex())
    recorded = keystore.get("address")
    if isinstance(recorded, str) and recorded.lower().removeprefix("0x") != signer.address.lower().removeprefix("0x"):
        raise ConfigError(
            f"the keystore {path} says address 0x{recorded.removeprefix('0x')} but its key is for {signer.address}. "
            "Next step: use an unmodified keystore"
        )
    return signer


def find_gpg(gpg: str = "gpg") -> str:
    """The full path of the ``gpg`` program, or a :class:`ConfigError` that says how to install it."""
    found = shutil.which(gpg)
    if found is None:
        raise ConfigError(
            f"GPG signatures need the program {gpg!r}, which is not installed or not on PATH. Next step: install it "
            "(Debian/Ubuntu: apt-get install gnupg), or use an Ethereum key instead (GPG is optional)"
        )
    return found


def _run_gpg(
    arguments: Sequence[str], payload: bytes, timeout: float, hint: str = ""
) -> subprocess.CompletedProcess[bytes]:
    """Run gpg with a timeout; a hang or a start failure becomes a :class:`ConfigError`."""
    try:
        return subprocess.run(list(arguments), input=payload, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{arguments[0]} did not finish within {timeout:g} s{hint}") from None
    except OSError as exc:
        raise ConfigError(f"cannot run {arguments[0]}: {exc.strerror or exc}") from None


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return redact(lines[-1]) if lines else "no message"


_SIGN_TIMEOUT_HINT = (
    " (is it waiting for a passphrase?). Next step: unlock the key in gpg-agent first, or use a key gpg can use in"
    " --batch mode"
)


class GpgSigner:
    """Signs with a GPG key: a detached, ASCII-armored signature of the canonical bytes, made by the ``gpg`` program."""

    def __init__(self, key_id: str, gpg: str = "gpg") -> None:
        self.key_id = key_id
        self.gpg = gpg

    def sign(self, payload: bytes) -> dict[str, str]:
        binary = find_gpg(self.gpg)
        command = [binary, "--batch", "--yes", "--local-user", self.key_id, "--armor", "--detach-sign"]
        result = _run_gpg(command, payload, GPG_SIGN_TIMEOUT_S, _SIGN_TIMEOUT_HINT)
        signature = result.stdout.decode("ascii", "replace")
        if result.returncode != 0 or "-----BEGIN PGP SIGNATURE-----" not in signature:
            raise ConfigError(
                f"gpg could not sign with key {self.key_id!r} (exit {result.returncode}): {_last_line(result.stderr)}. "
                f"Next step: gpg --list-secret-keys {self.key_id}"
            )
        return {"scheme": "gpg", "key": self.key_id, "signature": signature}

    def __repr__(self) -> str:
        return f"GpgSigner(key_id={self.key_id!r})"


# -- signature checks --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Signed:
    """Who signed (when the signature holds) and what is wrong (when it does not)."""

    signer: str | None
    problems: tuple[str, ...] = ()
    uid: str | None = None
    subkey: str | None = None


def _verify_eip191(block: Mapping[str, Any], payload: bytes) -> _Signed:
    recorded, signature = block.get("signer"), block.get("signature")
    if not isinstance(recorded, str) or not isinstance(signature, str):
        return _Signed(None, ("signature invalid: the eip191 signature block needs a 'signer' and a 'signature'",))
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        recovered = str(Account.recover_message(encode_defunct(text=payload_digest(payload)), signature=signature))
    except Exception:  # any malformed signature: wrong length, not hex, bad v/r/s
        return _Signed(None, ("signature invalid: the eip191 signature is malformed",))
    if recovered.lower() != recorded.lower():
        return _Signed(
            None,
            (
                f"signature invalid: the manifest was changed after it was signed (its signature recovers to "
                f"{recovered}, not to the recorded signer {recorded})",
            ),
        )
    return _Signed(recovered)


def _gpg_status(stdout: bytes) -> dict[str, list[list[str]]]:
    """``[GNUPG:] KEYWORD args...`` lines by keyword."""
    status: dict[str, list[list[str]]] = {}
    for line in stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("[GNUPG:] "):
            keyword, *args = line[len("[GNUPG:] ") :].split(" ")
            status.setdefault(keyword, []).append(args)
    return status


def _run_gpg_verify(gpg: str, signature: str, payload: bytes) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory(prefix="signoff-verify-") as folder:
        data, detached = Path(folder, "manifest.canonical.json"), Path(folder, "manifest.canonical.json.asc")
        data.write_bytes(payload)
        detached.write_text(signature, encoding="ascii", errors="replace")
        command = [gpg, "--batch", "--no-auto-key-retrieve", "--status-fd", "1", "--verify", str(detached), str(data)]
        return _run_gpg(command, b"", GPG_VERIFY_TIMEOUT_S)


def _verify_gpg(block: Mapping[str, Any], payload: bytes, gpg: str) -> _Signed:
    signature = block.get("signature")
    if not isinstance(signature, str) or "-----BEGIN PGP SIGNATURE-----" not in signature:
        return _Signed(None, ("signature invalid: the gpg signature block holds no armored PGP signature",))
    binary = find_gpg(gpg)  # gpg missing is a usage problem of whoever verifies, not a verdict on the evidence
    try:
        result = _run_gpg_verify(binary, signature, payload)
    except ConfigError as exc:
        return _Signed(None, (f"gpg could not check the signature: {exc}",))
    status = _gpg_status(result.stdout)
    good = status.get("GOODSIG") or status.get("EXPKEYSIG")  # a key that expired since still made a good signature
    valid = status.get("VALIDSIG")
    if result.returncode == 0 and good and valid and len(status.get("NEWSIG", [[]])) == 1:
        fingerprint = valid[0][9] if len(valid[0]) >= 10 else valid[0][0]
        return _Signed(fingerprint, uid=" ".join(good[0][1:]) or None, subkey=valid[0][0])
    return _Signed(None, (_gpg_failure(status, result),))


def _gpg_failure(status: Mapping[str, list[list[str]]], result: subprocess.CompletedProcess[bytes]) -> str:
    if "BADSIG" in status:
        who = " ".join(status["BADSIG"][0][1:])
        return f"signature invalid: the manifest was changed after it was signed (gpg: BAD signature from {who})"
    if "REVKEYSIG" in status:
        return f"signature invalid: made by a revoked key ({' '.join(status['REVKEYSIG'][0])})"
    if "NO_PUBKEY" in status or "ERRSIG" in status:
        key = (status.get("NO_PUBKEY") or status["ERRSIG"])[0][0]
        return (
            f"gpg cannot check the signature: public key {key} is not in your keyring. "
            "Next step: gpg --import the signer's public key, then verify again"
        )
    if len(status.get("NEWSIG", [])) > 1:
        return "signature invalid: the gpg block holds more than one signature"
    return f"signature invalid: gpg could not verify it (exit {result.returncode}): {_last_line(result.stderr)}"


def _gpg_key(value: str) -> str:
    return value.replace(" ", "").upper().removeprefix("0X")


def _signer_problem(scheme: str, signed: _Signed, expected: str) -> str | None:
    """Why ``signed`` is not ``expected`` (an address for eip191; a key id or fingerprint for gpg), or ``None``."""
    if signed.signer is None:
        return None  # the signature itself failed; that problem is already reported
    if scheme == "eip191":
        if expected.strip().lower() == signed.signer.lower():
            return None
        return f"signed by {signed.signer}, not by the expected signer {expected}"
    wanted = _gpg_key(expected)
    if len(wanted) < _MIN_GPG_KEY_ID or not set(wanted.lower()) <= _HEX:
        return (
            f"expected signer {expected!r} does not identify a GPG key safely: give its 16-hex-digit key id or its "
            f"40-hex-digit fingerprint (signed by {signed.signer})"
        )
    candidates = [_gpg_key(fpr) for fpr in (signed.signer, signed.subkey) if fpr]
    if any(fingerprint.endswith(wanted) for fingerprint in candidates):
        return None
    return f"signed by GPG key {signed.signer}, not by the expected signer {expected}"


def _check_signature(manifest: Mapping[str, Any], gpg: str) -> tuple[str | None, _Signed]:
    block = manifest.get("signature")
    if block is None:
        return None, _Signed(None)
    if not isinstance(block, Mapping):
        return None, _Signed(None, ("signature invalid: the 'signature' entry is not an object",))
    scheme = block.get("scheme")
    payload = canonical_bytes(manifest)
    if scheme == "eip191":
        return scheme, _verify_eip191(block, payload)
    if scheme == "gpg":
        return scheme, _verify_gpg(block, payload, gpg)
    return None, _Signed(None, (f"signature invalid: unknown signature scheme {scheme!r} (known: eip191, gpg)",))


# -- file checks -------------------------------------------------------------------------------------------------------
def _plain_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and Path(name).name == name
        and "\\" not in name
        and "\0" not in name
    )


def _check_file(folder: Path, entry: Any) -> FileCheck:
    if not isinstance(entry, Mapping) or not _plain_name(entry.get("name")):
        return FileCheck(repr(entry)[:80], "INVALID", "")
    name, expected, size = entry["name"], entry.get("sha256"), entry.get("bytes")
    if not isinstance(expected, str) or len(expected) != 64 or not set(expected) <= _HEX or type(size) is not int:
        return FileCheck(name, "INVALID", str(expected))
    try:
        actual, actual_size = file_digest(folder / name)
    except FileNotFoundError:
        return FileCheck(name, "MISSING", expected, expected_bytes=size)
    except OSError:
        return FileCheck(name, "UNREADABLE", expected, expected_bytes=size)
    status = "ok" if (actual, actual_size) == (expected, size) else "CHANGED"
    return FileCheck(name, status, expected, actual, size, actual_size)


def _file_problem(check: FileCheck) -> str | None:
    if check.status == "ok":
        return None
    if check.status == "CHANGED":
        return (
            f"{check.name} changed (sha256 expected {check.expected_sha256}, actual {check.actual_sha256}; "
            f"bytes expected {check.expected_bytes}, actual {check.actual_bytes})"
        )
    if check.status == "MISSING":
        return f"{check.name} is missing (sha256 expected {check.expected_sha256})"
    if check.status == "UNREADABLE":
        return f"{check.name} cannot be read (sha256 expected {check.expected_sha256})"
    return f"manifest entry {check.name} is not a plain file name with a 64-hex-digit sha256 and a byte count"


# -- loading and verifying ---------------------------------------------------------------------------------------------
def resolve_manifest(path: Path) -> Path:
    """The manifest itself, or the manifest beside an evidence file (``<stem>.manifest.json``)."""
    manifest = path if path.name.endswith(MANIFEST_SUFFIX) else manifest_path_for(path)
    if manifest.is_file():
        return manifest
    if manifest == path:
        raise ConfigError(f"no such manifest: {path}. Next step: check the path")
    if not path.exists():
        raise ConfigError(f"no such file: {path}. Next step: check the path")
    raise ConfigError(
        f"{path} has no manifest beside it (expected {manifest.name}): its integrity cannot be checked. "
        "Next step: find the manifest that was filed with the evidence"
    )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ValueError(f"duplicate key(s) {', '.join(duplicated)}")
    return dict(pairs)


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``; a :class:`ConfigError` if it cannot be read or is not a signoff manifest."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(f"cannot read {path}: {reason}. Next step: check the path") from None
    try:
        manifest = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        raise ConfigError(f"{path} is not a manifest: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
        found = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
        raise ConfigError(f"{path} is not a manifest: schema expected {MANIFEST_SCHEMA!r}, found {found!r}")
    return manifest


def verify(manifest_path: Path, *, expected_signer: str | None = None, gpg: str = "gpg") -> Verification:
    """Check every file the manifest lists, its signature, and (if given) that ``expected_signer`` made it."""
    path = resolve_manifest(manifest_path)
    manifest = load_manifest(path)
    entries = manifest.get("files")
    entries = entries if isinstance(entries, list) else []
    checks = tuple(_check_file(path.parent, entry) for entry in entries)
    problems = [p for p in map(_file_problem, checks) if p]
    if not checks:
        problems.append(f"{path.name} lists no files")
    scheme, signed = _check_signature(manifest, gpg)
    problems.extend(signed.problems)
    if expected_signer is not None:
        if "signature" not in manifest:
            problems.append(f"the manifest is not signed, but a signature by {expected_signer} is expected")
        elif scheme is not None and (mismatch := _signer_problem(scheme, signed, expected_signer)):
            problems.append(mismatch)
    return Verification(
        ok=not problems,
        problems=tuple(redact(p) for p in problems),
        signer=signed.signer,
        scheme=scheme,
        files=tuple(check.name for check in checks),
        checks=checks,
        signer_uid=signed.uid,
    )


# -- command line ------------------------------------------------------------------------------------------------------
def _file_line(check: FileCheck) -> str:
    if check.status == "ok":
        return f"ok       {check.name}  sha256 {check.expected_sha256}  {check.actual_bytes} bytes"
    if check.status == "CHANGED":
        return (
            f"CHANGED  {check.name}  sha256 expected {check.expected_sha256}, actual {check.actual_sha256}  "
            f"bytes expected {check.expected_bytes}, actual {check.actual_bytes}"
        )
    if check.status in ("MISSING", "UNREADABLE"):
        return f"{check.status:<8} {check.name}  sha256 expected {check.expected_sha256}"
    return f"INVALID  {check.name}  (not a plain file name with a sha256 and a byte count)"


def _verdict_line(result: Verification) -> str:
    if not result.ok:
        return "NOT VERIFIED: " + "; ".join(result.problems)
    count = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"
    if result.signer is None:
        return f"VERIFIED: {count}, unsigned (no --signer given, so no signature was required)"
    who = f"{result.signer} {result.signer_uid}" if result.signer_uid else result.signer
    return f"VERIFIED: {count}, signed by {who} ({result.scheme})"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signoff verify",
        description="Check that sign-off evidence files are unchanged, and who signed their manifest.",
        epilog="Exit codes: 0 verified, 1 not verified, 4 usage error (no such file, not a manifest).",
    )
    parser.add_argument("evidence", type=Path, metavar="EVIDENCE", help="the manifest, or any evidence file beside it")
    parser.add_argument(
        "--signer",
        metavar="ADDRESS_OR_KEY",
        help="require this signer: an Ethereum address (eip191) or a GPG key id / fingerprint (gpg)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``signoff verify EVIDENCE [--signer ADDRESS_OR_KEY]``: one line per file, then the verdict."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the error (or the help)
        return 0 if exc.code in (0, None) else USAGE_ERROR
    try:
        result = verify(args.evidence, expected_signer=args.signer)
    except ConfigError as exc:
        print(f"signoff verify: {redact(str(exc))}", file=sys.stderr)
        return USAGE_ERROR
    for check in result.checks:
        print(redact(_file_line(check)))
    print(redact(_verdict_line(result)))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
