"""Benchmark of FL-SEARCH: how fast it runs and how reliably it finds the over-payout.

For each seed, the search of fixtures/defective/market-escrow-overpays (the reference's own [search]
settings: 100 sequences of up to 25 steps) runs on a fresh rehearsal and reports after how many
sequences it found the breach, the steps it ran, the time, and the length of the shrunk sequence.
The reference itself (no breach: every sequence runs) is timed too. eth-tester by default; anvil
with --network anvil (needs `npm ci`).

    python bench/bench_search.py [--seeds 5] [--network eth-tester|anvil]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from signoff.chain.backends import Chain
from signoff.deploy.rehearsal import Operator, rehearse
from signoff.flows import invariants as inv
from signoff.flows import search as srch
from signoff.flows.declared import event_names
from signoff.session import SessionSettings, resolve_session

REPO = Path(__file__).resolve().parents[1]
OVERPAYS = REPO / "fixtures" / "defective" / "market-escrow-overpays" / "signoff.toml"
REFERENCE = REPO / "fixtures" / "reference-market" / "signoff.toml"


@contextlib.contextmanager
def chain_for(network: str) -> Iterator[Chain]:
    if network == "anvil":
        from signoff.chain import Endpoint
        from signoff.chain.anvil import AnvilNode, find_anvil
        from signoff.chain.backends import open_endpoint

        with AnvilNode(find_anvil(REPO), chain_id=31337) as node:
            yield open_endpoint(Endpoint("anvil", node.url, 31337, "anvil"))
        return
    from signoff.chain.backends import open_eth_tester

    chain = open_eth_tester()
    try:
        yield chain
    finally:
        chain.close()


def one(settings: SessionSettings, network: str, seed: int) -> dict[str, object]:
    assert settings.deploy_plan is not None
    with chain_for(network) as chain:
        system = rehearse(chain, settings.target, settings.artifacts, settings.deploy_plan, governance=None)
        operator = Operator(chain, system, abis=[c.abi for c in settings.artifacts.contracts])
        checks = [inv.prepare(invariant) for invariant in settings.invariants]
        topics = event_names([c.abi for c in settings.artifacts.contracts])
        started = time.perf_counter()
        report = srch.search(operator, settings.flows, checks, dataclasses.replace(settings.search, seed=seed), topics)
        seconds = time.perf_counter() - started
    breach = report.breach
    return {
        "seed": seed,
        "sequences": report.sequences,
        "steps": report.steps,
        "seconds": round(seconds, 1),
        "steps_per_s": round(report.steps / seconds, 1) if seconds else 0.0,
        "shrunk": len(breach.moves) if breach else None,
        "how": breach.how.rsplit(": ", 1)[-1] if breach else "no breach",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--network", choices=("eth-tester", "anvil"), default="eth-tester")
    args = parser.parse_args()
    overpays = resolve_session(OVERPAYS, args.network)
    print("| target | network | seed | sequences | steps | seconds | steps/s | shrunk to | found |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for seed in range(args.seeds):
        row = one(overpays, args.network, seed)
        rows.append(row)
        print(
            f"| market-escrow-overpays | {args.network} | {seed} | {row['sequences']} | {row['steps']} | "
            f"{row['seconds']} | {row['steps_per_s']} | {row['shrunk']} | {row['how']} |",
            flush=True,
        )
    row = one(resolve_session(REFERENCE, args.network), args.network, 0)
    print(
        f"| reference-market | {args.network} | 0 | {row['sequences']} | {row['steps']} | {row['seconds']} | "
        f"{row['steps_per_s']} | - | {row['how']} |"
    )
    found = [r for r in rows if r["shrunk"] is not None]
    print(
        f"\nfound in {len(found)} of {len(rows)} seeds; median sequences to the breach "
        f"{statistics.median([int(r['sequences']) for r in found]) if found else '-'}"
    )


if __name__ == "__main__":
    main()
