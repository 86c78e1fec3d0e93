"""Phase e2e_flows (suites/e2e_flows/): a deployed system as its users meet it (the marketplace runbook,
seed 004). So far its service's health judged by the body (FL-HLT) and a bounded latency and
error-rate probe of named endpoints (FL-LAT), against a service signoff starts with the team's own
command or one already running. Settings come from ``[service]``."""
