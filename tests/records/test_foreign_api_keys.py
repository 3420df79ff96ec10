"""A SendGrid API key inside a record is masked before storage, whoever's key it is.

The tenant's own credential is masked in every form (``echoed_secrets``). Another key (one a
user pasted as an API key's name, a subuser's key in a template's code sample) is still a
SendGrid API key: the rejects table already masks it (``scrub``), the staged record must too.
"""

from __future__ import annotations

import hashlib
import secrets

import msgspec
import pytest

from sendgrid_elt import catalog
from sendgrid_elt.records import Shaper

#: Another key of the account, not the credential the pipeline reads with.
FOREIGN = f"SG.{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(32)}"
OWN_FORMS = ("the-tenant-own-credential-form-0123456789",)


@pytest.mark.parametrize(
    ("stream", "record"),
    [
        ("api_keys", {"api_key_id": "k1", "name": f"prod {FOREIGN}", "scopes": []}),
        ("templates", {"id": "t1", "name": "howto", "versions": [{"html": f"key={FOREIGN}"}]}),
    ],
)
def test_another_api_key_in_a_record_is_masked(stream: str, record: dict) -> None:
    shaper = Shaper(catalog.get(stream), secrets=lambda: OWN_FORMS)
    page = shaper.rows([record, {**record, catalog.get(stream).primary_key[0]: "clean"}], "", None)
    masked, clean = page[0]
    assert FOREIGN not in masked[3].decode()
    assert FOREIGN.split(".")[2] not in masked[3].decode()
    assert "***" in masked[3].decode()
    assert masked[4] == hashlib.md5(masked[3], usedforsecurity=False).hexdigest()
    assert clean[4] == hashlib.md5(clean[3], usedforsecurity=False).hexdigest()
    stored = msgspec.json.decode(masked[3])
    assert stored.get("api_key_id", stored.get("id")) == record.get("api_key_id", record.get("id"))


def test_a_page_without_keys_is_stored_as_read() -> None:
    spec = catalog.get("api_keys")
    record = {"api_key_id": "SG.k1", "name": "SG.mail.relay", "scopes": []}  # no key's shape
    shaper = Shaper(spec, secrets=lambda: OWN_FORMS)
    [row], _ = shaper.rows([record], "", None)
    assert msgspec.json.decode(row[3]) == record


def test_a_key_in_the_record_key_is_masked_too() -> None:
    spec = catalog.get("templates")
    shaper = Shaper(spec, secrets=lambda: OWN_FORMS)
    [row], _ = shaper.rows([{"id": FOREIGN, "name": "x"}], "", None)
    assert FOREIGN not in row[2]
    assert FOREIGN not in row[3].decode()


def test_a_key_in_a_reject_s_labels_is_masked(pg) -> None:
    from sendgrid_elt.rejects import Reject, save_rejects
    from sendgrid_elt.settings import STAGING_SCHEMA

    reject = Reject(FOREIGN, FOREIGN, FOREIGN, f"refused {FOREIGN}", f'{{"id": "{FOREIGN}"}}')
    save_rejects(pg, "acme", "templates", "r1", [reject])
    [row] = pg.execute(f"select r::text from {STAGING_SCHEMA}.rejects r").fetchall()  # noqa: S608
    assert FOREIGN not in row[0]
    assert FOREIGN.split(".")[2] not in row[0]
