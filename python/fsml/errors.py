"""fsml's exceptions: one class per error code, the same codes the HTTP API
answers with (``{"error": {"code": "not_found", "message": ...}}``) and the
C++ core returns, so one ``except fsml.NotFound`` covers a missing dataset
version and a missing model alike.

Every class derives from :class:`fsml.Error` and, where one fits, from the
built-in exception a Python programmer would catch (``NotFound`` is a
``LookupError``, ``InvalidArgument`` a ``ValueError``, ``Unavailable`` a
``ConnectionError``).
"""

__all__ = [
    "Error", "InvalidArgument", "NotFound", "AlreadyExists", "FailedPrecondition", "ClosedError",
    "Unauthenticated", "Unauthorized", "PermissionDenied", "ResourceExhausted", "PayloadTooLarge",
    "UnsupportedMediaType", "Unavailable", "Aborted", "Corruption", "IoError", "Internal", "Timeout",
]


class Error(Exception):
    """Base of every fsml error.

    Attributes: ``code`` (the API's error code, e.g. ``"not_found"``),
    ``message`` (one line naming the thing and the fix), ``http_status``
    (the HTTP status for errors from the API client, else None).
    """

    code = "internal"

    def __init__(self, message="", *, code=None, http_status=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.http_status = http_status

    def __str__(self):
        return self.message


class InvalidArgument(Error, ValueError):
    """The caller's input is wrong (a bad ref, option, image or request)."""
    code = "invalid_argument"


class NotFound(Error, LookupError):
    """A named thing does not exist: workspace, project, version, tag, model, job."""
    code = "not_found"


class AlreadyExists(Error):
    code = "already_exists"


class FailedPrecondition(Error, RuntimeError):
    """The state does not allow it (e.g. a loader iterated by another thread)."""
    code = "failed_precondition"


class ClosedError(FailedPrecondition):
    """A closed workspace, or a dataset or loader of one, was used."""


class Unauthenticated(Error, PermissionError):
    """No API token, or a wrong or revoked one (HTTP 401)."""
    code = "unauthenticated"


Unauthorized = Unauthenticated


class PermissionDenied(Error, PermissionError):
    """The token is valid but its role may not do this (HTTP 403)."""
    code = "permission_denied"


class ResourceExhausted(Error):
    """A size or rate limit was hit (HTTP 429: retry later)."""
    code = "resource_exhausted"


class PayloadTooLarge(ResourceExhausted):
    """The request body is over the server's limit (HTTP 413)."""
    code = "payload_too_large"


class UnsupportedMediaType(InvalidArgument):
    """The server does not take this Content-Type (HTTP 415)."""
    code = "unsupported_media_type"


class Unavailable(Error, ConnectionError):
    """A server, database or object store cannot be reached now; retrying may succeed."""
    code = "unavailable"


class Aborted(Error):
    code = "aborted"


class Corruption(Error):
    """Stored data fails its checksum or format check (run `fsml doctor`)."""
    code = "corruption"


class IoError(Error, OSError):
    code = "io_error"


class Internal(Error):
    """A bug in fsml: please report it with the message."""
    code = "internal"


class Timeout(Error, TimeoutError):
    """A wait ran out of time (e.g. Client.wait)."""
    code = "timeout"


_BY_CODE = {cls.code: cls for cls in (
    InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, Unauthenticated, PermissionDenied,
    ResourceExhausted, PayloadTooLarge, UnsupportedMediaType, Unavailable, Aborted, Corruption, IoError,
    Internal, Timeout)}
# Codes the HTTP server uses for malformed requests.
_BY_CODE.update({"bad_request": InvalidArgument, "headers_too_large": InvalidArgument,
                 "method_not_allowed": InvalidArgument})


def _class_for_code(code):
    """The exception class for an error code (Error for a code it does not know)."""
    return _BY_CODE.get(code, Error)


def from_code(code, message, http_status=None):
    """An exception instance for an API error code; unknown codes keep their code."""
    cls = _class_for_code(code)
    return cls(message, code=code if cls is Error else None, http_status=http_status)
