"""Read JSON items from a byte stream without holding it all: objects, arrays, JSON lines."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import BinaryIO

from actorkit.cli._common import CliError

_CHUNK = 1 << 16
_WHITESPACE = ' \t\r\n'


class _Reader:
    def __init__(self, stream: BinaryIO, what: str) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder('utf-8-sig')()
        self._what = what
        self.buffer = ''
        self.position = 0
        self.eof = False
        self.bytes_read = 0
        self.line = 1  # of self.position

    def more(self) -> bool:
        """Read another chunk; return False at the end of the stream."""
        if self.eof:
            return False
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            self.eof = True
            try:
                self.buffer += self._decoder.decode(b'', final=True)
            except UnicodeDecodeError:
                raise CliError(f'{self._what} is not UTF-8 text: push JSON') from None
            return False
        self.bytes_read += len(chunk)
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError:
            raise CliError(f'{self._what} is not UTF-8 text: push JSON') from None
        # Drop what was consumed, so the buffer holds about one chunk at a time.
        self.buffer = self.buffer[self.position :] + text
        self.position = 0
        return True

    def advance(self, end: int) -> None:
        self.line += self.buffer.count('\n', self.position, end)
        self.position = end

    def skip_whitespace(self) -> str | None:
        """Skip whitespace; return the next character, or None at the end."""
        while True:
            buffer = self.buffer
            position = self.position
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            self.advance(position)
            if position < len(buffer):
                return buffer[position]
            if not self.more():
                return None

    def value(self, decoder: json.JSONDecoder) -> object:
        """Decode the JSON value at the position, reading more as long as it is incomplete."""
        while True:
            try:
                value, end = decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue
                line = self.line + self.buffer.count('\n', self.position, exc.pos)
                raise CliError(f'{self._what} line {line}: not valid JSON ({exc.msg})') from None
            # A number or literal cut at the chunk's end parses as a shorter one: read on.
            if end == len(self.buffer) and not self.eof and self.more():
                continue
            self.advance(end)
            return value


class JsonItems:
    """The items of a byte stream, read a chunk at a time.

    The stream holds whitespace-separated JSON values (so JSON lines, one object, or several
    pretty-printed ones); a top-level array gives its elements one by one.

    Iterating raises :class:`CliError` when the text is not JSON; the message names the line.
    """

    def __init__(self, stream: BinaryIO, what: str = 'stdin') -> None:
        self._reader = _Reader(stream, what)
        self._what = what

    @property
    def bytes_read(self) -> int:
        """How many bytes were read so far."""
        return self._reader.bytes_read

    def __iter__(self) -> Iterator[object]:
        reader = self._reader
        what = self._what
        decoder = json.JSONDecoder()
        while True:
            char = reader.skip_whitespace()
            if char is None:
                return
            if char != '[':
                yield reader.value(decoder)
                continue
            reader.advance(reader.position + 1)
            first = True
            while True:
                char = reader.skip_whitespace()
                if char is None:
                    raise CliError(f'{what} line {reader.line}: the array is not closed with ]')
                if char == ']':
                    reader.advance(reader.position + 1)
                    break
                if not first:
                    if char != ',':
                        raise CliError(
                            f'{what} line {reader.line}: expected , or ] between array items, '
                            f'found {char!r}'
                        )
                    reader.advance(reader.position + 1)
                    if reader.skip_whitespace() is None:
                        raise CliError(f'{what} line {reader.line}: the array is not closed with ]')
                first = False
                yield reader.value(decoder)
