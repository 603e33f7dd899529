"""Read the public signatures of the official SDK's classes; pin them in official_signatures.json.

Run it with the interpreter that has the official packages (apify 4.x on crawlee 1.x)::

    /tmp/official-venv/bin/python tests/official_signatures.py

``tests/test_official_signatures.py`` compares actorkit's signatures with what this module
collects: from the live packages when ``apify`` is importable (the ``official`` tox env), else
from the pinned JSON. Only the classes' own public members count: those defined by ``apify`` or
``crawlee`` (pydantic's ``BaseModel`` methods of ``Request`` are not part of the SDK's API).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PINNED = Path(__file__).with_name('official_signatures.json')
"""Where the pinned signatures are written."""

CLASSES = {
    'Actor': ('apify._actor', '_ActorType'),
    'Dataset': ('crawlee.storages', 'Dataset'),
    'KeyValueStore': ('crawlee.storages', 'KeyValueStore'),
    'RequestQueue': ('crawlee.storages', 'RequestQueue'),
    'Request': ('crawlee', 'Request'),
}
"""Each class by the name actorkit gives it: (module, attribute) in the official packages."""

_OWN_PACKAGES = ('apify', 'crawlee')


def _parameters(function: Any) -> list[dict[str, Any]]:
    signature = inspect.signature(function)
    params = list(signature.parameters.values())
    if params and params[0].name in ('self', 'cls'):
        params = params[1:]
    return [
        {
            'name': param.name,
            'kind': param.kind.name,
            'has_default': param.default is not inspect.Parameter.empty,
        }
        for param in params
    ]


def describe_class(cls: type) -> dict[str, Any]:
    """Return the public methods (with parameters) and properties ``cls`` defines itself."""
    methods: dict[str, Any] = {}
    properties: list[str] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(_OWN_PACKAGES):
            continue
        for name, member in vars(klass).items():
            if name.startswith('_') or name in seen:
                continue
            seen.add(name)
            if isinstance(member, (property, functools.cached_property)):
                properties.append(name)
            elif isinstance(member, (classmethod, staticmethod)):
                methods[name] = {'parameters': _parameters(member.__func__)}
            elif inspect.isfunction(member):
                methods[name] = {'parameters': _parameters(member)}
    return {
        'methods': dict(sorted(methods.items())),
        'properties': sorted(properties),
    }


def collect() -> dict[str, Any]:
    """Read every class of :data:`CLASSES` from the installed official packages."""
    classes = {}
    for label, (module, attribute) in CLASSES.items():
        classes[label] = describe_class(getattr(importlib.import_module(module), attribute))
    return {
        'versions': {name: metadata.version(name) for name in _OWN_PACKAGES},
        'classes': classes,
    }


def main() -> int:
    """Write the pinned JSON from the installed official packages."""
    PINNED.write_text(json.dumps(collect(), indent=2) + '\n', encoding='utf-8')
    print(f'wrote {PINNED}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
