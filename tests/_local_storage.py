"""Reading and writing a local run's storage folder directly, as a test sees it from outside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_input(storage: Path, value: Any, key: str = 'INPUT') -> None:
    """Write the run input where a local run reads it."""
    store = storage / 'key_value_stores' / 'default'
    store.mkdir(parents=True, exist_ok=True)
    (store / f'{key}.json').write_text(json.dumps(value), encoding='utf-8')


def dataset_items(storage: Path, name: str = 'default') -> list[dict[str, Any]]:
    """The items of a local dataset, in order."""
    folder = storage / 'datasets' / name
    return [
        json.loads(path.read_text(encoding='utf-8'))
        for path in sorted(folder.glob('*.json'))
        if not path.name.startswith('__')
    ]
