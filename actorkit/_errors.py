"""The exceptions actorkit raises.

Every error mixes in the builtin a caller would naturally catch (``ValueError`` for bad input,
``RuntimeError`` for calls made in the wrong state), so ``except ValueError`` keeps working.
Messages say what happened, to which thing, and what to do; they never contain secret values.
"""

from __future__ import annotations

from collections.abc import Sequence


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
