"""A legacy script made an Actor: three added lines, and it resumes where it stopped.

The script squares numbers slowly (it stands for any long job: renaming files, calling an
API, converting documents). As an Actor it reads its input, pushes each result to the default
dataset and, when it is killed and started again on the same storage (a crash, or the platform
migrating the run), skips the numbers it already pushed.

Run it twice, interrupting the first run::

    python examples/legacy_script.py            # Ctrl+C or kill -9 it half-way
    APIFY_PURGE_ON_START=0 python examples/legacy_script.py

(On the platform a restarted run keeps its storages; locally ``APIFY_PURGE_ON_START=0`` keeps
them, as ``actorkit run --migrate-after`` does.)
"""

import time

from actorkit import actor


def slow_square(number, delay):
    """The legacy script's real work."""
    time.sleep(delay)
    return number * number


actor.init()  # added: the Actor run starts
config = actor.get_input() or {}
count = config.get('count', 20)
delay = config.get('delay', 0.2)

# The dataset is the progress record: every pushed item is a number that is done. A push is
# written whole or not at all, so nothing is lost or done twice when the script is killed.
dataset = actor.open_dataset()
done = {item['number'] for item in dataset.iterate_items()}
starts = (actor.get_value('STARTS') or 0) + 1
actor.set_value('STARTS', starts)
print(f'start {starts}: {len(done)} of {count} numbers already done', flush=True)

for number in range(count):
    if number in done:
        continue
    dataset.push_data({'number': number, 'square': slow_square(number, delay)})
    print(f'processed {number}', flush=True)

total = sum(item['square'] for item in dataset.iterate_items())
actor.set_value('OUTPUT', {'count': count, 'sum_of_squares': total, 'starts': starts})
print(f'sum of squares: {total}', flush=True)
actor.exit()  # added: the run ends (and the process, with exit code 0)
