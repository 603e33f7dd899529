"""At-home benchmarks: actorkit against the official SDK and plain HTTP loops, over the API.

Every run starts a fresh FakePlatform (``home_server.py``, a process of its own, with a fresh
run: empty default dataset, key-value store and request queue) and then one worker process
with that run's environment (``APIFY_IS_AT_HOME=1``, token, API URL, storage ids), so both SDKs
work as on the platform and every storage call is an API call. Implementations:

- ``official``: ``apify==4.1.0`` in its own venv, ``async with Actor:`` as its docs show;
- ``official-shared`` (request queue jobs only): the same with the queue in its ``shared``
  access mode (head-and-lock, safe for several consumer processes, like actorkit's queue);
- ``actorkit``: actorkit's blocking API from a normal install in its own venv;
- ``requests`` / ``http.client``: the same API calls as actorkit in a bare loop on one
  ``requests.Session`` / ``http.client.HTTPConnection`` per thread (the plain-Python limits;
  the ``http.client`` loop is also the ceiling of the server itself).

Jobs: ``push1`` (one item per call), ``batch`` (lists of 1,000), ``kvs`` (set then get N
records), ``rq1`` and ``rq4`` (add N requests, then consume them, fetch + mark handled, with 1
or 4 consumers: threads for actorkit and the loops, asyncio tasks for the official SDK). The
rounds interleave the implementations; ratios are actorkit / other, paired by round.

Usage (from the repository root, any Python 3.10+)::

    python bench/home.py              # full run (3 rounds; see --n for the sizes)
    python bench/home.py --quick      # smoke check: small sizes, 1 round
    python bench/home.py --profile    # also profile one actorkit run of each job

See bench/README.md ("At home").
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _shared  # noqa: E402
import run  # noqa: E402 - the venv set-up of the local benchmarks

JOBS = ('push1', 'batch', 'kvs', 'rq1', 'rq4')
IMPLS = ('official', 'official-shared', 'actorkit', 'requests', 'http.client', 'http.client-1call')
#: What a plain run runs (`http.client-1call` only when asked for with --impls).
DEFAULT_IMPLS = IMPLS[:-1]
#: Implementations that only make sense for some jobs.
ONLY_FOR = {'official-shared': ('rq1', 'rq4'), 'http.client-1call': ('rq1', 'rq4')}
OTHERS = ('official', 'official-shared', 'requests', 'http.client', 'http.client-1call')

DEFAULT_N = {'push1': 10_000, 'batch': 100_000, 'kvs': 2_000, 'rq1': 5_000, 'rq4': 5_000}
QUICK_N = {'push1': 500, 'batch': 5_000, 'kvs': 200, 'rq1': 1_000, 'rq4': 1_000}

METRICS: dict[str, list[tuple[str, str, str]]] = {
    # job: [(metric, label, client CPU seconds metric)]
    'push1': [('items_per_s', 'items/s', 'cpu_s')],
    'batch': [('items_per_s', 'items/s', 'cpu_s')],
    'kvs': [('set_ops_per_s', 'set/s', 'set_cpu_s'), ('get_ops_per_s', 'get/s', 'get_cpu_s')],
    'rq1': [
        ('add_per_s', 'add req/s', 'add_cpu_s'),
        ('consume_per_s', 'consume/s', 'consume_cpu_s'),
    ],
    'rq4': [
        ('add_per_s', 'add req/s', 'add_cpu_s'),
        ('consume_per_s', 'consume/s', 'consume_cpu_s'),
    ],
}

JOB_TITLES = {
    'push1': 'push_data, one item per call',
    'batch': 'push_data, lists of 1,000 items',
    'kvs': 'set_value then get_value of small JSON records',
    'rq1': 'add_requests, then 1 consumer (fetch_next_request + mark_request_as_handled)',
    'rq4': 'add_requests, then 4 consumers (threads; official: asyncio tasks)',
}


# ----------------------------------------------------------------------------- running


def _worker_cmd(impl: str, job: str, n: int, pythons: dict[str, Path]) -> list[str]:
    worker_job = 'rq' if job.startswith('rq') else job
    args = [worker_job, '--n', str(n)]
    if job == 'rq4':
        args += ['--consumers', '4']
    if impl.startswith('official'):
        script, python = 'home_jobs_official.py', pythons['official']
        if impl == 'official-shared':
            args += ['--variant', 'shared']
    elif impl == 'actorkit':
        script, python = 'home_jobs_actorkit.py', pythons['actorkit']
    else:
        script, python = 'home_jobs_raw.py', pythons['actorkit']
        args += ['--variant', impl]
    return [str(python), str(HERE / script), *args]


def _base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(('APIFY_', 'CRAWLEE_', 'ACTOR_', 'ACTORKIT_'))
    }
    env['APIFY_LOG_LEVEL'] = 'ERROR'
    return env


class Server:
    """One FakePlatform in a process of its own (``home_server.py``), for one run."""

    def __init__(self, python: Path) -> None:
        self.proc = subprocess.Popen(
            [str(python), str(HERE / 'home_server.py')],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_base_env(),
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            _, err = self.proc.communicate(timeout=10)
            raise RuntimeError(f'the FakePlatform server did not start:\n{err[-3000:]}')
        self.env: dict[str, str] = json.loads(line)
        self.api = self.env['APIFY_API_BASE_URL'].rstrip('/')

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            self.api + path, headers={'Authorization': f'Bearer {self.env["APIFY_TOKEN"]}'}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def calls(self) -> dict[str, int]:
        """Return the API calls the server received so far, by method and path shape."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write('calls\n')
        self.proc.stdin.flush()
        counts: dict[str, int] = json.loads(self.proc.stdout.readline())
        return counts

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def verify(server: Server, job: str, n: int) -> None:
    """Check on the platform that the run did what the job says (raises VerificationError)."""
    env = server.env
    if job in ('push1', 'batch'):
        dataset = env['ACTOR_DEFAULT_DATASET_ID']
        items: list[Any] = []
        while True:
            page = server.get(f'/v2/datasets/{dataset}/items?offset={len(items)}&limit=20000')
            if not page:
                break
            items.extend(page)
        if len(items) != n:
            raise _shared.VerificationError(f'the dataset holds {len(items)} items, not {n}')
        for i, item in enumerate(items):
            if item != _shared.make_item(i):
                raise _shared.VerificationError(
                    f'item {i} is {item!r}, not {_shared.make_item(i)!r}'
                )
    elif job == 'kvs':
        store = env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
        keys: list[str] = []
        start = ''
        while True:
            query = f'?limit=1000&exclusiveStartKey={start}' if start else '?limit=1000'
            data = server.get(f'/v2/key-value-stores/{store}/keys{query}')['data']
            keys.extend(item['key'] for item in data['items'])
            if not data.get('isTruncated'):
                break
            start = data['nextExclusiveStartKey']
        records = sorted(key for key in keys if key.startswith('record-'))
        if records != [_shared.record_key(i) for i in range(n)]:
            raise _shared.VerificationError(f'the store holds {len(records)} records, not {n}')
        for i in (0, n // 2, n - 1):
            got = server.get(f'/v2/key-value-stores/{store}/records/{_shared.record_key(i)}')
            if got != _shared.make_record(i):
                raise _shared.VerificationError(f'record {i} is {got!r}')
    else:
        queue = server.get(f'/v2/request-queues/{env["ACTOR_DEFAULT_REQUEST_QUEUE_ID"]}')['data']
        counts = (queue['totalRequestCount'], queue['handledRequestCount'])
        if counts != (n, n):
            raise _shared.VerificationError(
                f'the queue has {counts[0]} requests, {counts[1]} handled; expected {n} and {n}'
            )


class Runner:
    def __init__(self, args: argparse.Namespace, pythons: dict[str, Path]) -> None:
        self.args = args
        self.pythons = pythons
        self.records: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.failed: set[tuple[str, str]] = set()

    def run(self, impl: str, job: str, round_no: int, extra: list[str] | None = None) -> Any:
        """Run one worker against a fresh FakePlatform; record and return its metrics."""
        n = self.args.n[job]
        where = f'{job}/{impl} round {round_no}'
        server = Server(self.pythons['actorkit'])
        try:
            cmd = _worker_cmd(impl, job, n, self.pythons) + (extra or [])
            env = {**_base_env(), **server.env}
            with tempfile.TemporaryDirectory(prefix='actorkit-home-bench-') as cwd:
                try:
                    proc = subprocess.run(
                        cmd,
                        cwd=cwd,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        text=True,
                        timeout=self.args.timeout,
                        check=False,
                    )
                except subprocess.TimeoutExpired as exc:
                    self._fail(where, f'killed after --timeout {self.args.timeout} s', exc)
                    return None
            line = run._last_json_line(proc.stdout)
            if proc.returncode != 0 or line is None or line.get('status') != 'ok':
                self._fail(where, f'exit code {proc.returncode}', proc)
                return None
            calls = server.calls()
            try:
                verify(server, job, n)
            except (_shared.VerificationError, OSError, KeyError, ValueError) as exc:
                self._fail(where, f'verification failed: {exc}', proc)
                return None
        finally:
            server.stop()
        metrics = line.get('metrics') or {}
        metrics['api_calls'] = sum(calls.values())
        metrics['api_calls_by_kind'] = calls
        if extra is None:
            self.records.append({'job': job, 'impl': impl, 'round': round_no, 'metrics': metrics})
        return metrics

    def _fail(self, where: str, what: str, proc: Any) -> None:
        job, impl = where.split(maxsplit=1)[0].split('/')
        self.failed.add((job, impl))
        self.failures.append(f'{where}: {what}')
        print(f'\n!!! FAILED {where}: {what}', file=sys.stderr)
        for name in ('stdout', 'stderr'):
            text = getattr(proc, name, None) or ''
            if isinstance(text, bytes):
                text = text.decode(errors='replace')
            tail = '\n'.join(text.strip().splitlines()[-25:])
            if tail:
                print(f'--- {name} (tail) ---\n{tail}', file=sys.stderr)


# ----------------------------------------------------------------------------- reporting


def medians(records: list[dict[str, Any]]) -> dict[str, Any]:
    grouped: dict[tuple[str, str], dict[str, list[float]]] = {}
    for rec in records:
        slot = grouped.setdefault((rec['job'], rec['impl']), {})
        for metric, value in rec['metrics'].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                slot.setdefault(metric, []).append(float(value))
    out: dict[str, Any] = {}
    for (job, impl), metrics in grouped.items():
        out.setdefault(job, {})[impl] = {m: statistics.median(v) for m, v in metrics.items()}
    return out


def paired_ratios(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per job and metric, the median over rounds of actorkit / other within the round."""
    by_round: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for rec in records:
        by_round.setdefault((rec['job'], rec['round']), {})[rec['impl']] = rec['metrics']
    collected: dict[tuple[str, str, str], list[float]] = {}
    for (job, _), impls in by_round.items():
        ak = impls.get('actorkit')
        if ak is None:
            continue
        for metric, _, _ in METRICS[job]:
            for other in OTHERS:
                a, b = ak.get(metric), impls.get(other, {}).get(metric)
                if a is not None and b:
                    collected.setdefault((job, metric, other), []).append(a / b)
    out: dict[str, Any] = {}
    for (job, metric, other), values in collected.items():
        out.setdefault(job, {}).setdefault(metric, {})[f'actorkit/{other}'] = statistics.median(
            values
        )
    return out


def _cell(value: float | None, failed: bool) -> str:
    if failed:
        return 'FAILED'
    return '-' if value is None else f'{value:,.0f}'


def table(
    med: dict[str, Any], ratio: dict[str, Any], runner: Runner, jobs: list[str], ran: list[str]
) -> str:
    impls = [i for i in IMPLS if i in ran]
    others = [o for o in OTHERS if o in ran]
    short = {'official': 'official', 'official-shared': 'off-shared', 'actorkit': 'actorkit'}
    short.update(
        {'requests': 'requests', 'http.client': 'http.client', 'http.client-1call': '1call'}
    )
    head = f'{"job":<7}{"metric":<11}' + ''.join(f'{short[i]:>12}' for i in impls)
    head += ''.join(f'{"ak/" + short[o][:8]:>13}' for o in others)
    lines = [head, '-' * len(head)]
    for job in jobs:
        for metric, label, _ in METRICS[job]:
            row = f'{job:<7}{label:<11}'
            for impl in impls:
                value = med.get(job, {}).get(impl, {}).get(metric)
                row += f'{_cell(value, (job, impl) in runner.failed):>12}'
            pair = ratio.get(job, {}).get(metric, {})
            for other in others:
                value = pair.get(f'actorkit/{other}')
                row += f'{"-" if value is None else f"{value:.2f}x":>13}'
            lines.append(row)
    lines += ['', 'Client CPU per item / op / request (µs, the worker process, all threads):']
    lines.append(f'{"job":<7}{"metric":<11}' + ''.join(f'{short[i]:>12}' for i in impls))
    for job in jobs:
        for _, label, cpu_metric in METRICS[job]:
            row = f'{job:<7}{label:<11}'
            for impl in impls:
                cpu = med.get(job, {}).get(impl, {}).get(cpu_metric)
                n = med.get(job, {}).get(impl, {}).get('n')
                row += f'{"-" if cpu is None or not n else f"{cpu / n * 1e6:,.0f}":>12}'
            lines.append(row)
    lines += ['', 'API calls per item / record / request (whole run: init and exit included):']
    lines.append(f'{"job":<7}{"":<11}' + ''.join(f'{short[i]:>12}' for i in impls))
    for job in jobs:
        row = f'{job:<7}{"":<11}'
        for impl in impls:
            cell = med.get(job, {}).get(impl, {})
            calls, n = cell.get('api_calls'), cell.get('n')
            if calls is not None and n and job == 'kvs':
                n *= 2  # a set and a get per record
            row += f'{"-" if calls is None or not n else f"{calls / n:.3f}":>12}'
        lines.append(row)
    lines += [
        '',
        'Values are medians over the rounds (per second: higher is better). Ratios are actorkit / '
        'other, the median over rounds of the ratio within a round (>1x: actorkit is faster).',
        'The http.client loop is the ceiling of the (Python) FakePlatform server itself: nobody '
        'can beat it by much with one connection.',
    ]
    return '\n'.join(lines)


def profile_actorkit(runner: Runner, jobs: list[str], folder: Path) -> dict[str, Any]:
    """Run actorkit once per job under cProfile; print and return the top costs."""
    folder.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    for job in [j for j in jobs if j != 'rq4']:  # one thread: the CPU profile is all its own
        path = folder / f'home-profile-{job}.pstats'
        metrics = runner.run('actorkit', job, 0, extra=['--profile', str(path)])
        if metrics is None or not path.exists():
            continue
        stats = pstats.Stats(str(path))
        total = stats.total_tt  # type: ignore[attr-defined]
        rows = []
        for (file, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
            where = '/'.join(Path(file).parts[-2:]) if file != '~' else ''
            ours = f'{os.sep}actorkit{os.sep}' in file
            rows.append((tottime, cumtime, calls, f'{where}:{line}({name})', ours))
        rows.sort(reverse=True)
        wall = sum(v for k, v in metrics.items() if k.endswith('seconds'))
        print(
            f'\nactorkit {job}: top own CPU time (cProfile; {total:.2f} s CPU profiled in '
            f'{wall:.2f} s wall; the rest is waiting, for the server or for a core)'
        )
        top = []
        for tottime, cumtime, calls, where, _ in rows[:15]:
            share = tottime / total if total else 0.0
            print(f'  {share:6.1%} {tottime:7.3f} s  cum {cumtime:7.3f} s  {calls:>8}  {where}')
            top.append({'where': where, 'tottime': tottime, 'cumtime': cumtime, 'calls': calls})
        print('  actorkit functions by inclusive CPU time:')
        inclusive = sorted((row for row in rows if row[4]), key=lambda row: row[1], reverse=True)
        for _, cumtime, calls, where, _ in inclusive[:12]:
            share = cumtime / total if total else 0.0
            print(f'  {share:6.1%} cum {cumtime:7.3f} s  {calls:>8}  {where}')
        summary[job] = {'cpu_s': total, 'wall_s': wall, 'top': top, 'pstats': str(path)}
    return summary


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='smoke check: small sizes, 1 round')
    parser.add_argument('--runs', type=int, help='rounds (default 3, quick 1)')
    parser.add_argument('--jobs', default=','.join(JOBS), help=f'comma list of {",".join(JOBS)}')
    parser.add_argument(
        '--impls',
        default=','.join(DEFAULT_IMPLS),
        help=f'comma list of {",".join(IMPLS)} (default: all but http.client-1call)',
    )
    parser.add_argument(
        '--n',
        dest='n_specs',
        action='append',
        default=[],
        metavar='JOB=N',
        help='size of a job, e.g. --n push1=100000 (defaults: '
        + ', '.join(f'{j}={n}' for j, n in DEFAULT_N.items())
        + ')',
    )
    parser.add_argument(
        '--profile', action='store_true', help='also run actorkit once per job under cProfile'
    )
    parser.add_argument('--timeout', type=float, default=900, help='seconds per worker process')
    parser.add_argument('--official-venv', default=str(run.DEFAULT_OFFICIAL_VENV))
    parser.add_argument('--official-python', help='an interpreter that has apify==4.1.0')
    parser.add_argument('--actorkit-venv', default=str(run.DEFAULT_ACTORKIT_VENV))
    parser.add_argument('--actorkit-python', help='an interpreter that has actorkit (+ brotli)')
    parser.add_argument(
        '--output',
        default=str(HERE / 'results' / 'home-latest.json'),
        help='the JSON results (default %(default)s)',
    )
    args = parser.parse_args(argv)
    args.jobs = [j for j in args.jobs.split(',') if j]
    if set(args.jobs) - set(JOBS):
        parser.error(f'--jobs takes {",".join(JOBS)}')
    args.impls = [i for i in args.impls.split(',') if i]
    if set(args.impls) - set(IMPLS):
        parser.error(f'--impls takes {",".join(IMPLS)}')
    args.runs = args.runs or (1 if args.quick else 3)
    args.n = dict(QUICK_N if args.quick else DEFAULT_N)
    for spec in args.n_specs:
        job, _, value = spec.partition('=')
        if job not in JOBS or not value.isdigit() or int(value) < 1:
            parser.error(f'--n takes JOB=N with JOB in {",".join(JOBS)}, got {spec!r}')
        args.n[job] = int(value)
    return args


def ensure_brotli(python: Path) -> None:
    """The server reads the official SDK's brotli bodies: put brotli into its venv if missing."""
    probe = [str(python), '-c', 'import brotli']
    if subprocess.run(probe, check=False, capture_output=True).returncode:
        print(f'Installing brotli into {python} (for the FakePlatform server) ...', file=sys.stderr)
        run._pip_or_exit(python, 'install', 'brotli')


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    actorkit_python, source_hash = run.ensure_actorkit_python(args)
    ensure_brotli(actorkit_python)
    pythons = {'actorkit': actorkit_python}
    if any(i.startswith('official') for i in args.impls):
        pythons['official'] = run.ensure_official_python(args)
    runner = Runner(args, pythons)
    started = time.perf_counter()
    for job in args.jobs:
        impls = [i for i in args.impls if job in ONLY_FOR.get(i, (job,))]
        print(f'{job}: {args.runs} rounds of {", ".join(impls)} (n={args.n[job]})', file=sys.stderr)
        for round_no in range(1, args.runs + 1):
            # Rotate the order each round, so no implementation always runs first or last.
            shift = (round_no - 1) % len(impls)
            for impl in impls[shift:] + impls[:shift]:
                if (job, impl) in runner.failed:
                    continue
                begun = time.perf_counter()
                metrics = runner.run(impl, job, round_no)
                if metrics is not None:
                    figures = ', '.join(
                        f'{label} {metrics[m]:,.0f}' for m, label, _ in METRICS[job] if m in metrics
                    )
                    took = time.perf_counter() - begun
                    print(
                        f'  round {round_no} {impl:<16} {figures} ({took:.0f} s)', file=sys.stderr
                    )
    elapsed = time.perf_counter() - started
    med = medians(runner.records)
    ratio = paired_ratios(runner.records)
    print()
    for job in args.jobs:
        print(f'{job}: {JOB_TITLES[job]} (n={args.n[job]:,})')
    print()
    print(table(med, ratio, runner, args.jobs, args.impls))
    print(f'\n{args.runs} round(s); total time {elapsed:.0f} s')
    profiles = {}
    if args.profile:
        profiles = profile_actorkit(runner, args.jobs, Path(args.output).parent)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    result = {
        'meta': {
            'date': dt.datetime.now(dt.timezone.utc).isoformat(),
            'elapsed_s': elapsed,
            'host': platform.node(),
            'platform': platform.platform(),
            'cpus': os.cpu_count(),
            'load_average_at_end': os.getloadavg(),
            'actorkit_source_sha256': source_hash,
            'interpreters': {k: str(v) for k, v in pythons.items()},
            'runs': args.runs,
            'n': args.n,
            'quick': args.quick,
            'failures': runner.failures,
        },
        'medians': med,
        'ratios': ratio,
        'profiles': profiles,
        'runs': runner.records,
    }
    output.write_text(json.dumps(result, indent=2) + '\n')
    print(f'Results written to {output}')
    if runner.failures:
        print(f'\n{len(runner.failures)} FAILED run(s):', file=sys.stderr)
        for message in runner.failures:
            print(f'  {message}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
