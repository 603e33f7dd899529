"""Finding the input schema and checking inputs against it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from actorkit._errors import InputError
from actorkit.storages._input_schema import apply_input_schema, find_input_schema

SCHEMA_PATH = '.actor/input_schema.json'


def make_schema(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        'title': 'Test input',
        'type': 'object',
        'schemaVersion': 1,
        'properties': properties,
        **extra,
    }


def field(type_: Any, **extra: Any) -> dict[str, Any]:
    return {'title': 'A field', 'description': 'A field.', 'type': type_, **extra}


def apply(value: Any, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return apply_input_schema(value, make_schema(properties, **extra), schema_path=SCHEMA_PATH)


def problems_of(value: Any, properties: dict[str, Any], **extra: Any) -> list[str]:
    with pytest.raises(InputError) as info:
        apply(value, properties, **extra)
    return list(info.value.problems)


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding='utf-8')
    return path


# --- finding the schema -------------------------------------------------------------------------


def test_no_schema_anywhere_gives_none(tmp_path: Path) -> None:
    """An Actor directory without any schema file has no input schema."""
    assert find_input_schema(tmp_path) is None


def test_schema_is_found_in_actor_folder(tmp_path: Path) -> None:
    """`.actor/input_schema.json` is found when actor.json names no schema."""
    path = write_json(tmp_path / '.actor' / 'input_schema.json', make_schema({}))
    write_json(tmp_path / '.actor' / 'actor.json', {'actorSpecification': 1, 'name': 'a'})

    assert find_input_schema(tmp_path) == (make_schema({}), path)


def test_schema_path_named_in_actor_json_is_relative_to_actor_folder(tmp_path: Path) -> None:
    """The `input` path of actor.json is resolved against `.actor/` and wins over defaults."""
    named = make_schema({'a': field('string')})
    path = write_json(tmp_path / '.actor' / 'schemas' / 'in.json', named)
    write_json(tmp_path / '.actor' / 'input_schema.json', make_schema({}))
    write_json(tmp_path / '.actor' / 'actor.json', {'input': './schemas/in.json'})

    assert find_input_schema(tmp_path) == (named, path)


def test_inline_schema_in_actor_json_is_used(tmp_path: Path) -> None:
    """An object in the `input` field of actor.json is the schema itself."""
    inline = make_schema({'b': field('integer')})
    actor_json = write_json(tmp_path / '.actor' / 'actor.json', {'input': inline})

    assert find_input_schema(tmp_path) == (inline, actor_json)


def test_legacy_schema_in_actor_root_is_found(tmp_path: Path) -> None:
    """The legacy `INPUT_SCHEMA.json` in the Actor's top-level directory is still found."""
    path = write_json(tmp_path / 'INPUT_SCHEMA.json', make_schema({}))

    assert find_input_schema(tmp_path) == (make_schema({}), path)


def test_malformed_schema_file_names_file_line_and_column(tmp_path: Path) -> None:
    """A schema file that is not JSON fails with its path and the error position."""
    path = tmp_path / '.actor' / 'input_schema.json'
    path.parent.mkdir()
    path.write_text('{\n  "title": "x",\n  "properties": {,}\n}', encoding='utf-8')

    with pytest.raises(InputError) as info:
        find_input_schema(tmp_path)

    assert str(info.value) == (
        f'input schema {path} is not valid JSON (line 3, column 18: Expecting property name '
        'enclosed in double quotes): fix the file'
    )


def test_malformed_actor_json_names_the_file(tmp_path: Path) -> None:
    """A broken actor.json is reported with its own path and position."""
    path = tmp_path / '.actor' / 'actor.json'
    path.parent.mkdir()
    path.write_text('{"input": }', encoding='utf-8')

    with pytest.raises(InputError, match=r'actor\.json .*is not valid JSON \(line 1, column 11'):
        find_input_schema(tmp_path)


def test_missing_schema_file_named_in_actor_json_fails(tmp_path: Path) -> None:
    """actor.json naming a schema file that does not exist is an error, not silence."""
    write_json(tmp_path / '.actor' / 'actor.json', {'input': 'missing.json'})

    with pytest.raises(InputError, match=r'missing\.json named by the "input" field .* not exist'):
        find_input_schema(tmp_path)


def test_actor_json_input_of_wrong_type_fails(tmp_path: Path) -> None:
    """An `input` field that is neither an object nor a path is reported."""
    write_json(tmp_path / '.actor' / 'actor.json', {'input': 42})

    with pytest.raises(InputError, match='must be an input schema object or a path'):
        find_input_schema(tmp_path)


def test_schema_file_holding_a_list_fails(tmp_path: Path) -> None:
    """A schema file must hold a JSON object."""
    write_json(tmp_path / 'INPUT_SCHEMA.json', [1, 2])

    with pytest.raises(InputError, match='must hold a JSON object, not an array'):
        find_input_schema(tmp_path)


# --- defaults -----------------------------------------------------------------------------------


def test_defaults_fill_missing_fields_without_touching_the_input() -> None:
    """Missing fields get their defaults in a new dict; the caller's dict is unchanged."""
    properties = {
        'maxPages': field('integer', default=10),
        'query': field('string', prefill='shoes'),
        'tags': field('array', default=['a']),
    }
    value = {'given': True}

    result = apply(value, properties)

    assert result == {'given': True, 'maxPages': 10, 'tags': ['a']}
    assert value == {'given': True}
    result['tags'].append('b')
    assert properties['tags']['default'] == ['a']


def test_present_null_is_kept_and_rejected_unless_nullable() -> None:
    """A field set to null keeps null (no default), which only a nullable field accepts."""
    properties = {
        'a': field('integer', default=1),
        'b': field('integer', default=2, nullable=True),
    }

    assert apply({'b': None, 'a': 5}, properties) == {'a': 5, 'b': None}
    assert problems_of({'a': None}, properties) == ['input.a: must be an integer, not null']


def test_nested_defaults_are_not_applied() -> None:
    """Defaults of sub-properties are a UI feature; only top-level defaults are filled."""
    properties = {
        'config': field('object', properties={'timeout': field('integer', default=30)}, default={}),
    }

    assert apply({}, properties) == {'config': {}}


# --- required, types and simple constraints -----------------------------------------------------


def test_input_must_be_an_object() -> None:
    """A list, a string or bytes is not a valid input when there is a schema."""
    with pytest.raises(InputError) as info:
        apply([1, 2], {})

    assert str(info.value) == (
        f'input does not match the input schema {SCHEMA_PATH}: the input must be a JSON object; '
        'fix the input\n  - input: must be an object, not an array'
    )
    assert problems_of(b'raw', {}) == ['input: must be an object, not binary data']


def test_required_fields_must_be_present_unless_they_have_a_default() -> None:
    """`required` fields are enforced; one with a default always has a value."""
    properties = {'a': field('string'), 'b': field('string', default='x')}

    assert problems_of({}, properties, required=['a', 'b']) == ['input.a: is required']
    assert apply({'a': ''}, properties, required=['a', 'b']) == {'a': '', 'b': 'x'}


def test_required_array_must_not_be_empty() -> None:
    """A required top-level array needs at least one item, as on the platform."""
    properties = {'urls': field('array', editor='json')}

    assert problems_of({'urls': []}, properties, required=['urls']) == [
        'input.urls: must have at least 1 item (has 0)'
    ]
    assert apply({'urls': []}, properties) == {'urls': []}


@pytest.mark.parametrize(
    ('type_', 'value', 'problem'),
    [
        ('string', 5, 'must be a string, not an integer'),
        ('integer', 2.5, 'must be an integer, not a number'),
        ('integer', True, 'must be an integer, not a boolean'),
        ('number', '1', 'must be a number, not a string'),
        ('boolean', 1, 'must be a boolean, not an integer'),
        ('array', {}, 'must be an array, not an object'),
        ('object', [], 'must be an object, not an array'),
        (['string', 'integer'], [], 'must be a string or an integer, not an array'),
    ],
)
def test_wrong_types_are_reported(type_: Any, value: Any, problem: str) -> None:
    """Each type rejects values of other JSON types."""
    assert problems_of({'f': value}, {'f': field(type_)}) == [f'input.f: {problem}']


@pytest.mark.parametrize(
    ('type_', 'value'),
    [
        ('integer', 3.0),
        ('number', 3),
        ('number', 2.5),
        (['string', 'integer'], 'x'),
        (['array', 'object'], {}),
    ],
)
def test_compatible_values_pass_the_type_check(type_: Any, value: Any) -> None:
    """A float without fraction is an integer (as in JavaScript); an int is a number."""
    assert apply({'f': value}, {'f': field(type_)}) == {'f': value}


def test_string_constraints() -> None:
    """enum, minLength, maxLength and pattern are checked on strings."""
    properties = {
        'country': field('string', editor='select', enum=['us', 'de']),
        'name': field('string', minLength=2, maxLength=4),
        'code': field('string', pattern='^[A-Z]{2}$'),
    }

    assert apply({'country': 'de', 'name': 'abc', 'code': 'CZ'}, properties)
    assert problems_of({'country': 'fr', 'name': 'a', 'code': 'CZ\n'}, properties) == [
        'input.country: must be one of "us", "de" (is "fr")',
        'input.name: must be at least 2 characters long (is 1)',
        'input.code: must match the pattern "^[A-Z]{2}$"',
    ]
    assert problems_of({'name': 'abcde'}, properties) == [
        'input.name: must be at most 4 characters long (is 5)'
    ]


def test_pattern_is_searched_like_javascript_test() -> None:
    """A pattern without anchors matches anywhere in the string, as RegExp.test does."""
    properties = {'word': field('string', pattern=r'\d+')}

    assert apply({'word': 'abc123'}, properties) == {'word': 'abc123'}
    assert problems_of({'word': 'abc'}, properties) == [
        'input.word: must match the pattern "\\\\d+"'
    ]


def test_number_limits() -> None:
    """minimum and maximum are inclusive."""
    properties = {'n': field('number', minimum=1, maximum=2.5)}

    assert apply({'n': 2.5}, properties) == {'n': 2.5}
    assert problems_of({'n': 0}, properties) == ['input.n: must be at least 1 (is 0)']
    assert problems_of({'n': 3}, properties) == ['input.n: must be at most 2.5 (is 3)']


def test_array_constraints_and_item_enum() -> None:
    """minItems, maxItems, uniqueItems and `items.enum` of a multi-select are checked."""
    properties = {
        'colors': field(
            'array',
            editor='select',
            items={'type': 'string', 'enum': ['red', 'blue']},
            maxItems=2,
            uniqueItems=True,
        ),
    }

    assert apply({'colors': ['red', 'blue']}, properties)
    assert problems_of({'colors': ['red', 'green', 'red']}, properties) == [
        'input.colors: must have at most 2 items (has 3)',
        'input.colors: items must be unique (input.colors[0] and input.colors[2] are equal)',
        'input.colors[1]: must be one of "red", "blue" (is "green")',
    ]


def test_unique_items_uses_json_equality() -> None:
    """1 and 1.0 are the same JSON value; true and 1 are not."""
    properties = {'xs': field('array', editor='json', uniqueItems=True)}

    assert apply({'xs': [True, 1, {'a': [1]}, {'a': [2]}]}, properties)
    assert problems_of({'xs': [1, 1.0]}, properties) == [
        'input.xs: items must be unique (input.xs[0] and input.xs[1] are equal)'
    ]


# --- nested sub-schemas -------------------------------------------------------------------------


def test_nested_object_sub_schema_reports_full_paths() -> None:
    """Sub-properties of objects and of array items are checked recursively with full paths."""
    properties = {
        'config': field(
            'object',
            editor='json',
            properties={
                'timeout': field('integer', minimum=1),
                'locale': field('string', pattern='^[a-z]{2}-[A-Z]{2}$'),
            },
            required=['locale'],
            additionalProperties=False,
        ),
        'headers': field(
            'array',
            editor='json',
            items={
                'type': 'object',
                'properties': {'name': field('string', minLength=1), 'value': field('string')},
                'required': ['name', 'value'],
            },
        ),
    }
    value = {
        'config': {'timeout': 0, 'debug': True},
        'headers': [{'name': 'a', 'value': 'b'}, {'name': '', 'value': 5}],
    }

    assert problems_of(value, properties) == [
        'input.config.timeout: must be at least 1 (is 0)',
        'input.config.locale: is required',
        'input.config.debug: is not allowed (the schema defines no such field)',
        'input.headers[1].name: must be at least 1 characters long (is 0)',
        'input.headers[1].value: must be a string, not an integer',
    ]


def test_nested_required_applies_only_when_the_object_is_present() -> None:
    """A missing optional object does not trigger its sub-properties' `required`."""
    properties = {
        'config': field('object', properties={'a': field('string')}, required=['a']),
    }

    assert apply({}, properties) == {}


def test_unknown_top_level_fields_rejected_only_when_additional_properties_is_false() -> None:
    """Extra input fields are allowed by default and rejected with additionalProperties false."""
    properties = {'a': field('string')}

    assert apply({'a': 'x', 'extra': 1}, properties) == {'a': 'x', 'extra': 1}
    assert problems_of({'extra': 1}, properties, additionalProperties=False) == [
        'input.extra: is not allowed (the schema defines no such field)'
    ]


def test_odd_field_names_are_quoted_in_paths() -> None:
    """Field names that are not identifiers appear in brackets."""
    properties = {'my field': field('string')}

    assert problems_of({'my field': 1}, properties) == [
        'input["my field"]: must be a string, not an integer'
    ]


# --- editors ------------------------------------------------------------------------------------


def test_request_list_sources_items_need_an_http_url() -> None:
    """Each start URL is an object with an http(s) `url` or `requestsFromUrl`."""
    properties = {'startUrls': field('array', editor='requestListSources')}
    value = {
        'startUrls': [
            {'url': 'https://apify.com'},
            {'requestsFromUrl': 'HTTP://example.com/list.txt'},
            {'url': 'ftp://example.com'},
            'https://example.com',
            {'method': 'GET'},
        ]
    }

    assert problems_of(value, properties) == [
        'input.startUrls[2].url: must be a URL starting with http:// or https:// '
        '(is "ftp://example.com")',
        'input.startUrls[3]: must be an object with a "url" or a "requestsFromUrl"',
        'input.startUrls[4]: must be an object with a "url" or a "requestsFromUrl"',
    ]


def test_pattern_key_and_value_of_key_value_and_string_list_arrays() -> None:
    """The deprecated patternKey/patternValue still apply to keyValue and stringList arrays."""
    properties = {
        'headers': field('array', editor='keyValue', patternKey='^[a-z-]+$', patternValue='.'),
        'tags': field('array', editor='stringList', patternValue='^#'),
    }
    value = {
        'headers': [{'key': 'accept', 'value': 'x'}, {'key': 'Bad Key', 'value': ''}],
        'tags': ['#ok', 'no'],
    }

    assert problems_of(value, properties) == [
        'input.headers[1].key: must be a string matching "^[a-z-]+$"',
        'input.headers[1].value: must be a string matching "."',
        'input.tags[1]: must be a string matching "^#"',
    ]


def test_pattern_key_and_value_of_objects() -> None:
    """Object keys and values are checked against patternKey and patternValue."""
    properties = {'env': field('object', editor='json', patternKey='^[A-Z_]+$', patternValue='.')}

    assert problems_of({'env': {'OK': 'x', 'bad': 'y', 'EMPTY': '', 'NUM': 1}}, properties) == [
        'input.env: key "bad" must match the pattern "^[A-Z_]+$"',
        'input.env.EMPTY: must be a string matching "."',
        'input.env.NUM: must be a string matching "."',
    ]


def test_required_proxy_needs_apify_proxy_or_urls() -> None:
    """A required proxy field must enable Apify Proxy or give custom proxy URLs."""
    properties = {'proxy': field('object', editor='proxy')}

    assert apply({'proxy': {'useApifyProxy': True}}, properties, required=['proxy'])
    assert problems_of(
        {'proxy': {'useApifyProxy': False, 'apifyProxyCountry': 'US'}},
        properties,
        required=['proxy'],
    ) == [
        'input.proxy: is required; set "useApifyProxy": true or give a non-empty "proxyUrls"',
        'input.proxy.apifyProxyCountry: can be set only with "useApifyProxy": true; '
        'set useApifyProxy or remove the country',
    ]


# --- secrets ------------------------------------------------------------------------------------


def test_encrypted_secret_values_are_not_checked() -> None:
    """Values still encrypted by the platform pass, whatever the field's rules."""
    properties = {
        'password': field('string', editor='textfield', isSecret=True, minLength=50),
        'config': field('object', editor='json', isSecret=True),
    }
    value = {
        'password': 'ENCRYPTED_VALUE:Hw/uqRMRNHmxXYYDJCyaQX6xcw==:YWJjZA==',
        'config': 'ENCRYPTED_JSON:c2VjcmV0:a2V5:dmFsdWU=',
    }

    assert apply(value, properties) == value


def test_plain_secret_values_are_checked_but_never_shown() -> None:
    """A secret field's plain value is validated, and messages never contain it."""
    properties = {
        'token': field('string', editor='textfield', isSecret=True, enum=['a', 'b']),
        'keys': field('array', editor='json', isSecret=True, items={'type': 'integer'}),
    }

    problems = problems_of({'token': 'hunter2-secret', 'keys': [3, 'opensesame']}, properties)

    assert problems == [
        'input.token: must be one of "a", "b"',
        'input.keys[1]: must be an integer, not a string',
    ]
    assert 'hunter2' not in ' '.join(problems)
    assert 'opensesame' not in ' '.join(problems)


# --- many problems at once ----------------------------------------------------------------------


def test_all_problems_are_reported_in_one_error() -> None:
    """Every problem of the input is in one InputError, with a header naming the schema."""
    properties = {
        'startUrls': field('array', editor='requestListSources'),
        'maxPages': field('integer', minimum=1),
        'mode': field('string', enum=['fast', 'slow']),
    }

    with pytest.raises(InputError) as info:
        apply(
            {'startUrls': [{'url': 'x'}], 'maxPages': 0, 'mode': 'medium'},
            properties,
            required=['startUrls', 'query'],
        )

    assert str(info.value) == (
        f'input does not match the input schema {SCHEMA_PATH} (4 problems); fix the input:\n'
        '  - input.startUrls[0].url: must be a URL starting with http:// or https:// (is "x")\n'
        '  - input.maxPages: must be at least 1 (is 0)\n'
        '  - input.mode: must be one of "fast", "slow" (is "medium")\n'
        '  - input.query: is required'
    )
    assert isinstance(info.value, ValueError)


# --- the schema itself --------------------------------------------------------------------------


def test_unknown_type_names_schema_file_and_property() -> None:
    """A field with a type the specification does not know makes the schema invalid."""
    properties = {
        'a': field('strng'),
        'b': field('object', properties={'c': field(['string', 'null'])}),
        'd': field('array', items={'type': 'integer'}, minItems=-1),
    }

    with pytest.raises(InputError) as info:
        apply({}, properties)

    assert str(info.value) == (
        f'input schema {SCHEMA_PATH} is not valid (3 problems); fix the schema:\n'
        '  - properties.a.type: unknown type "strng"; '
        'use one of: string, integer, number, boolean, array, object\n'
        '  - properties.b.properties.c.type: unknown type "null"; '
        'use one of: string, integer, number, boolean, array, object, or a non-empty list of them\n'
        '  - properties.d.minItems: must be a non-negative integer'
    )


def test_bad_keyword_values_are_reported_once_each() -> None:
    """Keyword values of the wrong kind are schema problems, each reported once."""
    properties = {
        'o': field('object', additionalProperties='no', required='a'),
        's': field('string', pattern=5, nullable='yes', enum='a'),
    }

    with pytest.raises(InputError) as info:
        apply({}, properties)

    assert info.value.problems == (
        'properties.o.required: must be a list of field names',
        'properties.o.additionalProperties: must be true or false',
        'properties.s.nullable: must be true or false',
        'properties.s.pattern: must be a regular expression string',
        'properties.s.enum: must be a list of the allowed values',
    )


def test_schema_without_properties_is_invalid() -> None:
    """A schema must be an object with `properties`."""
    with pytest.raises(InputError) as info:
        apply_input_schema({}, {'title': 'x'}, schema_path=SCHEMA_PATH)

    assert info.value.problems == (
        'properties: must be an object mapping each field name to its definition',
    )


def test_field_without_type_is_invalid() -> None:
    """Every field definition needs a type."""
    with pytest.raises(InputError) as info:
        apply({}, {'a': {'title': 'A'}})

    assert info.value.problems == (
        'properties.a: has no "type"; use one of: string, integer, number, boolean, array, object',
    )


def test_default_that_breaks_its_field_is_a_schema_problem() -> None:
    """A default of the wrong type is reported against the schema, not the input."""
    with pytest.raises(InputError) as info:
        apply({}, {'n': field('integer', default='10')})

    assert info.value.problems == ('properties.n.default: must be an integer, not a string',)
    assert str(info.value).startswith(f'input schema {SCHEMA_PATH} is not valid')


def test_pattern_python_cannot_compile_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A JavaScript-only pattern (variable-width lookbehind) is not enforced locally."""
    properties = {'w': field('string', pattern='(?<=a+)b')}

    with caplog.at_level(logging.WARNING, logger='actorkit.input'):
        assert apply({'w': 'zzz'}, properties) == {'w': 'zzz'}

    assert 'cannot be compiled by Python' in caplog.text
    assert 'input.w' in caplog.text
