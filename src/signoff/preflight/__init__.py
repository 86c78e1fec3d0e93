"""Phase preflight (suites/preflight/): artifacts, configuration and network readiness before deploying.
Checks PF-SIZE, PF-SEL, PF-ABI, PF-COMP, PF-ADDR, PF-MRK, PF-NET (PF-REH runs the deploy plan)."""
