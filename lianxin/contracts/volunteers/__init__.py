"""The volunteers service's contract: ``operations`` (what it offers over RPC: the operation
table, payload and answer schemas) and ``events`` (the catalogue of what it publishes)."""
