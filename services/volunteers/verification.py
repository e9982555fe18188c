"""Verification codes of service-hour certificates (证书验证码): anyone holding a certificate
checks at ``/verify/<code>`` that it is genuine, for whom, for how many hours.

A code is 12 random Crockford base32 characters (60 bits: guessing one among even millions
of certificates takes ~10¹¹ tries, and tries are rate-limited) and a check character (ISO
7064 mod 37, as Crockford defines it), so a mistyped code is told apart from a forged one
without asking the database. It is printed in groups of four (``7Q2M-K9XD-4RTA-P``); reading
ignores case, dashes and spaces, and takes O for 0 and I / L for 1.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.errors import InvalidInput
from services.volunteers.exceptions import CertificateNotFound

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Crockford's check symbols: the alphabet, then five more for the values 32–36.
CHECK_SYMBOLS = ALPHABET + "*~$=U"
BODY_LENGTH = 12
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-]")


def _check(body: str) -> str:
    value = 0
    for char in body:
        value = (value * 32 + ALPHABET.index(char)) % 37
    return CHECK_SYMBOLS[value]


def new_code() -> str:
    """A fresh code: 12 random characters and the check character (13 in all, stored)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + _check(body)


def display(code: str) -> str:
    """``7Q2MK9XD4RTAP`` → ``7Q2M-K9XD-4RTA-P`` (as printed)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(text: object) -> str:
    """The stored form of a code as typed or scanned, or :class:`InvalidInput` (Chinese) for
    something that is no code at all or has a wrong check character (a typo)."""
    raw = _SEPARATORS.sub("", text).upper().translate(_READ_AS) if isinstance(text, str) else ""
    if len(raw) != BODY_LENGTH + 1 or any(c not in ALPHABET for c in raw[:-1]):
        raise InvalidInput(
            "验证码格式有误：应为证书上印的 13 位字母数字（如 7Q2M-K9XD-4RTA-P）",
            code="INVALID_VERIFICATION_CODE",
            fields={"code": ["格式有误"]},
        )
    if raw[-1] != _check(raw[:-1]):
        raise InvalidInput(
            "验证码校验位不符，请核对是否输错",
            code="INVALID_VERIFICATION_CODE",
            fields={"code": ["校验位不符"]},
        )
    return raw


def mask_name(name: str) -> str:
    """A name as a stranger may read it: the surname and the last character (``张*强``,
    ``刘*``), enough to match the certificate in hand."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def find_certificate(*, db_session: Session, code: str) -> tuple[Any, Any]:
    """The milestone and volunteer a (normalized) code names, or :class:`CertificateNotFound`
    — for any code no certificate of this system carries."""
    from services.volunteers.models import Milestone, Volunteer

    found = db_session.execute(
        select(Milestone, Volunteer)
        .join(Volunteer, Volunteer.id == Milestone.volunteer_id)
        .where(Milestone.verify_code == code)
    ).first()
    if found is None:
        raise CertificateNotFound(
            "未找到该验证码对应的证书：证书可能不是本系统出具，或验证码有误",
            code="CERTIFICATE_NOT_GENUINE",
        )
    return found[0], found[1]
