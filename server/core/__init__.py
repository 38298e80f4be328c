"""The core: every operation a caller can ask for, in domain terms.

The gRPC servicers call these methods and nothing else; so do the CLI and the
demo. `base` holds what the services share (names, pages, reading jobs);
`jobs` the owner's side; `work` the worker's side; `labels` what comes out;
`service` wires them into `Core`, with the background work.
"""

from labelwire.server.core.base import ADMIN, parse_name, parse_task_name
from labelwire.server.core.jobs import Upload
from labelwire.server.core.service import Core

__all__ = ["ADMIN", "Core", "Upload", "parse_name", "parse_task_name"]
