"""The REST routes, one module per area: each has its ``ROUTES`` table of forwarded
operations and a class of the routes that do more than forward (``gateway.api``)."""
