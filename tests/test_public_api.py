"""The public surface of the package and the cost of importing it."""

from __future__ import annotations

import json
import subprocess
import sys

import actorkit


def test_all_is_pinned() -> None:
    """The package exports exactly the documented names."""
    assert sorted(actorkit.__all__) == sorted(
        [
            'AbortingData',
            'Actor',
            'ActorStateError',
            'ActorkitError',
            'ApifyApiError',
            'ApifyClient',
            'ApifyClientError',
            'ApifyConnectionError',
            'ApifyTimeoutError',
            'ChargeResult',
            'ChargingManager',
            'Configuration',
            'ConfigurationError',
            'Event',
            'EventAbortingData',
            'EventData',
            'EventExitData',
            'EventMigratingData',
            'EventPersistStateData',
            'EventSystemInfoData',
            'ExitData',
            'InputError',
            'InvalidStorageArgumentError',
            'MigratingData',
            'PersistStateData',
            'ProxyConfiguration',
            'ProxyInfo',
            'Request',
            'Run',
            'Secret',
            'StorageError',
            'StorageLimitError',
            'StorageNotFoundError',
            'SystemInfoData',
            'Webhook',
            'WebhookEventType',
            '__version__',
            'actor',
        ]
    )
    for name in actorkit.__all__:
        assert hasattr(actorkit, name), name


def test_default_actor_is_an_actor_instance() -> None:
    """The module-level actor is a plain Actor, not a proxy."""
    assert type(actorkit.actor) is actorkit.Actor
    assert not actorkit.actor.is_running


PROBE = r"""
import json, logging, os, sys, threading

class Recorder(dict):
    reads = []
    def __getitem__(self, key):
        Recorder.reads.append(key)
        return super().__getitem__(key)
    def get(self, key, default=None):
        Recorder.reads.append(key)
        return super().get(key, default)

os.environ = Recorder(os.environ)
before_files = set(os.listdir('.'))
root_handlers = list(logging.getLogger().handlers)
root_level = logging.getLogger().level
import actorkit
after_files = set(os.listdir('.'))
print(json.dumps({
    'threads': [t.name for t in threading.enumerate()],
    'modules': [m for m in ('requests', 'websocket', 'psutil', 'filelock', 'cattrs', 'IPython',
                            'decimal', 'cryptography', 'actorkit.client', 'actorkit.charging',
                            'actorkit._proxy', 'actorkit._run_models', 'actorkit.storages._dataset')
                if m in sys.modules],
    'env_reads': [k for k in Recorder.reads if k.startswith(('APIFY', 'ACTOR', 'CRAWLEE'))],
    'new_files': sorted(after_files - before_files),
    'root_changed': logging.getLogger().handlers != root_handlers
                    or logging.getLogger().level != root_level,
    'actorkit_handlers': [type(h).__name__ for h in logging.getLogger('actorkit').handlers],
}))
"""


def test_import_has_no_side_effects(tmp_path) -> None:
    """Importing actorkit starts no thread, reads no env, writes no file and loads no client."""
    result = subprocess.run(
        [sys.executable, '-c', PROBE], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    report = json.loads(result.stdout)
    assert report['threads'] == ['MainThread']
    assert report['modules'] == []
    assert report['env_reads'] == []
    assert report['new_files'] == []
    assert report['root_changed'] is False
    assert report['actorkit_handlers'] == ['NullHandler']


def test_api_client_loads_on_first_use() -> None:
    """actorkit.ApifyClient is the client package's class, imported only when asked for."""
    code = (
        'import sys, actorkit; before = "requests" in sys.modules; '
        'from actorkit import ApifyClient; import actorkit.client as c; '
        'print(before, ApifyClient is c.ApifyClient)'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['False', 'True']


#: apify 4.1.0's ``__all__``, and the names of it that actorkit leaves out on purpose.
OFFICIAL_TOP_LEVEL = [
    'Actor', 'ActorEnvVars', 'ActorEventTypes', 'ApifyEnvVars', 'Configuration', 'Event',
    'EventAbortingData', 'EventExitData', 'EventListener', 'EventMigratingData',
    'EventPersistStateData', 'EventSystemInfoData', 'ProxyConfiguration', 'ProxyInfo',
    'Request', 'Webhook', 'WebhookEventType', '__version__',
]  # fmt: skip
LEFT_OUT = {
    'ActorEnvVars': 'environment variable name enums: actorkit.Configuration reads them all',
    'ApifyEnvVars': 'environment variable name enums: actorkit.Configuration reads them all',
    'ActorEventTypes': 'an alias of Event in the official SDK',
    'EventListener': 'a typing alias; listeners are plain callables',
}


def test_official_top_level_names_exist() -> None:
    """Every top-level name of the official package is importable from actorkit, or left out."""
    missing = [n for n in OFFICIAL_TOP_LEVEL if n not in LEFT_OUT and not hasattr(actorkit, n)]
    assert missing == []
    assert actorkit.EventPersistStateData is actorkit.PersistStateData
    from actorkit.storages import Request

    assert actorkit.Request is Request
