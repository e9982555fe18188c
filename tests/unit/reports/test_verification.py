"""Certificate verification codes: unguessable, typed forgivingly, a typo told apart from a
forgery without asking the database; names shown to strangers masked."""

import pytest

from lianxin.errors import InvalidInput
from services.volunteers import verification as v


def test_a_new_code_is_13_characters_of_crockford_base32_and_checks():
    codes = {v.new_code() for _ in range(2000)}
    assert len(codes) == 2000  # 60 random bits: no repeats
    for code in list(codes)[:50]:
        assert len(code) == 13 and set(code[:-1]) <= set(v.ALPHABET)
        assert v.normalize(code) == code


def test_a_code_is_read_as_typed_from_paper():
    code = v.new_code()
    typed = v.display(code).lower().replace("0", "o").replace("1", "l")
    assert v.normalize(f" {typed} ") == code
    assert v.display(code).count("-") == 3


def test_one_wrong_character_is_a_typo_not_a_lookup():
    code = v.new_code()
    wrong = ("1" if code[3] != "1" else "2").join([code[:3], code[4:]])
    with pytest.raises(InvalidInput) as refused:
        v.normalize(wrong)
    assert "校验位不符" in refused.value.detail


@pytest.mark.parametrize("text", ["", "ABC", "N53KQFNV1Y8JRX", "N53K QFNV 1Y8J !", 12345, None])
def test_what_is_no_code_at_all_is_refused_in_chinese(text):
    with pytest.raises(InvalidInput) as refused:
        v.normalize(text)
    assert refused.value.code == "INVALID_VERIFICATION_CODE"


def test_names_are_masked_but_recognisable():
    assert v.mask_name("张志强") == "张*强"
    assert v.mask_name("刘慧") == "刘*"
    assert v.mask_name("欧阳娜娜") == "欧**娜"
