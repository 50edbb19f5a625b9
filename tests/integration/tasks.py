"""A pending import task as the gateway creates it, for the integration tests of its states."""

from uuid import UUID

from shared.db import Connection, imports


async def create_pending(conn: Connection, *, tenant: str, task_id: UUID) -> None:
    await imports.create_task(
        conn,
        task_id=task_id,
        tenant_id=tenant,
        principal={"sub": "t", "role": "tenant_admin"},
        file_name="f.csv",
        idempotency_key=None,
    )
