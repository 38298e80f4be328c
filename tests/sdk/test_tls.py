"""`tls=True` (with the server's certificate as the root) talks TLS; a
plaintext client to a TLS port fails with the SDK's Unavailable."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelwire.client import AdminClient, Client, Unavailable
from tests.serve_process import serve
from tests.test_server_surface import self_signed


def test_the_tls_flag(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    root = cert.read_bytes()
    with serve(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key)) as served:
        admin_key = (tmp_path / "labelwire-data" / "labelwire.db.admin-key").read_text().strip()
        with AdminClient(served.target, admin_key, tls=True, root_certificates=root) as admin:
            api_key = admin.create_api_key("over-tls")
        with Client(served.target, api_key, tls=True, root_certificates=root) as lw:
            assert lw.create_job("secure", classes=["a", "b"]).state == "draft"
        with Client(served.target, api_key, timeout=5) as plain, pytest.raises(Unavailable):
            plain.jobs().to_list()
        served.stop()
