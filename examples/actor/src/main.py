"""Word stats: counts the letters and vowels of the input's words, as an Actor.

A complete Actor folder: ``.actor/actor.json`` names it, ``.actor/input_schema.json`` gives
the input its defaults and checks it (on the platform, in ``apify run`` and in actorkit alike),
and ``.actor/Dockerfile`` builds it on the platform. Run it locally with ``apify run`` (the
official CLI) or ``python -m src``.
"""

from actorkit import actor

VOWELS = set('aeiouy')


def main():
    with actor:
        config = actor.get_input()  # the schema's defaults fill what the input leaves out
        words = [word for word in config['words'] if len(word) >= config['minLetters']]
        actor.push_data(
            [
                {
                    'word': word,
                    'letters': len(word),
                    'vowels': sum(ch in VOWELS for ch in word.lower()),
                }
                for word in words
            ]
        )
        actor.set_value('OUTPUT', {'words': len(words), 'letters': sum(map(len, words))})
        actor.set_status_message(f'Counted {len(words)} words', is_terminal=True)
