"""The exceptions actorkit raises.

Every error mixes in the builtin a caller would naturally catch (``ValueError`` for bad input,
``RuntimeError`` for calls made in the wrong state), so ``except ValueError`` keeps working.
Messages say what happened, to which thing, and what to do; they never contain secret values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ActorkitError(Exception):
    """Base class of every error actorkit raises on purpose."""


class ConfigurationError(ActorkitError, ValueError):
    """One or more environment variables or configuration values are invalid.

    All problems are collected and reported at once.

    Attributes:
        problems: One human-readable line per invalid variable.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = '\n'.join(f'  - {problem}' for problem in self.problems)
        count = len(self.problems)
        noun = 'problem' if count == 1 else 'problems'
        super().__init__(
            f'invalid actorkit configuration ({count} {noun}); fix or unset these variables:\n'
            f'{lines}'
        )


class ActorStateError(ActorkitError, RuntimeError):
    """A lifecycle call came at the wrong time (e.g. ``init()`` while the Actor is running)."""


class InputError(ActorkitError, ValueError):
    """The Actor input is missing, malformed or does not match the input schema.

    Attributes:
        problems: One line per problem, each naming the field path or file position.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        if self.problems:
            message = message + '\n' + '\n'.join(f'  - {problem}' for problem in self.problems)
        super().__init__(message)


class StorageError(ActorkitError):
    """A storage operation failed (a corrupt file, a storage that does not exist, ...)."""


class StorageNotFoundError(StorageError, LookupError):
    """A storage opened by id does not exist."""


class InvalidStorageArgumentError(StorageError, ValueError):
    """A key, storage name, item or value given to a storage is not acceptable.

    Nothing was written when this is raised.
    """


class StorageLimitError(InvalidStorageArgumentError):
    """An item or record is larger than the platform accepts.

    Nothing was written when this is raised.
    """


class ApifyClientError(ActorkitError):
    """A call of the platform API client failed (base class of the client's errors)."""


class ApifyApiError(ApifyClientError):
    """The platform API answered a call with an error status.

    Attributes:
        status_code: The HTTP status of the answer (e.g. 404, 429, 503).
        type: The API's error type (e.g. ``record-not-found``); ``None`` when the answer had
            none.
        message: The API's error message (never contains the token).
        method: The HTTP method of the call.
        path: The path of the call, without its query string (never contains the token).
        attempt: How many attempts were made (retries included).
    """

    def __init__(
        self,
        *,
        status_code: int,
        type: str | None,
        message: str,
        method: str,
        path: str,
        attempt: int = 1,
    ) -> None:
        self.status_code = status_code
        self.type = type
        self.message = message
        self.method = method
        self.path = path
        self.attempt = attempt
        kind = f' {type}' if type else ''
        tries = f' after {attempt} attempts' if attempt > 1 else ''
        super().__init__(f'{method} {path} failed with HTTP {status_code}{kind}{tries}: {message}')

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_api_error, (self.__dict__.copy(),))


def _rebuild_api_error(fields: dict[str, Any]) -> ApifyApiError:
    return ApifyApiError(**fields)


class ApifyConnectionError(ApifyClientError, ConnectionError):
    """The platform API could not be reached, or the connection broke before an answer came."""


class ApifyTimeoutError(ApifyClientError, TimeoutError):
    """The platform API did not answer a call in time (on every attempt)."""
