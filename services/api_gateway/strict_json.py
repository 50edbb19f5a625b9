"""JSON bodies read strictly: an object that names a key twice is refused, not half read.

`json.loads` keeps the last of two equal keys, so `{"numbers": ["1"], "numbers": ["2"]}`
would add "2" and drop "1" without a word. Every route of the API reads its body here.
"""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            # FastAPI answers a JSONDecodeError as 422 `json_invalid`, with this text.
            raise json.JSONDecodeError(f"the key {key!r} appears more than once", "", 0)
        seen[key] = value
    return seen


def loads(body: bytes) -> Any:
    """`json.loads` that raises JSONDecodeError for an object with a repeated key."""
    return json.loads(body, object_pairs_hook=_no_repeated_keys)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """The route class of every API router: its JSON body is read by `loads`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
