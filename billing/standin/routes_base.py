"""What the request handler (billing/standin/server.py, Handler) gives its route mixins, declared
once so that type checking sees it; nothing here exists at run time."""

from email.message import Message
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from billing.standin.state import StandinState


class RoutesBase:
    if TYPE_CHECKING:
        headers: Message

        @property
        def state(self) -> StandinState: ...

        def _read_body(self) -> str: ...

        def _send(
            self, status: int, body: bytes, content_type: str, headers: Any = None
        ) -> None: ...

        def _json(self, status: int, data: Any, headers: Any = None) -> None: ...

        def _redirect(self, url: str) -> None: ...
