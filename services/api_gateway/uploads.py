"""Reads a multipart upload as it arrives: the file goes out in chunks, never whole in memory."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from services.api_gateway.errors import ApiError

FILE_FIELD = "file"
# The form has three parts (file, org_unit_id, description); a little room for a client's
# extras. Parts x field bytes bound what the fields may hold in memory: 32 KiB.
MAX_PARTS = 8
MAX_FIELD_BYTES = 4096
# Per part: how many header lines, and how long each may be.
MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 1024


@dataclass
class _Part:
    name: str = ""
    file_name: str | None = None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Upload:
    file_name: str | None = None
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


async def receive(
    request: Request,
    *,
    max_bytes: int,
    write: Callable[[bytes], Awaitable[None]],
    chunk_bytes: int = 1024 * 1024,
) -> Upload:
    """Parse the body; the `file` part goes to `write` in chunks; 413 past `max_bytes`."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise ApiError(415, "unsupported_media_type", "Send the file as multipart/form-data.")
    upload, part, headers = Upload(), _Part(), _Headers()
    pending = bytearray()

    parts = 0

    def on_part_begin() -> None:
        nonlocal part, parts
        parts += 1
        if parts > MAX_PARTS:
            raise ApiError(422, "validation_error", f"The form has more than {MAX_PARTS} parts.")
        part = _Part()
        headers.reset()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get(b"content-disposition"))
        part.name = disposition.get(b"name", b"").decode(errors="replace")
        if b"filename" in disposition:
            part.file_name = disposition[b"filename"].decode(errors="replace")
        if part.name == FILE_FIELD:
            if upload.file_name is not None:
                raise ApiError(422, "validation_error", "Send one file per upload.")
            upload.file_name = part.file_name or "upload"

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.name == FILE_FIELD:
            pending.extend(data[start:end])
            upload.size += end - start
        elif len(part.data) + end - start <= MAX_FIELD_BYTES:
            part.data.extend(data[start:end])
        else:
            raise ApiError(422, "validation_error", f"The form field {part.name!r} is too long.")

    def on_part_end() -> None:
        if part.name != FILE_FIELD:
            upload.fields[part.name] = part.data.decode(errors="replace")

    try:
        parser = MultipartParser(
            options[b"boundary"],
            {
                "on_part_begin": on_part_begin,
                "on_header_field": headers.on_field,
                "on_header_value": headers.on_value,
                "on_header_end": headers.on_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
            },
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_PART_HEADER_BYTES,
        )
        async for received in request.stream():
            parser.write(received)
            if upload.size > max_bytes:
                raise too_large(max_bytes)
            while len(pending) >= chunk_bytes:
                await write(bytes(pending[:chunk_bytes]))
                del pending[:chunk_bytes]
        parser.finalize()
    except FormParserError as error:  # its text is about the parser's state, not for the user
        raise ApiError(400, "malformed_multipart", "The multipart form is not valid.") from error
    if pending:
        await write(bytes(pending))
    return upload


def too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "too_large", f"The file is larger than {max_bytes // (1024 * 1024)} MiB.")


class _Headers:
    """Collects one part's headers from the parser's callbacks."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._values: dict[bytes, bytes] = {}
        self._field, self._value = bytearray(), bytearray()

    def on_field(self, data: bytes, start: int, end: int) -> None:
        self._field.extend(data[start:end])

    def on_value(self, data: bytes, start: int, end: int) -> None:
        self._value.extend(data[start:end])

    def on_end(self) -> None:
        self._values[bytes(self._field).lower()] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def get(self, name: bytes) -> str:
        return self._values.get(name, b"").decode("latin-1")
