"""PD-WIRE for the control plane: module getters named after other modules' config keys must
return those modules' addresses (the team's address book when it has one, else the deployment),
and every module's ``version()`` must agree (the handshake modules check when they are wired).
A getter the team expects (``[control.wiring]``) but a module lacks is "not applicable", reported
apart from a wrong value. Pure: the suite reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from signoff.findings import Finding
from signoff.postdeploy.ownership import functions, inputs_of, outputs_of

CHECK_ID = "PD-WIRE"
Abi = Sequence[Mapping[str, Any]]
Label = Callable[[str], str]


@dataclass(frozen=True)
class ExpectedLink:
    contract: str
    getter: str
    module_key: str
    expected: str | None  # None: the module the getter names is not deployed or listed
    present: bool  # the ABI has the getter


def expected_links(
    contract: str, abi: Abi, keys: Sequence[str], addresses: Mapping[str, str], listed: Mapping[str, str]
) -> list[ExpectedLink]:
    """Getters of ``contract`` named after a module key (``feePool``; ``registry`` for key ``Registry``),
    and those the team lists (getter -> module key), with what they must return."""
    wanted = {key[:1].lower() + key[1:]: key for key in keys}
    wanted.update({key: key for key in keys})
    wanted.update(listed)
    links = []
    for getter, key in wanted.items():
        present = any(not inputs_of(e) and outputs_of(e) == ["address"] for e in functions(abi, getter))
        if present or getter in listed:
            links.append(ExpectedLink(contract, getter, key, addresses.get(key), present))
    return links


def judge_link(link: ExpectedLink, actual: str | None, label: Label) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    getter = f"{link.contract}.{link.getter}"
    row: dict[str, Any] = {"getter": getter, "expected": label(link.expected) if link.expected else "", "actual": ""}
    if not link.present:
        row.update(actual="not in the ABI", verdict="not applicable")
        return row, ()
    if link.expected is None:
        row.update(actual=label(actual) if actual else "", verdict="fail")
        return row, (
            Finding(
                CHECK_ID,
                getter,
                "error",
                f"{getter}() names module {link.module_key}, whose address is neither deployed nor in the address "
                "book. Next step: add it to [control] addresses or map the key in [control.modules]",
            ),
        )
    row["actual"] = label(actual) if actual else "unreadable"
    if actual is not None and actual.lower() == link.expected.lower():
        row["verdict"] = "pass"
        return row, ()
    row["verdict"] = "fail"
    return row, (
        Finding(
            CHECK_ID,
            getter,
            "error",
            f"{getter}() is {row['actual']}, expected {label(link.expected)} (module {link.module_key}): the module "
            "is wired to the wrong contract. Next step: re-point it through governance, or correct the address book",
        ),
    )


def judge_versions(
    versions: Mapping[str, int | None], required: int | None
) -> tuple[list[dict[str, Any]], tuple[Finding, ...]]:
    known = {name: v for name, v in versions.items() if v is not None}
    if required is None and known:
        counts: dict[int, int] = {}
        for v in known.values():
            counts[v] = counts.get(v, 0) + 1
        required = max(counts, key=lambda v: (counts[v], v))
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for name, version in sorted(versions.items()):
        if version is None:
            rows.append(
                {"getter": f"{name}.version", "expected": "", "actual": "no version()", "verdict": "not applicable"}
            )
            continue
        ok = version == required
        rows.append(
            {"getter": f"{name}.version", "expected": required, "actual": version, "verdict": "pass" if ok else "fail"}
        )
        if not ok:
            findings.append(
                Finding(
                    CHECK_ID,
                    f"{name}.version",
                    "error",
                    f"{name}.version() is {version}, the other modules' is {required}: the version handshake "
                    "between wired modules fails. Next step: deploy the matching release of "
                    f"{name}, or set [control] version",
                )
            )
    return rows, tuple(findings)
