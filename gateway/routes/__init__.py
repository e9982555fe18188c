"""The REST routes, one module per backend service; ``GatewayService`` inherits them all."""

STAFF = ("staff", "admin")
ADMIN = ("admin",)
MEMBERS = ("resident", "volunteer", "staff", "admin")
