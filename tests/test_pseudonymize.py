import pandas as pd

from pipeline.pseudonymize import pseudonymize


def test_phone_formats_join_to_one_pseudonym():
    phones = pd.Series(["+86 138 1234 5678", "138-1234-5678", "13812345678", "0086 13812345678"])
    hashed = pseudonymize(phones, "phone", b"secret")
    assert hashed.nunique() == 1
    assert "13812345678" not in hashed.iloc[0]


def test_key_changes_pseudonym_and_missing_stays_missing():
    ids = pd.Series(["44010019760124347x", None])
    first = pseudonymize(ids, "id_number", b"k1")
    assert first.iloc[0] == pseudonymize(pd.Series(["44010019760124347X"]), "id_number", b"k1")[0]
    assert first.iloc[0] != pseudonymize(ids, "id_number", b"k2").iloc[0]
    assert pd.isna(first.iloc[1])


def test_different_numbers_differ():
    hashed = pseudonymize(pd.Series(["13812345678", "13812345679"]), "phone", b"k")
    assert hashed.nunique() == 2


def test_matches_the_standard_library_hmac():
    import hashlib
    import hmac

    for key in (b"k", b"a-longer-secret-key" * 8):
        expected = hmac.new(key, b"13812345678", hashlib.sha256).hexdigest()[:32]
        assert pseudonymize(pd.Series(["13812345678"]), "phone", key).iloc[0] == expected
