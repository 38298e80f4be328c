"""A `labelwire serve` child process for the SDK tests, shared by a module,
and a fresh client (its own API key, so its own jobs) for each test.

The blocking clients run their calls on a loop thread of their own, so the
server must not live on the test's event loop: it is a real process on a
real port, as a user's script meets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labelwire.client import AdminClient
from tests.serve_process import Served, serve


@dataclass
class Server:
    served: Served
    folder: Path
    admin_key: str

    @property
    def target(self) -> str:
        return self.served.target

    def new_key(self, name: str = "notebook") -> str:
        """A new client's API key."""
        with AdminClient(self.target, self.admin_key) as admin:
            return admin.create_api_key(name)

    def files_of(self, api_key: str) -> Path:
        """The client's own folder under the server's files root (the operator makes it)."""
        with AdminClient(self.target, self.admin_key) as admin:
            [key] = [k for k in admin.api_keys() if api_key.startswith(k.key_prefix)]
        folder = self.folder / "files" / key.client.removeprefix("clients/")
        folder.mkdir(parents=True, exist_ok=True)
        return folder


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("sdk-server")
    (folder / "files").mkdir()
    with serve(folder, "--files-root", str(folder / "files")) as served:
        admin_key = (folder / "labelwire-data" / "labelwire.db.admin-key").read_text().strip()
        yield Server(served=served, folder=folder, admin_key=admin_key)
        served.stop()


@pytest.fixture
def api_key(live: Server) -> str:
    return live.new_key()
