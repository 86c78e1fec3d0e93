"""The owner control plane (seed 000), part of phase postdeploy: the team's reviewed config files as
the expected values (PD-CFG), the change plan that would align the chain with them (PD-PLAN),
ownership by declared type (PD-CTL), the pause authority (PD-PSE), the handbook's rules (PD-RULE),
control events since deployment (PD-EVT), module wiring from the config (PD-WIRE) and the control
surface report (written by PD-CTL). Settings come from ``[control]`` in signoff.toml."""
