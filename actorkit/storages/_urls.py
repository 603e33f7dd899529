"""URL validation, normalization and request unique keys, computed as crawlee 1.11 computes them.

crawlee parses a URL with ``yarl``, drops ``utm_*`` query parameters, sorts the rest, drops the
fragment and a trailing ``/`` of the path and lowercases the whole result. actorkit does not
depend on ``yarl``; this module reproduces the same steps (percent-encoding of each URL part,
IDNA hosts, dot segments, default ports) with the standard library, so that a request added by
actorkit and the same request added by the official SDK get the same unique key, hence the same
request file and id. The tests compare the results with values produced by crawlee itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import string
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import unquote_plus

from actorkit._errors import InvalidStorageArgumentError
from actorkit.storages._serialization import SURROGATES

_UNRESERVED = string.ascii_letters + string.digits + '-._~'
_SUB_DELIMS_WITHOUT_QS = "!$'()*,"
_QS = '+&=;'
_ALLOWED = _UNRESERVED + _SUB_DELIMS_WITHOUT_QS

_DEFAULT_PORTS = {'http': 80, 'https': 443}
_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + '+-.')
_LEADING_JUNK = ''.join(chr(code) for code in range(0x21))
# Characters a host may not contain (the WHATWG "forbidden host code points").
_FORBIDDEN_HOST_CHARS = re.compile(r'[\x00-\x20#/:<>?@\[\\\]^|\x7f]')
_HEX_ESCAPES = re.compile(r'(?:%[0-9A-Fa-f]{2})+')


class _Quoter:
    """Percent-encodes one URL part the way ``yarl`` does.

    Characters in ``safe`` stay as they are, every other character is written as the
    ``%XX`` escapes of its UTF-8 bytes. With ``requote``, an existing valid escape is kept
    (upper-cased), or decoded when it stands for a safe, unprotected character; a ``%`` that
    starts no valid escape becomes ``%25``. With ``qs``, a space becomes ``+``.
    """

    def __init__(
        self, *, safe: str = '', protected: str = '', qs: bool = False, requote: bool
    ) -> None:
        everything_safe = safe + _ALLOWED + ('' if qs else _QS) + protected
        self._safe = frozenset(everything_safe)
        self._protected = frozenset(protected)
        self._qs = qs
        unsafe_class = '[^' + re.escape(everything_safe) + ']'
        escape = '%[0-9A-Fa-f]{2}|' if requote else ''
        self._pattern = re.compile(escape + unsafe_class)

    def _replace(self, match: re.Match[str]) -> str:
        text = match.group()
        if len(text) == 3:  # a valid escape (only matched when requoting)
            char = chr(int(text[1:], 16))
            if char in self._safe and char not in self._protected:
                return char
            return text.upper()
        if text == ' ' and self._qs:
            return '+'
        return ''.join(f'%{byte:02X}' for byte in text.encode('utf-8', 'ignore'))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(self._replace, text)


_REQUOTER = _Quoter(requote=True)
_PATH_QUOTER = _Quoter(safe='@:', protected='/+', requote=False)
_PATH_REQUOTER = _Quoter(safe='@:', protected='/+', requote=True)
_QUERY_REQUOTER = _Quoter(safe='?/:@', protected='=+&;', qs=True, requote=True)
_QUERY_PART_QUOTER = _Quoter(safe='?/:@', qs=True, requote=False)
_FRAGMENT_REQUOTER = _Quoter(safe='?/:@', requote=True)


def _decode_escape_run(match: re.Match[str]) -> str:
    raw = bytes(int(escape, 16) for escape in match.group().split('%')[1:])
    decoded = raw.decode('utf-8', 'surrogateescape')
    # Bytes that are not valid UTF-8 stay as escapes, as yarl leaves them.
    return ''.join(
        f'%{ord(char) - 0xDC00:02X}' if 0xDC80 <= ord(char) <= 0xDCFF else char for char in decoded
    )


def _unquote_path(path: str) -> str:
    return _HEX_ESCAPES.sub(_decode_escape_run, path)


def _remove_dot_segments(path: str) -> str:
    """Resolve ``.`` and ``..`` segments of a path that starts with ``/`` (RFC 3986 5.2.4)."""
    prefix = ''
    if path.startswith('/'):
        prefix = '/'
        path = path[1:]
    segments = path.split('/')
    resolved: list[str] = []
    for segment in segments:
        if segment == '..':
            if resolved:
                resolved.pop()
        elif segment != '.':
            resolved.append(segment)
    if segments[-1] in ('.', '..'):
        resolved.append('')
    return prefix + '/'.join(resolved)


def _invalid(url: object, reason: str, field: str) -> InvalidStorageArgumentError:
    return InvalidStorageArgumentError(
        f'{field} {url!r} is not a valid absolute http(s) URL: {reason}; '
        f'pass a URL like "https://example.com/page"'
    )


@lru_cache(maxsize=1024)
def _encode_host(host: str) -> str:
    """Lowercase (ASCII), compress (IP address) or IDNA-encode (Unicode) a host name."""
    if host[-1].isdigit() or ':' in host:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return f'[{address.compressed}]' if address.version == 6 else address.compressed
    if host.isascii():
        return host.lower()
    try:
        import idna  # noqa: PLC0415 (lazy: only Unicode host names need it; comes with requests)
    except ImportError:  # pragma: no cover
        return host.encode('idna').decode('ascii')
    try:
        return idna.encode(host, uts46=True).decode('ascii')
    except UnicodeError:  # idna.IDNAError included
        return host.encode('idna').decode('ascii')


class _SplitUrl:
    """The parts of a URL: the scheme, the encoded authority, path, query and fragment."""

    __slots__ = ('fragment', 'has_default_port', 'netloc', 'path', 'query', 'scheme')

    def __init__(
        self,
        *,
        scheme: str,
        netloc: str,
        path: str,
        query: str,
        fragment: str,
        has_default_port: bool,
    ) -> None:
        self.scheme = scheme
        self.netloc = netloc
        self.path = path
        self.query = query
        self.fragment = fragment
        self.has_default_port = has_default_port


def _split_authority(
    authority: str, url: object, field: str
) -> tuple[str | None, str | None, str, int | None]:
    user: str | None = None
    password: str | None = None
    hostinfo = authority
    if '@' in authority:
        userinfo, _, hostinfo = authority.rpartition('@')
        user, has_password, password_text = userinfo.partition(':')
        password = password_text if has_password else None
    if hostinfo.startswith('['):
        bracketed, closing, rest = hostinfo[1:].partition(']')
        if not closing or '[' in bracketed or ']' in rest or (rest and rest[0] != ':'):
            raise _invalid(url, 'the IPv6 address in brackets is malformed', field)
        try:
            ipaddress.IPv6Address(bracketed)
        except ValueError:
            raise _invalid(url, f'{bracketed!r} is not an IPv6 address', field) from None
        host = bracketed
        port_text = rest[1:]
    else:
        if '[' in hostinfo or ']' in hostinfo:
            raise _invalid(url, 'brackets are only allowed around an IPv6 address', field)
        host, _, port_text = hostinfo.partition(':')
    if not host:
        raise _invalid(url, 'the host is missing', field)
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
            raise _invalid(url, f'the port {port_text!r} is not a number from 0 to 65535', field)
        port = int(port_text)
    return user or None, password, host, port


def _split(url: object, field: str) -> _SplitUrl:
    """Check that ``url`` is an absolute http(s) URL and split it into encoded parts."""
    if not isinstance(url, str):
        raise InvalidStorageArgumentError(
            f'{field} must be a str holding an absolute http(s) URL, got {type(url).__name__}'
        )
    if SURROGATES.search(url):
        raise _invalid(url, 'it contains a lone surrogate, which is not valid Unicode text', field)
    text = url.strip().lstrip(_LEADING_JUNK)
    for char in '\t\r\n':
        text = text.replace(char, '')
    colon = text.find(':')
    if (
        colon <= 0
        or text[0] not in string.ascii_letters
        or not _SCHEME_CHARS.issuperset(text[1:colon])
    ):
        raise _invalid(url, 'it has no scheme', field)
    scheme = text[:colon].lower()
    if scheme not in _DEFAULT_PORTS:
        raise _invalid(url, f'the scheme {scheme!r} is not http or https', field)
    rest = text[colon + 1 :]
    if not rest.startswith('//'):
        raise _invalid(url, 'the "//" and host after the scheme are missing', field)
    end = len(rest)
    for delimiter in '/?#':
        position = rest.find(delimiter, 2)
        if 0 <= position < end:
            end = position
    authority, rest = rest[2:end], rest[end:]
    if '\\' in authority:
        raise _invalid(url, 'a backslash is not allowed in the host', field)
    rest, _, fragment = rest.partition('#')
    path, _, query = rest.partition('?')

    user, password, host, port = _split_authority(authority, url, field)
    if ':' not in host:  # a host name or IPv4 address, not an IPv6 address
        if not host.isascii():
            # A Unicode host must map to a plain host name: no delimiter may appear by NFKC.
            import unicodedata  # noqa: PLC0415 (rarely needed)

            if _FORBIDDEN_HOST_CHARS.search(unicodedata.normalize('NFKC', host)):
                raise _invalid(url, f'the host {host!r} contains a forbidden character', field)
        elif _FORBIDDEN_HOST_CHARS.search(host):
            raise _invalid(url, f'the host {host!r} contains a forbidden character', field)
    try:
        encoded_host = _encode_host(host)
    except UnicodeError as exc:
        raise _invalid(
            url, f'the host {host!r} is not a valid domain name ({exc})', field
        ) from None

    has_default_port = port == _DEFAULT_PORTS[scheme]
    netloc = encoded_host if port is None or has_default_port else f'{encoded_host}:{port}'
    if user is not None or password is not None:
        userinfo = _REQUOTER(user) if user else ''
        if password is not None:
            userinfo = f'{userinfo}:{_REQUOTER(password) if password else password}'
        if userinfo:
            netloc = f'{userinfo}@{netloc}'

    if path:
        path = _PATH_REQUOTER(path)
        if '.' in path:
            path = _remove_dot_segments(path)
    return _SplitUrl(
        scheme=scheme,
        netloc=netloc,
        path=path,
        query=_QUERY_REQUOTER(query) if query else '',
        fragment=_FRAGMENT_REQUOTER(fragment) if fragment else '',
        has_default_port=has_default_port,
    )


def validate_url(url: object, *, field: str = 'url') -> str:
    """Check that ``url`` is an absolute http or https URL and return it unchanged.

    Args:
        url: The value to check.
        field: How to name the value in the error message.

    Returns:
        ``url`` itself.

    Raises:
        InvalidStorageArgumentError: ``url`` is not a str or not an absolute http(s) URL.
    """
    _split(url, field)
    assert isinstance(url, str)  # _split raises otherwise
    return url


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split('&'):
        if part:
            name, _, value = part.partition('=')
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def normalize_url(url: str, *, keep_url_fragment: bool = False) -> str:
    """Normalize a URL as crawlee does to compute a request's default unique key.

    The scheme and host are lowercased, a default port is dropped, ``utm_*`` query
    parameters are removed and the others sorted, a trailing ``/`` of the path and (unless
    ``keep_url_fragment``) the fragment are dropped, and the whole result is lowercased.

    Args:
        url: An absolute http(s) URL.
        keep_url_fragment: Whether to keep the ``#fragment``.

    Returns:
        The normalized URL, e.g. ``https://example.com/a?b=1`` for
        ``HTTPS://Example.com/a/?utm_source=x&b=1#top``.

    Raises:
        InvalidStorageArgumentError: ``url`` is not an absolute http(s) URL.
    """
    parts = _split(url, 'url')
    pairs = sorted(
        (name, value) for name, value in _query_pairs(parts.query) if not name.startswith('utm_')
    )
    query = '&'.join(
        f'{_QUERY_PART_QUOTER(name)}={_QUERY_PART_QUOTER(value)}' for name, value in pairs
    )

    path = _unquote_path(parts.path) if parts.path else '/'
    path = _PATH_QUOTER(path.removesuffix('/'))
    if '.' in path:
        path = _remove_dot_segments(path)
    if path and not path.startswith('/'):
        path = '/' + path

    fragment = parts.fragment if keep_url_fragment else ''
    if not path and (query or fragment):
        path = '/'
    result = f'{parts.scheme}://{parts.netloc}{path}'
    if query:
        result += '?' + query
    if fragment:
        result += '#' + fragment
    return result.lower()


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


_HASHED_HEADERS = ('accept', 'accept-language', 'authorization', 'content-type')


def compute_unique_key(
    url: str,
    *,
    method: str = 'GET',
    payload: str | bytes | None = None,
    keep_url_fragment: bool = False,
    use_extended_unique_key: bool = False,
    headers: Mapping[str, str] | None = None,
    session_id: str | None = None,
) -> str:
    """Compute a request's default unique key as crawlee does.

    By default it is :func:`normalize_url` of the URL. With ``use_extended_unique_key`` it is
    ``METHOD|headers-hash|payload-hash|normalized-url``, where the hashes are the first 8 hex
    digits of a SHA-256 of the payload and of the ``accept``, ``accept-language``,
    ``authorization`` and ``content-type`` headers.

    Args:
        url: An absolute http(s) URL.
        method: The HTTP method.
        payload: The HTTP body.
        keep_url_fragment: Whether the ``#fragment`` makes URLs distinct.
        use_extended_unique_key: Whether method, payload and headers make requests distinct.
        headers: The HTTP headers (only used with ``use_extended_unique_key``).
        session_id: The session the request is bound to (only used with
            ``use_extended_unique_key``, lower-cased, after the payload hash).

    Returns:
        The unique key.

    Raises:
        InvalidStorageArgumentError: ``url`` is not an absolute http(s) URL.
    """
    normalized_url = normalize_url(url, keep_url_fragment=keep_url_fragment)
    if not use_extended_unique_key:
        return normalized_url
    payload_bytes = payload.encode('utf-8') if isinstance(payload, str) else payload or b''
    # crawlee hashes the headers after its own normalization: lowercased, stripped, sorted.
    normalized = sorted(
        (key.lower().strip(), value.strip()) for key, value in (headers or {}).items()
    )
    hashed = '|'.join(f'{key}:{value}' for key, value in normalized if key in _HASHED_HEADERS)
    headers_hash = _short_hash(hashed.encode('utf-8'))
    extended = f'{method.upper()}|{headers_hash}|{_short_hash(payload_bytes)}'
    if session_id:
        extended += f'|{session_id.lower()}'
    return f'{extended}|{normalized_url}'
