"""The Proof-of-Usefulness broker side of signoff: database provisioning, migration
rehearsal, and a client for the broker's HTTP/WebSocket API.

Nothing here is imported by the artifact-only preflight: psycopg, httpx and websockets load
inside the e2e_pou fixtures only.
"""
