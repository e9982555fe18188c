"""``lianxin token``: what an administrator hands to staff."""

from click.testing import CliRunner

from lianxin import auth
from lianxin.cli import main


def test_token_for_a_partys_handler_carries_the_party_signed_by_the_issuers_key():
    """``lianxin token`` signs with the accounts service's current key (from its database,
    where the private keys are); the token verifies with the issuer's published JWKS."""
    from lianxin import migrate
    from lianxin.keys import Keys
    from lianxin.services import config_for
    from services.accounts.issuer import jwks_reader

    migrate.upgrade("accounts")
    result = CliRunner().invoke(
        main,
        [
            "token",
            "--center",
            "yanminghu",
            "--role",
            "staff",
            "--sub",
            "wy-1",
            "--party",
            "property",
        ],
    )
    assert result.exit_code == 0, result.output
    verifier = auth.Verifier(Keys(jwks_reader(config_for("accounts"))))
    principal = verifier.decode(result.output.strip())
    assert (principal.sub, principal.role, principal.party) == ("wy-1", "staff", "property")


def test_token_refuses_a_party_for_other_roles_and_every_center_for_non_ops():
    runner = CliRunner()
    party = runner.invoke(
        main, ["token", "--center", "yanminghu", "--role", "resident", "--party", "property"]
    )
    assert party.exit_code == 2 and "only staff belong to a party" in party.output
    everywhere = runner.invoke(main, ["token", "--center", "*", "--role", "staff"])
    assert everywhere.exit_code == 2 and "only ops may hold every center" in everywhere.output


def test_migrate_check_says_whether_each_database_is_at_head_and_changes_nothing(monkeypatch):
    """What a Deployment's init container waits on (deploy/k8s): 0 only at head."""
    for name in ("TICKETS", "VOLUNTEERS"):
        monkeypatch.delenv(f"{name}_DB_URL", raising=False)  # SQLite under LIANXIN_VAR_DIR
    runner = CliRunner()
    empty = runner.invoke(main, ["migrate", "--check", "tickets"])
    assert empty.exit_code == 1, empty.output
    assert "tickets: database at nothing, code at " in empty.output
    assert runner.invoke(main, ["migrate", "--check", "tickets"]).exit_code == 1  # still behind

    assert runner.invoke(main, ["migrate", "tickets"]).exit_code == 0
    current = runner.invoke(main, ["migrate", "--check", "tickets"])
    assert current.exit_code == 0, current.output
    assert current.output.startswith("tickets: at head ")
    both = runner.invoke(main, ["migrate", "--check", "tickets", "volunteers"])
    assert both.exit_code == 1, both.output
    assert "tickets: at head" in both.output and "volunteers: database at nothing" in both.output


def test_migrate_check_of_an_unreachable_database_is_not_current(monkeypatch):
    # Nothing listens on port 1: the connection is refused at once.
    monkeypatch.setenv("EVENTS_DB_URL", "postgresql+psycopg2://lianxin:pw@127.0.0.1:1/events")
    result = CliRunner().invoke(main, ["migrate", "--check", "events"])
    assert result.exit_code == 1, result.output
    assert "events: cannot read the schema version" in result.output
    unknown = CliRunner().invoke(main, ["migrate", "--check", "billing"])
    assert unknown.exit_code == 2 and "billing: one of accounts, tickets" in unknown.output
