"""Seeding a throwaway broker database through the team's own seeding file (``[pou] seed_sql``).

The file belongs to the team: it knows their schema. It has named blocks of SQL, each started by
a line ``-- signoff:<block>``, whose ``:name`` parameters signoff fills::

    -- signoff:retire        (optional) before a pool is seeded: leave only :keep (a text[]) active
    -- signoff:agent         one test agent: :did :active :trust (NULL for none) :label and its key as
                             :public_key_hex :public_key_base64 :public_key_multibase
    -- signoff:negotiation   :negotiation_id :intent_id :client_did :agent_did :intent_type :amount_atomic
    -- signoff:attestation   (optional) a row written directly, for the finalizer probe of PU-FIN:
                             :task_id :by_did :type :score :confidence

Statements end with ``;`` at the end of a line and run in one transaction per block call. The
DIDs are identities signoff generated (:mod:`signoff.pou.identity`); it never seeds anybody else's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signoff.errors import ConfigError, SignoffError
from signoff.pou.identity import Identities
from signoff.pou.seeding import THROUGH_DATABASE, Journal
from signoff.redaction import redact

BLOCKS = {
    "retire": ("keep",),
    "agent": ("did", "active", "trust", "label", "public_key_hex", "public_key_base64", "public_key_multibase"),
    "negotiation": ("negotiation_id", "intent_id", "client_did", "agent_did", "intent_type", "amount_atomic"),
    "attestation": ("task_id", "by_did", "type", "score", "confidence"),
}
REQUIRED = ("agent", "negotiation")
_HEADER = re.compile(r"^--\s*signoff:([a-z_]+)\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)\b")


class SeedFileError(SignoffError):
    """A block of the seeding file failed on the broker's database."""


@dataclass(frozen=True)
class SeedFile:
    path: Path
    blocks: Mapping[str, tuple[str, ...]]  # block -> statements, in psycopg's %(name)s form

    def has(self, block: str) -> bool:
        return block in self.blocks


def load(path: Path) -> SeedFile:
    """Parse and check the seeding file: its blocks, and the parameters each uses."""
    text = path.read_text(encoding="utf-8")
    headers = list(_HEADER.finditer(text))
    blocks: dict[str, tuple[str, ...]] = {}
    for index, header in enumerate(headers):
        name = header.group(1)
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        if name not in BLOCKS:
            raise ConfigError(
                f"{path}: -- signoff:{name} is not a block signoff fills. Valid blocks: {', '.join(BLOCKS)}. "
                "Next step: rename it"
            )
        if name in blocks:
            raise ConfigError(f"{path}: -- signoff:{name} appears twice. Next step: keep one")
        blocks[name] = tuple(_statements(path, name, text[header.end() : end]))
    missing = [name for name in REQUIRED if name not in blocks]
    if missing:
        raise ConfigError(
            f"{path}: no -- signoff:{missing[0]} block; signoff needs {' and '.join(REQUIRED)} to seed test agents and "
            "negotiations into your schema. Next step: add it (see the README, e2e_pou: a throwaway stack)"
        )
    return SeedFile(path, blocks)


def _statements(path: Path, block: str, body: str) -> list[str]:
    statements = [s.strip() for s in re.split(r";[ \t]*(?:--[^\n]*)?$", body, flags=re.MULTILINE)]
    statements = [s for s in statements if s and not all(line.strip().startswith("--") for line in s.splitlines())]
    if not statements:
        raise ConfigError(f"{path}: -- signoff:{block} has no SQL statement. Next step: write it, or remove the block")
    converted = []
    for statement in statements:
        unknown = sorted({p for p in _PARAMETER.findall(_without_literals(statement)) if p not in BLOCKS[block]})
        if unknown:
            raise ConfigError(
                f"{path}: -- signoff:{block} uses :{', :'.join(unknown)}, which signoff does not fill there. Valid "
                f"parameters: :{', :'.join(BLOCKS[block])}"
            )
        converted.append(_psycopg_form(statement))
    return converted


def _without_literals(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def _psycopg_form(sql: str) -> str:
    """``:name`` -> ``%(name)s`` outside string literals; ``%`` doubled."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a literal
            out.append(part.replace("%", "%%"))
        else:
            out.append(_PARAMETER.sub(lambda m: f"%({m.group(1)})s", part.replace("%", "%%")))
    return "".join(out)


class SqlFileSeeder:
    """Test agents and negotiations written through the team's seeding file into the throwaway database."""

    through = THROUGH_DATABASE

    def __init__(self, url: str, seed: SeedFile, identities: Identities, journal: Journal) -> None:
        self.url = url
        self.seed = seed
        self.identities = identities
        self.journal = journal
        self.seeded: set[str] = set()

    def run(self, block: str, rows: list[dict[str, Any]]) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=10) as conn:
                for params in rows:
                    for statement in self.seed.blocks[block]:
                        conn.execute(statement.encode(), params)
        except psycopg.Error as exc:
            raise SeedFileError(
                redact(
                    f"{self.seed.path}: -- signoff:{block} failed on your schema: {str(exc).strip()}. Next step: fix "
                    "that block (run it by hand on a migrated database with the same parameters)"
                )
            ) from None

    def _agent(self, did: str, active: bool, trust: float | None) -> dict[str, Any]:
        self.identities.require(did)
        identity = self.identities.keys.get(did)
        return {
            "did": did,
            "active": active,
            "trust": trust,
            "label": did.rsplit(":", 1)[-1][:24],
            "public_key_hex": identity.public_key_hex if identity else None,
            "public_key_base64": identity.public_key_base64 if identity else None,
            "public_key_multibase": identity.public_key_multibase if identity else None,
        }

    def agent_pool(self, trust: Mapping[str, float]) -> None:
        if self.seed.has("retire"):
            self.run("retire", [{"keep": list(trust)}])
        self.run("agent", [self._agent(did, True, score) for did, score in trust.items()])
        self.seeded.update(trust)
        shown = ", ".join(f"{did} (trust {score})" for did, score in trust.items())
        self.journal.note("agents", f"{len(trust)} set active", f"active: {shown}", self.through)

    def negotiation(self, client: str, agent: str, amount_atomic: int = 1000) -> str:
        absent = [did for did in (client, agent) if did not in self.seeded]
        if absent:  # a party must exist as an agent in many schemas; it joins no committee
            self.run("agent", [self._agent(did, False, None) for did in absent])
            self.seeded.update(absent)
        negotiation_id = str(uuid.uuid4())
        params = {
            "negotiation_id": negotiation_id,
            "intent_id": str(uuid.uuid4()),
            "client_did": client,
            "agent_did": agent,
            "intent_type": "signoff.test",
            "amount_atomic": amount_atomic,
        }
        self.run("negotiation", [params])
        self.journal.note(
            "negotiation", negotiation_id, f"client {client}, agent {agent}, amount {amount_atomic}", self.through
        )
        return negotiation_id

    def attestation(self, task_id: str, by_did: str, type_: str, score: float = 0.9, confidence: float = 0.9) -> None:
        """A row written straight into the attestations table (the finalizer probe): not through the API."""
        self.identities.require(by_did)
        params = {"task_id": task_id, "by_did": by_did, "type": type_, "score": score, "confidence": confidence}
        self.run("attestation", [params])
        self.journal.note("attestation", f"{type_} by {by_did}", f"written by SQL on receipt {task_id}", self.through)

    def retire(self) -> None:
        """Nothing to do: the database goes away with the stack."""
