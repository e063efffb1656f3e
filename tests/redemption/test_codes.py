"""The member code itself: RFC 6238 digits, the disguised handle, tolerance and format."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from redcard.redemption import codes

KEY = codes.code_key("unit-test")
RFC_SECRET = b"12345678901234567890123456789012".hex()


def test_totp_matches_the_rfc_6238_sha256_vectors():
    # RFC 6238 appendix B (SHA-256, 8 digits); we show the last 6 digits
    assert codes.totp(RFC_SECRET, 59 // 30) == "119246"  # 46119246
    assert codes.totp(RFC_SECRET, 1111111109 // 30) == "084774"  # 68084774
    assert codes.totp(RFC_SECRET, 1234567890 // 30) == "819424"  # 91819424
    assert codes.totp(RFC_SECRET, 2000000000 // 30) == "698825"  # 90698825


@given(handle=st.integers(0, codes.HANDLE_SPACE - 1), step=st.integers(0, 2**40))
def test_the_handle_disguise_is_a_permutation(handle, step):
    masked = codes.mask_handle(handle, KEY, step)
    assert 0 <= masked < codes.HANDLE_SPACE
    assert codes.unmask_handle(masked, KEY, step) == handle


def test_codes_of_one_member_look_unrelated_from_step_to_step():
    secret = codes.new_secret()
    handle = 4_242_424
    seen = [codes.member_code(handle, secret, KEY, step) for step in range(1000, 1100)]
    assert all(len(c) == codes.CODE_LENGTH and c.isdigit() for c in seen)
    assert len({c[:7] for c in seen}) > 90  # the handle part changes too
    assert str(handle) not in "".join(c[:7] for c in seen[:5])


def test_a_code_resolves_within_one_step_only():
    secret = codes.new_secret()
    handle = random.randrange(codes.HANDLE_SPACE)
    code = codes.member_code(handle, secret, KEY, 5000)
    for now_step, ok in ((5000, True), (5001, True), (4999, True), (5002, False), (4998, False)):
        found = [
            c
            for c in codes.candidates(code, KEY, now_step)
            if c.handle == handle and codes.matches(c, secret)
        ]
        assert bool(found) is ok, now_step
        if found:
            assert found[0].step == 5000


def test_normalise_accepts_spaces_dashes_and_full_width_only():
    assert codes.normalise("1234 567-890 123") == "1234567890123"
    assert codes.normalise("１２３４５６７８９０１２３") == "1234567890123"
    assert codes.normalise("123456789012") is None
    assert codes.normalise("12345678901234") is None
    assert codes.normalise("12345678901x3") is None
    assert codes.normalise("١٢٣٤٥٦٧٨٩٠١٢٣") is None  # other scripts' digits are refused
