"""The gateway's upload receiver streaming a multipart body into PostgreSQL, in this process."""

from itertools import count
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from starlette.requests import Request

from services.api_gateway import uploads
from services.api_gateway.errors import ApiError
from shared.access import EVERYTHING
from shared.contracts import Principal
from shared.db import imports
from shared.db.pool import tenant_transaction


def multipart_request(content: bytes, **fields: str) -> Request:
    """A Starlette request whose body arrives in 1000-byte pieces, as from a slow client."""
    built = httpx.Request(
        "POST", "http://test/", files={"file": ("numbers.csv", content)}, data=fields
    )
    body = built.read()
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    headers = [(b"content-type", built.headers["content-type"].encode())]

    async def receive() -> dict[str, Any]:
        piece = pieces.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


async def store(
    pool: asyncpg.Pool, tenant: str, principal: Principal, request: Request, max_bytes: int
) -> tuple[uploads.Upload, bytes]:
    """Receive into a new task's file in one transaction, as the upload route does; the stored
    file read back."""
    task_id, seq = uuid4(), count()
    async with tenant_transaction(pool, tenant) as conn:
        await imports.create_task(
            conn,
            task_id=task_id,
            tenant_id=tenant,
            principal=principal.model_dump(mode="json"),
            file_name="upload",
            idempotency_key=None,
        )

        async def write(data: bytes) -> None:
            await imports.add_file_chunk(conn, task_id=task_id, seq=next(seq), data=data)

        received = await uploads.receive(
            request, max_bytes=max_bytes, write=write, chunk_bytes=4096
        )
    async with tenant_transaction(pool, tenant) as conn:
        stored = b"".join([chunk async for chunk in imports.file_chunks(conn, task_id=task_id)])
    return received, stored


async def test_the_file_is_stored_byte_for_byte_in_chunks_with_the_form_fields(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    content = b"Caller Number\n" + b"".join(b"%010d\n" % n for n in range(3000))
    request = multipart_request(content, org_unit_id="sales", description="hotline")
    received, stored = await store(pool, tenant, service, request, max_bytes=1 << 20)
    assert stored == content
    assert (received.file_name, received.size) == ("numbers.csv", len(content))
    assert received.fields == {"org_unit_id": "sales", "description": "hotline"}


async def test_a_file_over_the_limit_is_refused_with_413_and_leaves_nothing(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    request = multipart_request(b"1" * 50_000)
    with pytest.raises(ApiError) as refused:
        await store(pool, tenant, service, request, max_bytes=10_000)
    assert refused.value.status == 413
    async with tenant_transaction(pool, tenant) as conn:
        listed, total = await imports.list_tasks(
            conn, tenant_id=tenant, scope=EVERYTHING, limit=10, offset=0
        )
    assert total == 0 and listed == []
