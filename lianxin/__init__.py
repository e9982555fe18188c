"""The Lianxin kit: what every service and the gateway share.

Config, database sessions, the event contracts, the transactional outbox, the
idempotent event handler, metrics, authentication helpers and errors live here,
written once. The kit never imports a service.
"""
