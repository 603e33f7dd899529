"""A small Actor: counts the words of the texts in its input and stores the results.

Run it from the repository root (see README.rst); it writes to ./storage and tells you where.
Give it your own input in ./storage/key_value_stores/default/INPUT.json or ./INPUT.json:
``{"texts": ["some text", "more text"]}``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from actorkit import Event, actor

SAMPLE_TEXTS = [
    'An Actor reads a JSON input, does a job, and writes its results to storages.',
    'The key-value store keeps files and state; the dataset keeps result rows.',
    'actorkit runs the same blocking code locally and on the platform.',
]


def main() -> None:
    with actor:
        config = actor.get_input() or {}
        texts = config.get('texts') or SAMPLE_TEXTS
        state = actor.use_state({'done': 0, 'words': 0})
        actor.on(Event.PERSIST_STATE, lambda: actor.log.debug('state saved: %s', state))

        for index in range(state['done'], len(texts)):
            words = texts[index].lower().split()
            actor.push_data(
                {
                    'index': index,
                    'words': len(words),
                    'most_common': Counter(words).most_common(3),
                }
            )
            with state.lock:
                state['done'] = index + 1
                state['words'] += len(words)
            actor.set_status_message(f'Counted {index + 1} of {len(texts)} texts')

        actor.set_value('OUTPUT', {'texts': len(texts), 'words': state['words']})
        root = Path(actor.config.local_storage_dir).resolve()
        print(f'Counted {state["words"]} words in {len(texts)} texts.')
        print(f'Rows (one per text): {root / "datasets" / "default"}')
        print(f'Summary record:      {root / "key_value_stores" / "default" / "OUTPUT"}')


if __name__ == '__main__':
    main()
