"""``lianxin token``: what an administrator hands to staff."""

from click.testing import CliRunner

from lianxin import auth
from lianxin.cli import main


def test_token_for_a_partys_handler_carries_the_party():
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
    principal = auth.decode(result.output.strip())
    assert (principal.sub, principal.role, principal.party) == ("wy-1", "staff", "property")


def test_token_refuses_a_party_for_other_roles_and_every_center_for_non_ops():
    runner = CliRunner()
    party = runner.invoke(
        main, ["token", "--center", "yanminghu", "--role", "resident", "--party", "property"]
    )
    assert party.exit_code == 2 and "only staff belong to a party" in party.output
    everywhere = runner.invoke(main, ["token", "--center", "*", "--role", "staff"])
    assert everywhere.exit_code == 2 and "only ops may hold every center" in everywhere.output
