"""The reports service's contract: ``operations`` (the monthly report of a center and the
county view, as JSON and as files). It publishes no events yet (see the README's "Reports")."""
