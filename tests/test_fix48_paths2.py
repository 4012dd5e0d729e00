"""Review 48 (paths, names, environment): long path names, non-UTF-8 streams, ``sslpassword``, safetensors modes,
``~`` in path options."""

from __future__ import annotations

from nasforge.experiment.storage.display import display_url, mask_passwords, without_password

_PG = "postgresql+psycopg://bob:p%40ss@127.0.0.1:5432/nf?sslpassword=TopSecret9&sslmode=disable"


def test_sslpassword_is_masked_and_never_recorded():
    assert "TopSecret9" not in display_url(_PG) and "sslpassword=***&sslmode=disable" in display_url(_PG)
    assert without_password(_PG) == "postgresql+psycopg://bob@127.0.0.1:5432/nf?sslmode=disable"
    assert without_password("postgresql://b@h/nf?sslmode=allow&SSLPassword=x") == "postgresql://b@h/nf?sslmode=allow"
    message = mask_passwords(f"cannot open storage '{_PG.replace('bob:p%40ss', 'bob')}'")
    assert "TopSecret9" not in message and "sslpassword=***" in message
