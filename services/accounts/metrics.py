"""What the accounts service counts, declared once (the kit adds the ``service`` label)."""

from __future__ import annotations

from lianxin.metrics import counter

SIGN_INS = counter(
    "lianxin_accounts_sign_ins_total",
    "Sign-in attempts by method (password, code) and outcome (ok, refused, locked)",
    ("center", "method", "outcome"),
)
CODES_SENT = counter(
    "lianxin_accounts_codes_sent_total",
    "Sign-in codes asked for, by outcome (sent; no_volunteer: nothing sent)",
    ("center", "outcome"),
)
