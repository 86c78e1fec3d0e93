"""Evidence tables of PF-REH and the postdeploy checks (merged into signoff.evidence.collector.TABLES)."""

from __future__ import annotations

from signoff.evidence.spec import TableSpec

VERDICT = ("verdict", "Verdict")

PD_TABLES: dict[str, TableSpec] = {
    "PF-REH": TableSpec(
        "PF-REH: the deploy plan as it ran on the rehearsal chain",
        (("step", "Step"), ("result", "Deployed at"), ("gas", "Gas used"), ("transactions", "Transactions")),
        "order",
    ),
    "PD-CODE": TableSpec(
        "PD-CODE: on-chain runtime code against the artifact",
        (
            ("contract", "Contract"),
            ("address", "Address"),
            ("onchain_bytes", "On-chain bytes"),
            ("artifact_bytes", "Artifact bytes"),
            ("first_difference", "First difference"),
            ("metadata", "Metadata"),
            ("reason", "Reason"),
            VERDICT,
        ),
        "contract",
    ),
    "PD-CODE-immutables": TableSpec(
        "PD-CODE: immutables read from on-chain code against the expected constructor arguments",
        (
            ("contract", "Contract"),
            ("immutable", "Immutable"),
            ("onchain", "On chain"),
            ("expected", "Expected"),
            VERDICT,
        ),
        "contract",
    ),
    "PD-OWN": TableSpec(
        "PD-OWN: owners and admins of every contract",
        (
            ("contract", "Contract"),
            ("authority", "Authority"),
            ("holder", "Holder"),
            ("expected", "Expected"),
            ("pending", "Pending transfer"),
            VERDICT,
        ),
        "contract",
    ),
    "PD-OWN-governance": TableSpec(
        "PD-OWN: the governance itself",
        (
            ("governance", "Governance"),
            ("kind", "Kind"),
            ("owners", "Owners"),
            ("threshold", "Threshold"),
            ("min_delay", "Min delay (s)"),
            ("required", "Required"),
            VERDICT,
        ),
        "governance",
    ),
    "PD-ACL": TableSpec(
        "PD-ACL: privileged functions, simulated for an outsider and for the rightful role",
        (
            ("function", "Function"),
            ("role", "Role"),
            ("as_role", "As role"),
            ("as_outsider", "As outsider"),
            VERDICT,
        ),
        "function",
    ),
    "PD-ACL-discovery": TableSpec(
        "PD-ACL: every state-changing function simulated from a fresh unprivileged address",
        (
            ("function", "Function"),
            ("examples", "Examples"),
            ("succeeded", "Succeeded"),
            ("listed", "Listed public"),
            ("calldata", "Calldata that succeeded"),
            ("effect", "Sent in a snapshot, it"),
            VERDICT,
        ),
        "function",
    ),
    "PD-REE": TableSpec(
        "PD-REE: re-entry from an attacker contract's callback",
        (
            ("contract", "Contract"),
            ("entry", "Entry point"),
            ("reentered", "Re-entered"),
            ("inner", "Inner call"),
            ("reason", "Inner revert"),
            VERDICT,
        ),
        "contract",
    ),
    "PD-WIRE": TableSpec(
        "PD-WIRE: module address getters",
        (("getter", "Getter"), ("expected", "Expected"), ("actual", "Actual"), VERDICT),
        "getter",
    ),
    "PD-C2": TableSpec(
        "PD-C2: CREATE2 deployments",
        (
            ("contract", "Contract"),
            ("factory", "Factory"),
            ("salt", "Salt"),
            ("deployed", "Deployed"),
            ("factory_predict", "factory.predict()"),
            ("computed", "keccak256(0xff ‖ factory ‖ salt ‖ initCodeHash)"),
            ("idempotent", "Repeat deploy"),
            VERDICT,
        ),
        "contract",
    ),
    "PD-C2-networks": TableSpec(
        "PD-C2: the same addresses on every configured network",
        (("contract", "Contract"), ("network", "Network"), ("address", "Address"), VERDICT),
        "contract",
    ),
    "PD-DSP": TableSpec(
        "PD-DSP: dispatcher lifecycle",
        (("aspect", "Aspect"), ("expected", "Expected"), ("observed", "Observed"), VERDICT),
        "order",
    ),
    "PD-DSP-routes": TableSpec(
        "PD-DSP: every [[diamonds]] facet function routed to its facet, nothing else routed",
        (
            ("dispatcher", "Dispatcher"),
            ("selector", "Selector"),
            ("function", "Function"),
            ("expected", "Expected"),
            ("observed", "Observed"),
            VERDICT,
        ),
        "selector",
    ),
    "PD-GAS": TableSpec(
        "PD-GAS: gas from receipts against budgets and the committed baseline",
        (
            ("operation", "Operation"),
            ("budget", "Budget"),
            ("measured", "Measured"),
            ("baseline", "Baseline"),
            ("delta", "Delta vs baseline"),
            VERDICT,
        ),
        "order",
    ),
    "PD-EMG": TableSpec(
        "PD-EMG: emergency and governance-rotation drills",
        (
            ("drill", "Drill"),
            ("contract", "Contract"),
            ("step", "Step"),
            ("expected", "Expected"),
            ("observed", "Observed"),
            VERDICT,
        ),
        "order",
    ),
    "PD-CFG": TableSpec(
        "PD-CFG: the reviewed config files against the chain",
        (
            ("file", "File"),
            ("key", "Key"),
            ("getter", "Getter"),
            ("unit", "Unit"),
            ("expected", "Expected (config)"),
            ("onchain", "On chain"),
            VERDICT,
        ),
        "file",
    ),
    "PD-PLAN": TableSpec(
        "PD-PLAN: the change plan (setter calls that would bring the chain to the config)",
        (
            ("key", "Key"),
            ("call", "Call"),
            ("route", "Route"),
            ("signer", "Must be signed by"),
            ("simulated", "Simulated"),
            VERDICT,
        ),
        "order",
    ),
    "PD-CTL": TableSpec(
        "PD-CTL: ownership by the type the owner-control file declares",
        (
            ("module", "Module"),
            ("address", "Address"),
            ("declared", "Declared type"),
            ("detected", "Type in the ABI"),
            ("holder", "Holder"),
            ("expected", "Expected"),
            ("pending", "Pending transfer"),
            ("controlled_by", "Finally controlled by"),
            ("status", "Status"),
            VERDICT,
        ),
        "module",
    ),
    "PD-PSE": TableSpec(
        "PD-PSE: the pause authority's hold on every module",
        (("module", "Module"), ("holder", "Holder"), ("pauser", "Pauser"), ("paused", "State"), VERDICT),
        "module",
    ),
    "PD-PSE-drill": TableSpec(
        "PD-PSE: pause-all drill",
        (("step", "Step"), ("expected", "Expected"), ("observed", "Observed"), VERDICT),
        "order",
    ),
    "PD-RULE": TableSpec(
        "PD-RULE: treasury never equals an owner or a governance",
        (("key", "Key"), ("treasury", "Treasury"), ("clash", "Also"), VERDICT),
        "key",
    ),
    "PD-MON": TableSpec(
        "PD-MON: the dispatcher's commits and activations (late after eta + grace + 300 s)",
        (
            ("commit", "Commit"),
            ("committed_block", "Committed at block"),
            ("eta", "Eta"),
            ("activated_block", "Activated at block"),
            ("after_eta", "Seconds after eta"),
            VERDICT,
        ),
        "order",
    ),
    "PD-EVT": TableSpec(
        "PD-EVT: control and roster events since deployment",
        (
            ("block", "Block"),
            ("contract", "Contract"),
            ("event", "Event"),
            ("to", "To"),
            ("why", "Expected as"),
            VERDICT,
        ),
        "order",
    ),
}
