"""The evidence manifest: digests, EIP-191 / keystore / GPG signatures, and ``signoff verify``."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from signoff.errors import ConfigError
from signoff.evidence.integrity import (
    MANIFEST_SCHEMA,
    Eip191Signer,
    GpgSigner,
    build_manifest,
    canonical_bytes,
    keystore_signer,
    main,
    manifest_path_for,
    payload_digest,
    verify,
    write_manifest,
)
from signoff.redaction import redact

# The well-known throwaway key of the web3/eth-account documentation: not a secret.
KEY_A = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ADDRESS_A = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
KEY_B = "0x" + "11" * 32
ADDRESS_B = Account.from_key(KEY_B).address
STEM = "signoff-preflight-sepolia-20260509T101500Z"
CREATED = "2026-05-09T10:15:00Z"
NAMES = (f"{STEM}.html", f"{STEM}.json", f"{STEM}.xml")


@pytest.fixture
def evidence(tmp_path: Path) -> list[Path]:
    contents = {
        NAMES[0]: "<html><body><h1>signoff preflight</h1><p>42 passed</p></body></html>\n",
        NAMES[1]: json.dumps({"schema": "signoff-evidence/1", "exit_status": 0, "summary": {"passed": 42}}) + "\n",
        NAMES[2]: '<?xml version="1.0"?><testsuites><testsuite tests="42" failures="0"/></testsuites>\n',
    }
    files = []
    for name, text in contents.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


def seal(files: list[Path], signer: Eip191Signer | GpgSigner | None = None) -> Path:
    return write_manifest(files, manifest_path_for(files[1]), signer, created_at=CREATED)


def flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def edit_manifest(path: Path, change: dict[str, object], entry: int | None = None) -> None:
    manifest = json.loads(path.read_text())
    (manifest["files"][entry] if entry is not None else manifest).update(change)
    path.write_text(json.dumps(manifest, indent=2) + "\n")


# -- the manifest ------------------------------------------------------------------------------------------------------
def test_manifest_lists_name_digest_and_size_sorted(evidence: list[Path]) -> None:
    manifest = build_manifest(list(reversed(evidence)), created_at=CREATED)
    assert manifest["schema"] == MANIFEST_SCHEMA == "signoff-manifest/1"
    assert manifest["created_at"] == CREATED
    assert [f["name"] for f in manifest["files"]] == sorted(NAMES)
    for entry, path in zip(manifest["files"], sorted(evidence), strict=True):
        assert entry == {
            "name": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
        }


def test_created_at_defaults_to_utc_now(evidence: list[Path]) -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", build_manifest(evidence)["created_at"])


def test_manifest_file_sits_beside_the_evidence(evidence: list[Path]) -> None:
    assert manifest_path_for(evidence[1]) == evidence[1].parent / f"{STEM}.manifest.json"
    assert manifest_path_for(evidence[0]) == manifest_path_for(evidence[1])
    path = seal(evidence)
    text = path.read_text()
    assert text.endswith("}\n") and text.startswith('{\n  "schema"')
    assert "signature" not in json.loads(text)


def test_manifest_refuses_what_it_cannot_cover(evidence: list[Path], tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    twin = other / NAMES[0]
    twin.write_text("x")
    with pytest.raises(ConfigError, match="two evidence files are named"):
        build_manifest([evidence[0], twin])
    with pytest.raises(ConfigError, match="not in"):
        write_manifest([twin], manifest_path_for(evidence[1]))
    with pytest.raises(ConfigError, match=r"cannot read evidence file .*nope\.json"):
        build_manifest([tmp_path / "nope.json"])
    with pytest.raises(ConfigError, match="at least one file"):
        build_manifest([])


# -- EIP-191 -----------------------------------------------------------------------------------------------------------
def test_signed_manifest_verifies(evidence: list[Path]) -> None:
    path = seal(evidence, Eip191Signer(KEY_A))
    block = json.loads(path.read_text())["signature"]
    assert block["scheme"] == "eip191" and block["signer"] == ADDRESS_A
    assert re.fullmatch(r"0x[0-9a-f]{130}", block["signature"])
    result = verify(path, expected_signer=ADDRESS_A.lower())
    assert result.ok, result.problems
    assert (result.signer, result.scheme, result.problems) == (ADDRESS_A, "eip191", ())
    assert result.files == tuple(sorted(NAMES))
    assert {c.status for c in result.checks} == {"ok"}


def test_eip191_signs_the_sha256_hex_of_the_canonical_manifest(evidence: list[Path]) -> None:
    manifest = json.loads(seal(evidence, Eip191Signer(KEY_A)).read_text())
    canonical = json.dumps(
        {k: v for k, v in manifest.items() if k != "signature"}, sort_keys=True, separators=(",", ":")
    ).encode()
    assert canonical_bytes(manifest) == canonical
    text = hashlib.sha256(canonical).hexdigest()
    assert payload_digest(canonical) == text
    recovered = Account.recover_message(encode_defunct(text=text), signature=manifest["signature"]["signature"])
    assert recovered == ADDRESS_A


def test_any_evidence_file_finds_its_manifest(evidence: list[Path]) -> None:
    seal(evidence, Eip191Signer(KEY_A))
    for path in evidence:
        assert verify(path, expected_signer=ADDRESS_A).ok


@pytest.mark.parametrize("index", range(3), ids=["html", "json", "xml"])
def test_one_flipped_byte_in_any_file_is_caught(evidence: list[Path], index: int) -> None:
    path = seal(evidence, Eip191Signer(KEY_A))
    changed = evidence[index]
    before = hashlib.sha256(changed.read_bytes()).hexdigest()
    flip_middle_byte(changed)
    result = verify(path, expected_signer=ADDRESS_A)
    assert not result.ok
    assert len(result.problems) == 1 and result.problems[0].startswith(f"{changed.name} changed")
    assert before in result.problems[0] and hashlib.sha256(changed.read_bytes()).hexdigest() in result.problems[0]
    assert {c.name: c.status for c in result.checks} == {n: "CHANGED" if n == changed.name else "ok" for n in NAMES}
    assert result.signer == ADDRESS_A  # the manifest itself is intact


def test_a_deleted_file_is_missing(evidence: list[Path]) -> None:
    path = seal(evidence, Eip191Signer(KEY_A))
    evidence[2].unlink()
    result = verify(path)
    assert not result.ok
    assert result.problems == (f"{NAMES[2]} is missing (sha256 expected {result.checks[2].expected_sha256})",)
    assert result.checks[2].status == "MISSING"


def test_editing_a_listed_digest_breaks_the_signature(evidence: list[Path]) -> None:
    path = seal(evidence, Eip191Signer(KEY_A))
    edit_manifest(path, {"sha256": "0" * 64}, entry=0)
    result = verify(path)
    assert not result.ok and result.signer is None
    assert any(p.startswith(f"{NAMES[0]} changed") for p in result.problems)
    assert any(p.startswith("signature invalid: the manifest was changed after it was signed") for p in result.problems)


def test_a_changed_file_with_a_matching_manifest_edit_is_still_caught(evidence: list[Path]) -> None:
    """The forger changes a file and updates its digest and size in the manifest: the files match, the signature not."""
    path = seal(evidence, Eip191Signer(KEY_A))
    flip_middle_byte(evidence[1])
    data = evidence[1].read_bytes()
    edit_manifest(path, {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, entry=1)
    result = verify(path, expected_signer=ADDRESS_A)
    assert [c.status for c in result.checks] == ["ok", "ok", "ok"]
    assert not result.ok
    assert len(result.problems) == 1 and "signature invalid" in result.problems[0]
    assert ADDRESS_A in result.problems[0]  # the recorded signer, which the signature no longer recovers to


def test_claiming_another_signer_breaks_the_signature(evidence: list[Path]) -> None:
    path = seal(evidence, Eip191Signer(KEY_A))
    manifest = json.loads(path.read_text())
    manifest["signature"]["signer"] = ADDRESS_B
    path.write_text(json.dumps(manifest))
    result = verify(path, expected_signer=ADDRESS_B)
    assert not result.ok and "signature invalid" in result.problems[0]


def test_a_malformed_signature_is_reported_not_raised(evidence: list[Path]) -> None:
    path = seal(evidence, Eip191Signer(KEY_A))
    manifest = json.loads(path.read_text())
    manifest["signature"]["signature"] = "0x1234"
    path.write_text(json.dumps(manifest))
    assert verify(path).problems == ("signature invalid: the eip191 signature is malformed",)


def test_a_different_signer_than_expected_fails_naming_both(evidence: list[Path]) -> None:
    path = seal(evidence, Eip191Signer(KEY_A))
    result = verify(path, expected_signer=ADDRESS_B)
    assert not result.ok
    assert result.problems == (f"signed by {ADDRESS_A}, not by the expected signer {ADDRESS_B}",)


def test_unsigned_manifest_fails_only_when_a_signer_is_expected(evidence: list[Path]) -> None:
    path = seal(evidence)
    assert verify(path).ok
    result = verify(path, expected_signer=ADDRESS_A)
    assert not result.ok and result.signer is None and result.scheme is None
    assert result.problems == (f"the manifest is not signed, but a signature by {ADDRESS_A} is expected",)


def test_a_file_name_outside_the_folder_is_refused(evidence: list[Path], tmp_path: Path) -> None:
    path = seal(evidence)
    (tmp_path.parent / "outside.txt").write_text("x")
    edit_manifest(path, {"name": "../outside.txt"}, entry=0)
    result = verify(path)
    assert not result.ok and result.checks[0].status == "INVALID"


def test_the_key_is_never_shown(evidence: list[Path]) -> None:
    signer = Eip191Signer(KEY_A)
    assert repr(signer) == f"Eip191Signer(address={ADDRESS_A})"
    assert redact(f"key {KEY_A} and {KEY_A[2:]}") == "key *** and ***"
    with pytest.raises(ConfigError) as raised:
        Eip191Signer("0xdeadbeefcafe")
    assert "deadbeefcafe" not in str(raised.value) and "not a private key" in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # eth_account's message is dropped


# -- keystore ----------------------------------------------------------------------------------------------------------
@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "operator.json"
    path.parent.mkdir()
    # scrypt as Account.encrypt does by default, with a small work factor so the test stays fast
    path.write_text(json.dumps(Account.encrypt(KEY_A, "pw", iterations=2**10)))
    return path


def test_keystore_round_trip(evidence: list[Path], keystore: Path) -> None:
    signer = keystore_signer(keystore, "pw")
    assert signer.address == ADDRESS_A
    path = seal(evidence, signer)
    assert verify(path, expected_signer=ADDRESS_A).ok


def test_wrong_keystore_password_names_the_file_not_the_password(keystore: Path) -> None:
    password = "correct-horse-battery-staple"
    with pytest.raises(ConfigError) as raised:
        keystore_signer(keystore, password)
    message = str(raised.value)
    assert str(keystore) in message and "wrong password" in message and "Next step" in message
    assert password not in "".join(traceback.format_exception(raised.value))
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_unreadable_or_foreign_keystore_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the keystore .*absent\.json"):
        keystore_signer(tmp_path / "absent.json", "pw")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    with pytest.raises(ConfigError, match=r"garbage\.json is not a JSON keystore"):
        keystore_signer(garbage, "pw")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"crypto": {}}')
    with pytest.raises(ConfigError, match=r"foreign\.json is not a standard Ethereum keystore"):
        keystore_signer(foreign, "pw")


# -- signoff verify ----------------------------------------------------------------------------------------------------
def test_main_verified(evidence: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    seal(evidence, Eip191Signer(KEY_A))
    assert main([str(evidence[0]), "--signer", ADDRESS_A]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line, path in zip(lines[:3], sorted(evidence), strict=True):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert line.split() == ["ok", path.name, "sha256", digest, str(path.stat().st_size), "bytes"]
    assert lines[-1] == f"VERIFIED: 3 files, signed by {ADDRESS_A} (eip191)"


def test_main_not_verified(evidence: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    manifest = seal(evidence, Eip191Signer(KEY_A))
    flip_middle_byte(evidence[0])
    evidence[2].unlink()
    assert main([str(manifest), "--signer", ADDRESS_B]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"CHANGED  {NAMES[0]}  sha256 expected ")
    assert out[1].startswith(f"ok       {NAMES[1]}")
    assert out[2].startswith(f"MISSING  {NAMES[2]}  sha256 expected ")
    assert out[3].startswith(f"NOT VERIFIED: {NAMES[0]} changed")
    assert f"{NAMES[2]} is missing" in out[3] and ADDRESS_A in out[3] and ADDRESS_B in out[3]


def test_main_unsigned(evidence: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    manifest = seal(evidence)
    assert main([str(manifest)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("VERIFIED: 3 files, unsigned")
    assert main([str(manifest), "--signer", ADDRESS_A]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"NOT VERIFIED: the manifest is not signed, but a signature by {ADDRESS_A} is expected"
    )


def test_main_usage_errors(evidence: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nothing.manifest.json")]) == 4
    assert "no such manifest" in capsys.readouterr().err
    assert main([str(evidence[0])]) == 4  # evidence without a manifest beside it
    assert f"expected {STEM}.manifest.json" in capsys.readouterr().err
    assert main([str(tmp_path / "nothing.json")]) == 4
    assert "no such file" in capsys.readouterr().err
    bogus = tmp_path / "bogus.manifest.json"
    for text in ('{"schema": "signoff-evidence/1"}', "[1, 2]", "{not json", '{"schema": "x", "schema": "y"}'):
        bogus.write_text(text)
        assert main([str(bogus)]) == 4
        err = capsys.readouterr().err
        assert "is not a manifest" in err and "Traceback" not in err
    assert main([]) == 4
    assert "usage: signoff verify" in capsys.readouterr().err
    assert main(["--help"]) == 0


# -- GPG ---------------------------------------------------------------------------------------------------------------
def test_gpg_missing_is_a_config_error_naming_the_package(evidence: list[Path]) -> None:
    with pytest.raises(ConfigError, match=r"'signoff-no-such-gpg'.*apt-get install gnupg.*GPG is optional"):
        seal(evidence, GpgSigner("t@example.invalid", gpg="signoff-no-such-gpg"))


GPG = shutil.which("gpg")
KEY_SPEC = ("ed25519", "sign", "never")
needs_gpg = pytest.mark.skipif(GPG is None, reason="gpg is not installed (Debian package gnupg): GPG signing untested")


@pytest.fixture(scope="module")
def gpg_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway ed25519 key in a temporary GNUPGHOME; yields its fingerprint."""
    assert GPG is not None
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GNUPGHOME", str(home))
        try:
            subprocess.run(
                [GPG, "--batch", "--passphrase", "", "--quick-gen-key", "signoff test <t@example.invalid>", *KEY_SPEC],
                check=True,
                capture_output=True,
                timeout=60,
            )
            listing = subprocess.run(
                [GPG, "--batch", "--with-colons", "--list-keys", "t@example.invalid"],
                check=True,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            yield next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        finally:
            gpgconf = shutil.which("gpgconf")
            if gpgconf:  # stop the agent this home started (and only it)
                subprocess.run([gpgconf, "--kill", "gpg-agent"], capture_output=True, timeout=30, check=False)


@needs_gpg
def test_gpg_sign_and_verify(evidence: list[Path], gpg_key: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = seal(evidence, GpgSigner("t@example.invalid"))
    block = json.loads(path.read_text())["signature"]
    assert block["scheme"] == "gpg" and block["key"] == "t@example.invalid"
    assert block["signature"].startswith("-----BEGIN PGP SIGNATURE-----")
    result = verify(path, expected_signer=gpg_key)
    assert result.ok, result.problems
    assert (result.signer, result.scheme, result.signer_uid) == (gpg_key, "gpg", "signoff test <t@example.invalid>")
    assert verify(path, expected_signer=gpg_key[-16:].lower()).ok  # the long key id
    assert main([str(evidence[2]), "--signer", gpg_key]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"VERIFIED: 3 files, signed by {gpg_key} signoff test <t@example.invalid> (gpg)"
    )


@needs_gpg
def test_gpg_wrong_or_vague_signer(evidence: list[Path], gpg_key: str) -> None:
    path = seal(evidence, GpgSigner(gpg_key))
    other = "0123456789ABCDEF0123456789ABCDEF01234567"
    assert verify(path, expected_signer=other).problems == (
        f"signed by GPG key {gpg_key}, not by the expected signer {other}",
    )
    short = verify(path, expected_signer=gpg_key[-8:])
    assert not short.ok and "16-hex-digit key id" in short.problems[0]
    assert not verify(path, expected_signer=ADDRESS_A).ok


@needs_gpg
def test_gpg_tampering_fails(evidence: list[Path], gpg_key: str) -> None:
    path = seal(evidence, GpgSigner(gpg_key))
    flip_middle_byte(evidence[0])
    changed = verify(path, expected_signer=gpg_key)
    assert not changed.ok and changed.problems[0].startswith(f"{NAMES[0]} changed")
    data = evidence[0].read_bytes()
    edit_manifest(path, {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, entry=0)
    forged = verify(path, expected_signer=gpg_key)
    assert not forged.ok and forged.signer is None
    assert forged.problems == (
        "signature invalid: the manifest was changed after it was signed "
        "(gpg: BAD signature from signoff test <t@example.invalid>)",
    )


@needs_gpg
def test_gpg_unknown_key_says_what_to_import(
    evidence: list[Path], gpg_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = seal(evidence, GpgSigner(gpg_key))
    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty))  # the auditor's keyring lacks the signer's public key
    result = verify(path)
    assert not result.ok
    assert "is not in your keyring" in result.problems[0] and "gpg --import" in result.problems[0]
