"""The notify service's contract: ``operations`` (what it offers over RPC: the operation
table, payload and answer schemas). It publishes no events."""
