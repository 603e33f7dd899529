"""Reading the Actor input from the store, the fallback files and the input schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from actorkit._errors import InputError
from actorkit.storages._input import load_input

STORE = 'storage/key_value_stores/default'


class FakeStore:
    """A dict-backed stand-in for the record reads of a KeyValueStoreClient."""

    def __init__(self, records: dict[str, tuple[bytes, str]] | None = None) -> None:
        self.records = records or {}

    def get_record(self, key: str) -> tuple[bytes, str] | None:
        return self.records.get(key)


def load(
    records: dict[str, tuple[bytes, str]] | None = None,
    *,
    input_key: str = 'INPUT',
    fallback_dir: Path | None = None,
    actor_dir: Path | None = None,
    validate: bool = True,
) -> Any:
    return load_input(
        FakeStore(records),  # type: ignore[arg-type]
        input_key=input_key,
        store_location=STORE,
        fallback_dir=fallback_dir,
        actor_dir=actor_dir,
        validate=validate,
    )


def write_schema(actor_dir: Path, properties: dict[str, Any], **extra: Any) -> Path:
    path = actor_dir / '.actor' / 'input_schema.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = {'title': 'T', 'type': 'object', 'schemaVersion': 1, 'properties': properties}
    path.write_text(json.dumps({**schema, **extra}), encoding='utf-8')
    return path


def json_record(value: Any) -> tuple[bytes, str]:
    return json.dumps(value).encode(), 'application/json; charset=utf-8'


# --- the input record ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('body', 'content_type', 'expected'),
    [
        (b'{"a": 1}', 'application/json; charset=utf-8', {'a': 1}),
        (b'\xef\xbb\xbf[1, 2]', 'application/json', [1, 2]),
        (b'hello', 'text/plain; charset=utf-8', 'hello'),
        ('žluť'.encode('iso-8859-2'), 'text/plain; charset="ISO-8859-2"', 'žluť'),
        (b'{"b": true}', 'application/octet-stream', {'b': True}),
        (b'not json', 'application/octet-stream', b'not json'),
        (b'\x89PNG', 'image/png', b'\x89PNG'),
        (b'', 'application/x-none', None),
    ],
)
def test_record_is_parsed_by_content_type(body: bytes, content_type: str, expected: Any) -> None:
    """JSON types are parsed, text is decoded, octet-stream is JSON if it parses, else bytes."""
    assert load({'INPUT': (body, content_type)}) == expected


def test_malformed_json_record_names_record_store_line_and_column() -> None:
    """A JSON record that does not parse fails with the record, the store and the position."""
    body = b'{\n  "a": 1,\n  "b" 2\n}'

    with pytest.raises(InputError) as info:
        load({'INPUT': (body, 'application/json')})

    assert str(info.value) == (
        f"input record 'INPUT' in {STORE} is not valid JSON (line 3, column 7: "
        "Expecting ':' delimiter): fix the record or delete it"
    )


def test_record_under_a_custom_input_key_is_read() -> None:
    """The key comes from `input_key` (e.g. the CLI's `__CLI_INPUT`), nothing else."""
    records = {'INPUT': json_record({'from': 'INPUT'}), '__CLI_INPUT': json_record({'from': 'cli'})}

    assert load(records, input_key='__CLI_INPUT') == {'from': 'cli'}
    assert load(records) == {'from': 'INPUT'}


def test_store_record_wins_over_fallback_files(tmp_path: Path) -> None:
    """Files in the working directory are read only when the store has no input record."""
    (tmp_path / 'INPUT.json').write_text('{"from": "file"}', encoding='utf-8')

    assert load({'INPUT': json_record({'from': 'store'})}, fallback_dir=tmp_path) == {
        'from': 'store'
    }


# --- fallback files -----------------------------------------------------------------------------


def test_fallback_input_json_is_read(tmp_path: Path) -> None:
    """Off the platform, `INPUT.json` in the working directory is the input."""
    (tmp_path / 'INPUT.json').write_text('\ufeff{"q": "shoes"}', encoding='utf-8')

    assert load(fallback_dir=tmp_path) == {'q': 'shoes'}


def test_fallback_bare_input_is_json_or_bytes(tmp_path: Path) -> None:
    """A bare `INPUT` file is JSON if it parses, else bytes, as the official SDK reads it."""
    bare = tmp_path / 'INPUT'
    bare.write_text('[1, 2]', encoding='utf-8')
    assert load(fallback_dir=tmp_path) == [1, 2]

    bare.write_bytes(b'plain words')
    assert load(fallback_dir=tmp_path) == b'plain words'


def test_fallback_files_follow_the_input_key(tmp_path: Path) -> None:
    """With a custom input key the fallback file is named after it."""
    (tmp_path / 'INPUT.json').write_text('{"k": "INPUT"}', encoding='utf-8')
    (tmp_path / 'MY_INPUT.json').write_text('{"k": "MY_INPUT"}', encoding='utf-8')

    assert load(input_key='MY_INPUT', fallback_dir=tmp_path) == {'k': 'MY_INPUT'}


def test_both_fallback_files_are_ambiguous(tmp_path: Path) -> None:
    """`INPUT.json` and `INPUT` together fail, naming both files."""
    (tmp_path / 'INPUT.json').write_text('{}', encoding='utf-8')
    (tmp_path / 'INPUT').write_text('{}', encoding='utf-8')

    with pytest.raises(InputError) as info:
        load(fallback_dir=tmp_path)

    assert str(info.value) == (
        f'found both {tmp_path / "INPUT.json"} and {tmp_path / "INPUT"} as the Actor input; it is '
        'unclear which one is meant: keep only one of them'
    )


def test_malformed_fallback_json_names_the_path_line_and_column(tmp_path: Path) -> None:
    """A broken `INPUT.json` in the working directory is reported with its path and position."""
    path = tmp_path / 'INPUT.json'
    path.write_text('{"a": [1, 2,]}', encoding='utf-8')

    with pytest.raises(InputError) as info:
        load(fallback_dir=tmp_path)

    assert str(info.value) == (
        f'{path} is not valid JSON (line 1, column 13: Expecting value): fix the file or delete it'
    )


def test_fallback_files_are_ignored_without_fallback_dir(tmp_path: Path, monkeypatch: Any) -> None:
    """On the platform (no fallback dir) files in the working directory are never read."""
    (tmp_path / 'INPUT.json').write_text('{"a": 1}', encoding='utf-8')
    monkeypatch.chdir(tmp_path)

    assert load() is None


# --- no input -----------------------------------------------------------------------------------


def test_no_input_and_no_schema_gives_none(tmp_path: Path) -> None:
    """Nothing in the store, no files and no schema: the input is None."""
    assert load(fallback_dir=tmp_path, actor_dir=tmp_path) is None


def test_no_input_with_schema_gives_the_defaults(tmp_path: Path) -> None:
    """Like the platform, an Actor with a schema and no input gets the schema's defaults."""
    write_schema(tmp_path, {'maxPages': {'type': 'integer', 'default': 5}, 'q': {'type': 'string'}})

    assert load(fallback_dir=tmp_path, actor_dir=tmp_path) == {'maxPages': 5}
    assert load(fallback_dir=tmp_path, actor_dir=tmp_path, validate=False) is None


def test_no_input_with_required_fields_says_where_input_was_looked_for(tmp_path: Path) -> None:
    """Missing input with required fields fails, naming the store, the files and the fields."""
    schema_path = write_schema(tmp_path, {'q': {'type': 'string'}}, required=['q'])

    with pytest.raises(InputError) as info:
        load(fallback_dir=tmp_path, actor_dir=tmp_path)

    assert str(info.value) == (
        f"no input was found (no record 'INPUT' in {STORE}, nor INPUT.json or INPUT in "
        f'{tmp_path}) and the defaults of the input schema {schema_path} do not make a valid '
        'input; create the input with these fields:\n'
        '  - input.q: is required'
    )


# --- schema application -------------------------------------------------------------------------


def test_input_gets_defaults_and_is_validated(tmp_path: Path) -> None:
    """With validate on, the schema's defaults are added and every problem is reported."""
    schema_path = write_schema(
        tmp_path,
        {
            'startUrls': {'type': 'array', 'editor': 'requestListSources'},
            'maxPages': {'type': 'integer', 'default': 10},
        },
        required=['startUrls'],
    )

    assert load(
        {'INPUT': json_record({'startUrls': [{'url': 'https://a.com'}]})}, actor_dir=tmp_path
    ) == {
        'startUrls': [{'url': 'https://a.com'}],
        'maxPages': 10,
    }
    with pytest.raises(InputError) as info:
        load(
            {'INPUT': json_record({'startUrls': [{'url': 'a.com'}], 'maxPages': 'x'})},
            actor_dir=tmp_path,
        )
    assert str(info.value).startswith(f'input does not match the input schema {schema_path}')
    assert info.value.problems == (
        'input.startUrls[0].url: must be a URL starting with http:// or https:// (is "a.com")',
        'input.maxPages: must be an integer, not a string',
    )


def test_validation_is_skipped_when_off_or_without_actor_dir(tmp_path: Path) -> None:
    """validate=False or no actor_dir returns the input exactly as stored."""
    write_schema(tmp_path, {'n': {'type': 'integer', 'default': 1}}, required=['m'])
    records = {'INPUT': json_record({'n': 'not a number'})}

    assert load(records, actor_dir=tmp_path, validate=False) == {'n': 'not a number'}
    assert load(records, actor_dir=None) == {'n': 'not a number'}


def test_schema_named_by_actor_json_is_used(tmp_path: Path) -> None:
    """The inline schema of actor.json applies, and messages name actor.json's input field."""
    actor_json = tmp_path / '.actor' / 'actor.json'
    actor_json.parent.mkdir()
    schema = {
        'title': 'T',
        'type': 'object',
        'schemaVersion': 1,
        'properties': {'a': {'type': 'boolean'}},
    }
    actor_json.write_text(json.dumps({'input': schema}), encoding='utf-8')

    with pytest.raises(InputError) as info:
        load({'INPUT': json_record({'a': 'yes'})}, actor_dir=tmp_path)

    assert str(info.value).startswith(
        f'input does not match the input schema {actor_json} (its "input" field) (1 problem)'
    )


def test_text_input_with_a_schema_is_not_an_object(tmp_path: Path) -> None:
    """A non-JSON input cannot satisfy an input schema."""
    write_schema(tmp_path, {})

    with pytest.raises(InputError) as info:
        load({'INPUT': (b'hello', 'text/plain')}, actor_dir=tmp_path)

    assert info.value.problems == ('input: must be an object, not a string',)


def test_broken_schema_is_reported_even_without_input(tmp_path: Path) -> None:
    """A schema with an unknown type fails as a schema problem, not as missing input."""
    schema_path = write_schema(tmp_path, {'a': {'type': 'text'}})

    with pytest.raises(InputError) as info:
        load(fallback_dir=tmp_path, actor_dir=tmp_path)

    assert str(info.value).startswith(f'input schema {schema_path} is not valid (1 problem)')


def test_input_nested_too_deeply_is_an_input_error(tmp_path: Path) -> None:
    """An input nested deeper than Python can read gets an InputError naming where it is."""
    deep = b'[' * 100_000 + b']' * 100_000
    with pytest.raises(InputError, match=r"input record 'INPUT' .* nested too deeply"):
        load({'INPUT': (deep, 'application/json')})
    (tmp_path / 'INPUT.json').write_bytes(deep)
    with pytest.raises(InputError, match=r'INPUT\.json is JSON nested too deeply'):
        load(fallback_dir=tmp_path)
