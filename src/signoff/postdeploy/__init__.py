"""Phase postdeploy (suites/postdeploy/): what is on chain after deploying. Checks PD-CODE, PD-OWN, PD-ACL,
PD-REE, PD-WIRE, PD-C2, PD-DSP, PD-GAS, PD-EMG, their settings, fixtures and deployments readers; the owner
control plane (PD-CFG, PD-PLAN, PD-CTL, PD-PSE, PD-RULE, PD-EVT) in :mod:`signoff.postdeploy.control`."""
