"""The deploy plan and what it produces: the [deploy] plan, the [manifest] dispatcher plan, the Safe/timelock
governance, the rehearsal that runs the plan on a chain, and the deployed-system model every later phase reads."""
