"""Bulk import: the template, uploads, import tasks, their reports, cancelling."""

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from functools import lru_cache
from itertools import count
from typing import Annotated, Literal
from uuid import UUID, uuid4

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError

from services.api_gateway import uploads
from services.api_gateway.auth import CurrentUser, TenantCaller
from services.api_gateway.deps import (
    AppSettings,
    Bus,
    Pool,
    UploadPool,
    UploadSlots,
    policy_transaction,
    tenant_policy,
)
from services.api_gateway.errors import ApiError, not_found, refused
from services.api_gateway.schemas import ImportTaskOut, ImportTaskPage
from services.api_gateway.strict_json import StrictJsonRoute
from shared.access import Operation, TenantPolicy, write_refusal
from shared.contracts import StartImport, org_unit_adapter
from shared.db import Connection, imports
from shared.db.imports import ImportTask, Status
from shared.db.pool import tenant_transaction
from shared.rules import check_description
from shared.spreadsheets import template_xlsx

UPLOAD_PATH = "/api/v1/caller-number-imports"
# The form's own framing and small fields, on top of the file's bytes.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
router = APIRouter(prefix=UPLOAD_PATH, tags=["imports"], route_class=StrictJsonRoute)
log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@lru_cache
def _template() -> bytes:
    return template_xlsx()


@router.get("/template", response_class=Response)
async def download_template() -> Response:
    headers = {"Content-Disposition": 'attachment; filename="caller-numbers-template.xlsx"'}
    return Response(_template(), media_type=XLSX, headers=headers)


def task_out(task: ImportTask) -> ImportTaskOut:
    return ImportTaskOut.model_validate(task, from_attributes=True)


MAX_IDEMPOTENCY_KEY = 200


@router.post(
    "",
    status_code=202,
    responses={
        429: {
            "description": "The tenant has as many uploads in progress as it may "
            "(`too_many_uploads`); retry after `Retry-After` seconds.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        }
    },
)
async def upload(
    request: Request,
    user: CurrentUser,
    pool: Pool,
    upload_pool: UploadPool,
    bus: Bus,
    settings: AppSettings,
    upload_slots: UploadSlots,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> ImportTaskOut:
    """Multipart `file` (.xlsx or .csv), optional `org_unit_id` and `description` for the rows
    whose Organization Unit and Description cells are empty; optional `dry_run` and
    `confirm_duplicate` (`true` or `false`, the default).

    The task is created at once and the file read in the background. With `dry_run=true` it
    checks every row and writes no number: its counters and report are what an import would
    reach, and `POST /{id}/import` imports the same file for real. An upload of a file whose
    bytes the tenant imported within IMPORT_DUPLICATE_WINDOW_DAYS (a real import that did not
    fail, one the caller may see) is 409 `duplicate_file`, nothing stored, with the earlier
    task in `details.earlier_task`; send it again with `confirm_duplicate=true` to import it
    anyway. A dry run is never refused so: it changes nothing. An `Idempotency-Key`
    (1 to 200 characters, else 400) is the caller's own: the same caller sending the same
    upload with it again gets the same task; another upload with it is 422
    `idempotency_key_reused`. 429 with `Retry-After` while the tenant already has
    UPLOAD_MAX_CONCURRENT_PER_TENANT uploads in progress.
    """
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        message = f"An Idempotency-Key has 1 to {MAX_IDEMPOTENCY_KEY} characters."
        raise ApiError(400, "invalid_idempotency_key", message)
    policy = await tenant_policy(pool, user)
    if refusal := write_refusal(user.principal, Operation.IMPORT, policy):
        raise refused(refusal)
    max_bytes = settings.import_max_upload_bytes  # the whole body is capped in limits.py
    with upload_slots.hold(user.tenant_id):
        if idempotency_key and (known := await _known(pool, user, idempotency_key)):
            return await _replay(pool, user, policy, known, await _fingerprint(request, max_bytes))
        task, sent_again = await _store(
            request, upload_pool, user, policy, idempotency_key, settings
        )
    if sent_again is not None:  # another request created it with the same key a moment ago
        return await _replay(pool, user, policy, task, sent_again)
    await _start(bus, user, task)
    return task_out(task)


async def _start(bus: Bus, user: TenantCaller, task: ImportTask) -> None:
    try:
        command = StartImport(tenant_id=user.tenant_id, principal=user.principal, task_id=task.id)
        await bus.import_commands.publish(
            command.model_dump_json().encode(), key=user.tenant_id.encode()
        )
    except KafkaError as error:  # the task is stored: a worker takes it over after a grace period
        log.warning("import %s: start command not published (%r)", task.id, error)


async def _known(pool: Pool, user: TenantCaller, key: str) -> ImportTask | None:
    async with tenant_transaction(pool, user.tenant_id) as conn:
        return await imports.task_by_idempotency_key(
            conn, tenant_id=user.tenant_id, sub=user.principal.sub, key=key
        )


class _Fingerprint:
    """SHA-256 of what an upload sends: the file's bytes, then its OU and description."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    async def add(self, data: bytes) -> None:
        self._hash.update(data)

    def of(self, org_unit_id: str | None, description: str) -> str:
        self._hash.update(b"\0" + json.dumps([org_unit_id, description]).encode())
        return self._hash.hexdigest()


async def _fingerprint(request: Request, max_bytes: int) -> str:
    """Read an upload sent again, keeping nothing of it but its fingerprint."""
    fingerprint = _Fingerprint()
    received = await uploads.receive(request, max_bytes=max_bytes, write=fingerprint.add)
    return fingerprint.of(
        _form_org_unit(received.fields.get("org_unit_id")),
        received.fields.get("description", ""),
    )


async def _replay(
    pool: Pool, user: TenantCaller, policy: TenantPolicy, task: ImportTask, fingerprint: str
) -> ImportTaskOut:
    """The task an Idempotency-Key made, if this is the same upload and the caller may see it."""
    async with tenant_transaction(pool, user.tenant_id) as conn:
        visible = await imports.get_task_in_scope(
            conn,
            tenant_id=user.tenant_id,
            scope=policy.scope_of(user.principal),
            task_id=task.id,
        )
    # A task still being uploaded has no fingerprint yet: the same request, sent twice at once.
    if visible is None or task.upload_sha256 not in (None, fingerprint):
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for another upload; use a new key for a new file.",
        )
    return task_out(visible)


async def _store(
    request: Request,
    pool: Pool,
    user: TenantCaller,
    policy: TenantPolicy,
    idempotency_key: str | None,
    settings: AppSettings,
) -> tuple[ImportTask, str | None]:
    """The task and its file in one transaction: a failed upload leaves nothing behind.

    If the key was taken a moment ago, that task and this upload's fingerprint instead."""
    task_id, seq, fingerprint, content = uuid4(), count(), _Fingerprint(), hashlib.sha256()
    max_bytes = settings.import_max_upload_bytes

    async with tenant_transaction(pool, user.tenant_id) as conn:
        created = await imports.create_task(
            conn,
            task_id=task_id,
            tenant_id=user.tenant_id,
            principal=user.principal.model_dump(mode="json"),
            file_name="upload",
            idempotency_key=idempotency_key,
        )
        if created is None:
            known = await imports.task_by_idempotency_key(
                conn, tenant_id=user.tenant_id, sub=user.principal.sub, key=idempotency_key or ""
            )
            assert known is not None
            return known, await _fingerprint(request, max_bytes)

        async def write(data: bytes) -> None:
            await fingerprint.add(data)
            content.update(data)
            await imports.add_file_chunk(conn, task_id=task_id, seq=next(seq), data=data)

        received = await uploads.receive(request, max_bytes=max_bytes, write=write)
        if received.file_name is None:
            raise ApiError(422, "validation_error", "The form has no `file` part.")
        org_unit_id = _form_org_unit(received.fields.get("org_unit_id"))
        description = received.fields.get("description", "")
        dry_run = _form_flag(received.fields, "dry_run")
        if refusal := write_refusal(
            user.principal, Operation.IMPORT, policy, target_org_units=(org_unit_id,)
        ) or check_description(description):
            raise refused(refusal)
        if not dry_run and not _form_flag(received.fields, "confirm_duplicate"):
            await _refuse_duplicate(
                conn, user, policy, settings, content_sha256=content.hexdigest(), task_id=task_id
            )
        task = await imports.finish_upload(
            conn,
            task_id=task_id,
            file_name=received.file_name[:255],
            org_unit_id=org_unit_id,
            description=description,
            file_size=received.size,
            upload_sha256=fingerprint.of(org_unit_id, description),
            content_sha256=content.hexdigest(),
            dry_run=dry_run,
        )
        return task, None


async def _refuse_duplicate(
    conn: Connection,
    user: TenantCaller,
    policy: TenantPolicy,
    settings: AppSettings,
    *,
    content_sha256: str,
    task_id: UUID,
) -> None:
    """409 `duplicate_file` if the tenant imported a file of these bytes lately."""
    earlier = await imports.earlier_import_of(
        conn,
        tenant_id=user.tenant_id,
        scope=policy.scope_of(user.principal),
        content_sha256=content_sha256,
        task_id=task_id,
        window_seconds=settings.import_duplicate_window_days * 86400,
    )
    if earlier is not None:
        counters = earlier.counters
        message = (
            f"This file was imported on {earlier.created_at:%Y-%m-%d %H:%M} UTC "
            f"({counters.succeeded:,} rows succeeded, {counters.failed:,} failed). "
            "Send it again with confirm_duplicate=true to import it anyway."
        )
        details = {"earlier_task": task_out(earlier).model_dump(mode="json")}
        raise ApiError(409, "duplicate_file", message, details)


_FLAG = TypeAdapter(bool)


def _form_flag(fields: dict[str, str], name: str) -> bool:
    """A form's yes/no field: true/false (also 1/0, yes/no, on/off); absent or empty is false."""
    value = fields.get(name, "").strip()
    try:
        return bool(value) and _FLAG.validate_python(value)
    except ValidationError as error:
        message = f"{name}: give true or false, not {value[:20]!r}."
        raise ApiError(422, "validation_error", message) from error


def _form_org_unit(value: str | None) -> str | None:
    """The form's OU: empty or blank means Unorganized; text PostgreSQL cannot hold is 422."""
    try:
        return org_unit_adapter.validate_python(value)
    except ValidationError as error:
        message = f"org_unit_id: {error.errors()[0]['msg']}."
        raise ApiError(422, "validation_error", message) from error


@router.get("")
async def list_imports(
    user: CurrentUser,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ImportTaskPage:
    """Newest first by import time, within the OUs the caller may see."""
    async with policy_transaction(pool, user) as (conn, policy):
        rows, total = await imports.list_tasks(
            conn,
            tenant_id=user.tenant_id,
            scope=policy.scope_of(user.principal),
            limit=limit,
            offset=offset,
        )
    return ImportTaskPage(
        items=[task_out(r) for r in rows], total=total, limit=limit, offset=offset
    )


async def _visible(pool: Pool, user: TenantCaller, task_id: UUID) -> ImportTask:
    async with policy_transaction(pool, user) as (conn, policy):
        task = await imports.get_task_in_scope(
            conn, tenant_id=user.tenant_id, scope=policy.scope_of(user.principal), task_id=task_id
        )
    if task is None:
        raise not_found("import task")
    return task


@router.get("/{task_id}")
async def get_import(task_id: UUID, user: CurrentUser, pool: Pool) -> ImportTaskOut:
    return task_out(await _visible(pool, user, task_id))


@router.post("/{task_id}/import", status_code=202)
async def import_for_real(
    task_id: UUID,
    user: CurrentUser,
    pool: Pool,
    bus: Bus,
    settings: AppSettings,
    confirm_duplicate: bool = False,
) -> ImportTaskOut:
    """ "Import for real": a new import of a completed dry run's stored file, with its OU and
    description, acting as the caller; no upload again. Every row is checked again, and the
    new task's report marks the rows whose outcome differs from the dry run's.

    404 if the caller may not see the dry run; 409 `not_a_dry_run`, `not_finished` (the dry run
    is not completed), `already_imported` (`details.task_id` names that import), `file_deleted`
    (retention passed), or `duplicate_file` as for an upload (`confirm_duplicate=true`)."""
    preview = await _visible(pool, user, task_id)
    policy = await tenant_policy(pool, user)
    if refusal := write_refusal(
        user.principal, Operation.IMPORT, policy, target_org_units=(preview.org_unit_id,)
    ):
        raise refused(refusal)
    _check_importable(preview)
    new_id = uuid4()
    async with tenant_transaction(pool, user.tenant_id) as conn:
        if not confirm_duplicate and preview.content_sha256 is not None:
            await _refuse_duplicate(
                conn, user, policy, settings, content_sha256=preview.content_sha256, task_id=new_id
            )
        task = await imports.import_preview(
            conn,
            preview_id=task_id,
            task_id=new_id,
            principal=user.principal.model_dump(mode="json"),
        )
    if task is None:  # imported or deleted meanwhile
        _check_importable(await _visible(pool, user, task_id))
        raise ApiError(409, "not_importable", "The dry run cannot be imported now.")
    await _start(bus, user, task)
    return task_out(task)


def _check_importable(preview: ImportTask) -> None:
    if not preview.dry_run:
        raise ApiError(409, "not_a_dry_run", "Only a dry run (Check file) is imported this way.")
    if preview.imported_as is not None:
        message = "This dry run was imported already."
        raise ApiError(409, "already_imported", message, {"task_id": str(preview.imported_as)})
    if preview.results_deleted_at is not None:
        message = "The checked file was deleted (retention): upload it again."
        raise ApiError(409, "file_deleted", message)
    if preview.status is not Status.COMPLETED:
        message = f"The dry run is {preview.status}; only a completed one can be imported."
        raise ApiError(409, "not_finished", message)


@router.post("/{task_id}/cancel")
async def cancel_import(task_id: UUID, user: CurrentUser, pool: Pool, bus: Bus) -> ImportTaskOut:
    """Stop a pending or running import: it is `cancelling` until every data row has a report
    line (rows not applied are `not_processed`), then `cancelled`. Rows already applied stay."""
    task = await _visible(pool, user, task_id)
    policy = await tenant_policy(pool, user)
    if refusal := write_refusal(user.principal, Operation.IMPORT, policy):
        raise refused(refusal)
    async with tenant_transaction(pool, user.tenant_id) as conn:
        cancelled = await imports.cancel(conn, task_id=task_id)
    if cancelled is None:
        raise ApiError(409, "not_running", f"The import is {task.status}; nothing to cancel.")
    event = imports.event_of(cancelled)
    await bus.import_events.publish(event.model_dump_json().encode(), key=user.tenant_id.encode())
    return task_out(cancelled)


@router.get("/{task_id}/result", response_class=Response)
async def download_result(
    task_id: UUID,
    user: CurrentUser,
    pool: Pool,
    settings: AppSettings,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """One line per data row in file order: row, caller number as written, result, reason.

    Written once when the task completed or was cancelled and served as stored. 409 before
    it is stored (`not_finished`, `report_not_ready`) and for a failed task; 410 once retention
    deleted it."""
    task = await _visible(pool, user, task_id)
    if task.status is Status.FAILED:
        raise ApiError(409, "import_failed", task.error_message or "The import failed.")
    if not task.status.final:
        raise ApiError(409, "not_finished", f"The import is {task.status}; try when finished.")
    if task.results_deleted_at is not None:
        days = settings.import_retention_days
        raise ApiError(
            410, "report_deleted", f"Reports are kept {days:g} days after an import ends."
        )
    if task.report_stored_at is None:  # being written: never served half done
        raise ApiError(
            409, "report_not_ready", "The report is being written; try again in a moment."
        )
    name = f"import-{'preview' if task.dry_run else 'result'}-{task_id}.{format}"
    async with tenant_transaction(pool, user.tenant_id) as conn:
        size = await imports.report_size(conn, task_id=task_id, format=format)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Length": str(size),
    }
    media_type = XLSX if format == "xlsx" else "text/csv"
    return StreamingResponse(
        stream_report(pool, user.tenant_id, task_id, format), media_type=media_type, headers=headers
    )


async def stream_report(
    pool: Pool, tenant_id: str, task_id: UUID, format: imports.ReportFormat
) -> AsyncIterator[bytes]:
    """The report as stored when the task finished: no work per download but the copy."""
    async with tenant_transaction(pool, tenant_id) as conn:
        async for chunk in imports.report_chunks(conn, task_id=task_id, format=format):
            yield chunk
