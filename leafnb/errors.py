"""The one exception and warning tree of leafnb."""

from __future__ import annotations

__all__ = [
    "BatchBusy",
    "CorruptFile",
    "EventRegisteredTwice",
    "FormatError",
    "InvalidRequest",
    "LeafnbError",
    "LeafnbWarning",
    "MalformedRequest",
    "MissingProperties",
    "NoPointsPassed",
    "NotFound",
    "OriginalUnavailable",
    "OwnerConflict",
    "PluginLoadWarning",
    "RangedReadWarning",
    "ReaderRegistrationError",
    "SkippedRecordsWarning",
    "StoreError",
    "TiedClassesWarning",
    "TokenError",
    "UnsafeArchive",
    "UnsafeReference",
    "UnsupportedFormat",
    "UploadTooLarge",
    "WorkspaceBusy",
]


class LeafnbError(Exception):
    """Root of every leafnb error."""

    @property
    def step_message(self) -> str:
        """Text recorded as the failed step's ``message`` (Leaf's wording where Leaf has one)."""
        return str(self)


class InvalidRequest(LeafnbError, ValueError):
    """What Leaf answers with HTTP 400: a bad filter, page size, config value or merge."""


class NotFound(LeafnbError, LookupError):
    """Unknown batch, file, operation or field id (HTTP 404)."""


class BatchBusy(LeafnbError, RuntimeError):
    """The batch is being processed by another run (HTTP 409): retry it after it finishes."""


class UnsafeArchive(InvalidRequest):
    """An uploaded archive that cannot be extracted safely (traversal, bomb, size...)."""


class MalformedRequest(InvalidRequest):
    """A request ``leafnb serve`` refuses before it reaches the Workspace (HTTP 400).

    A missing or malformed parameter, a body of the wrong shape. Unlike the Workspace's
    own :class:`InvalidRequest` answers, its problem body names no ``errorKey``.
    """


class UploadTooLarge(InvalidRequest):
    """An upload larger than the server accepts (``leafnb serve``: HTTP 413)."""


class EventRegisteredTwice(InvalidRequest):
    """A webhook for an event another webhook of the API owner already receives.

    Leaf answers HTTP 400 with ``errorKey`` ``eventRegisteredTwice`` (spec §9).
    """


class TokenError(LeafnbError, PermissionError):
    """A missing, malformed, unknown or revoked API token (``leafnb serve``: HTTP 401)."""


class OwnerConflict(LeafnbError, PermissionError):
    """The leafUserId belongs to another API owner (``leafnb serve``: HTTP 403)."""


class FormatError(LeafnbError):
    """A problem with one input file; carries the path and reader name when known."""

    def __init__(self, message: str, *, path: object = None, reader: str | None = None):
        super().__init__(message)
        self.path = path
        self.reader = reader


class UnsupportedFormat(FormatError):
    """Unknown format, or recognised but not decodable (proprietary)."""

    def __init__(
        self,
        message: str,
        *,
        path: object = None,
        reader: str | None = None,
        provider: str | None = None,
        format_name: str | None = None,
    ):
        super().__init__(message, path=path, reader=reader)
        self.provider = provider
        self.format_name = format_name


class CorruptFile(FormatError, ValueError):
    """Bytes or XML that cannot be decoded."""

    def __init__(
        self,
        message: str,
        *,
        path: object = None,
        reader: str | None = None,
        offset: int | None = None,
    ):
        super().__init__(message, path=path, reader=reader)
        self.offset = offset


class UnsafeReference(CorruptFile):
    """A file reference inside an upload that is not a plain name of a file in that upload.

    The message names neither the reference nor any path: it must not tell an uploader
    which files exist outside the upload.
    """


class MissingProperties(FormatError):
    """Required standard properties could not be found (Leaf's message text)."""

    def __init__(self, properties: list[str], **kw):
        self.properties = list(properties)
        super().__init__(
            f"missing required properties: {', '.join(self.properties)}", **kw
        )


class NoPointsPassed(LeafnbError):
    """Every point was removed by cleanup: a cancelled step, not a crash."""

    def __init__(self, message: str = "no points passed the filter"):
        super().__init__(message)


class StoreError(LeafnbError, OSError):
    """Catalog or artifact I/O failed."""


class OriginalUnavailable(LeafnbError):
    """An original file could not be extracted again from its batch's upload (missing, corrupt).

    A batch keeps its upload once and extracts an original again when it is needed
    (:mod:`leafnb.pipeline.originals`); the message says what went wrong.
    """


class WorkspaceBusy(StoreError):
    """The workspace lock is held by another process for too long."""


class ReaderRegistrationError(LeafnbError):
    """A malformed reader plugin (bad class, bad name)."""


class LeafnbWarning(UserWarning):
    """Root of leafnb warnings."""


class SkippedRecordsWarning(LeafnbWarning):
    """Malformed records were skipped and counted."""


class PluginLoadWarning(LeafnbWarning, RuntimeWarning):
    """A reader plugin failed to load and was skipped."""


class RangedReadWarning(LeafnbWarning, RuntimeWarning):
    """A big file's conversion in record ranges failed unexpectedly; it was converted whole.

    Its results are the same; its memory is the whole file's. A reader refusing ranges
    (:class:`leafnb.formats.base.NotRanged`), ranges deciding differently and a file
    broken at some range are expected and read whole without it: this warning is a
    defect of leafnb, to report.
    """


class TiedClassesWarning(LeafnbWarning):
    """Quantile class edges tied; the tie rule was applied."""
