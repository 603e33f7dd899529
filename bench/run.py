"""Run the actorkit benchmarks and print medians and ratios.

Three implementations do the same jobs on the same local storage layout:

- ``official``: the official async SDK (``apify==4.1.0``) in its own venv, through asyncio;
- ``actorkit``: actorkit's blocking API, in a venv of its own holding a normal (non-editable)
  install of this repository, with the .pyc files pip compiles at install time, the way users
  get it (or ``--actorkit-python``);
- ``limit``: a plain-Python loop writing the very same files atomically, the floor any SDK
  is measured against.

Every job runs in a fresh process (``jobs_<impl>.py JOB --dir D --n N``) on a fresh storage
folder, on disk and on tmpfs, with the implementations interleaved (A, B, C, A, B, C, ...).
Each worker verifies the files it wrote and prints one JSON line; this script collects them,
prints a table of medians and ratios and writes ``bench/results/latest.json``.

Usage (from the repository root, with any Python 3.10+)::

    python bench/run.py --setup        # create or refresh both venvs, then exit
    python bench/run.py                # full run (creates or refreshes the venvs first)
    python bench/run.py --quick        # smoke check: small sizes, 2 runs

See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _shared  # noqa: E402

OFFICIAL_SPEC = 'apify==4.1.0'
DEFAULT_OFFICIAL_VENV = Path('/tmp/actorkit-bench-venv-apify')
DEFAULT_ACTORKIT_VENV = Path('/tmp/actorkit-bench-venv-actorkit')
REPO = HERE.parent
#: File inside the actorkit venv holding the hash of the sources it was installed from.
SOURCE_STAMP = 'actorkit-bench-source.sha256'
#: What a build of the repository needs (the hash covers actorkit/**/*.py and setup.cfg only).
BUILD_FILES = ('setup.cfg', 'pyproject.toml', 'README.rst')
IMPLS = ('official', 'actorkit', 'limit')

#: The numbers shown for each job: (metric, label, higher_is_better).
METRICS: dict[str, list[tuple[str, str, bool]]] = {
    'cold': [('wall_ms', 'wall ms', False), ('maxrss_mb', 'peak RSS MB', False)],
    'push1': [('items_per_s', 'items/s', True)],
    'batch': [('items_per_s', 'items/s', True)],
    'kvs': [('set_ops_per_s', 'set ops/s', True), ('get_ops_per_s', 'get ops/s', True)],
    'threads': [('items_per_s', 'items/s', True)],
    'dsread': [
        ('open_ms', 'open ms', False),
        ('tail_ms', 'last page ms', False),
        ('head_ms', 'first item ms', False),
    ],
    'keys': [('keys_per_s', 'keys/s', True), ('open_ms', 'open ms', False)],
}

JOB_TITLES = {
    'cold': 'cold start (init, get_input, set_value OUTPUT, exit)',
    'push1': 'push_data, one item per call',
    'batch': 'push_data, batches of {batch}',
    'kvs': 'set_value / get_value of small JSON records',
    'threads': '{threads} threads (official: asyncio tasks) pushing one item per call',
    'dsread': 'get_data of the last 10 items and of the first item of a big dataset',
    'keys': 'iterate_keys over a big key-value store',
}

#: Reference processes for the cold start: (name, which python, code).
REFERENCES = (
    ('python -c pass', 'actorkit', 'pass'),
    ('import deps', 'actorkit', 'import requests, attrs, cattrs, psutil, filelock, websocket'),
    ('import actorkit', 'actorkit', 'import actorkit'),
    ('import apify', 'official', 'import apify'),
)

#: References that actorkit's cold start is also compared with, paired by round.
COLD_RATIO_REFERENCES = ('import deps',)


# ----------------------------------------------------------------------------- setup


def _venv_python(venv: Path) -> Path:
    return venv / 'bin' / 'python'


def _installed_version(python: Path, dist: str) -> str | None:
    code = f'from importlib.metadata import version; print(version({dist!r}))'
    proc = subprocess.run([str(python), '-c', code], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_official_python(args: argparse.Namespace) -> Path:
    """Return the interpreter of the official SDK, creating its venv if it is missing."""
    if args.official_python:
        python = Path(os.path.abspath(args.official_python))
        if not python.exists():
            sys.exit(f'--official-python {python} does not exist')
        return python
    venv = Path(args.official_venv)
    python = _venv_python(venv)
    wanted = OFFICIAL_SPEC.split('==')[1]
    if python.exists() and _installed_version(python, 'apify') == wanted:
        return python
    print(f'Creating the official SDK venv in {venv} ({OFFICIAL_SPEC}) ...', file=sys.stderr)
    if not python.exists():
        subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    subprocess.run(
        [str(python), '-m', 'pip', 'install', '--quiet', OFFICIAL_SPEC],
        check=True,
    )
    found = _installed_version(python, 'apify')
    if found != wanted:
        sys.exit(f'{venv} has apify {found}, not {wanted}: delete the folder and run --setup again')
    return python


def _snapshot_sources(dest: Path) -> str:
    """Copy what a build of the repository needs into `dest`; return the hash of its sources.

    Installing from a copy keeps pip's build files (``build/``, ``*.egg-info``) out of the
    repository, and makes the hash describe exactly the files that were installed even while
    someone edits the repository. The hash covers ``actorkit/**/*.py`` and ``setup.cfg``.
    """
    shutil.copytree(
        REPO / 'actorkit',
        dest / 'actorkit',
        ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '*.so'),
    )
    for name in BUILD_FILES:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    digest = hashlib.sha256()
    hashed = sorted(p for p in (dest / 'actorkit').rglob('*.py') if p.is_file())
    for path in [*hashed, dest / 'setup.cfg']:
        data = path.read_bytes()
        digest.update(f'{path.relative_to(dest).as_posix()}\0{len(data)}\0'.encode())
        digest.update(data)
    return digest.hexdigest()


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), '-m', 'pip', *args, '--quiet', '--disable-pip-version-check'],
        check=False,
        capture_output=True,
        text=True,
    )


def _pip_or_exit(python: Path, *args: str) -> None:
    proc = _pip(python, *args)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        sys.exit(f'pip {" ".join(args)} failed in {python} (exit code {proc.returncode})')


def _check_actorkit_install(python: Path, venv: Path) -> None:
    """Exit if actorkit in `python` is not the venv's own copy; warn if it has no .pyc."""
    code = (
        'import importlib.util, os, actorkit; f = actorkit.__file__; '
        'print(f); print(os.path.exists(importlib.util.cache_from_source(f)))'
    )
    proc = subprocess.run(
        [str(python), '-c', code], capture_output=True, text=True, check=False, cwd=venv
    )
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) != 2:
        sys.stderr.write(proc.stdout + proc.stderr)
        sys.exit(f'cannot import actorkit with {python}: delete {venv} and run --setup again')
    where, has_pyc = Path(lines[0]).resolve(), lines[1] == 'True'
    if not where.is_relative_to(venv.resolve()):
        sys.exit(f'{python} imports actorkit from {where}, not from its venv {venv}')
    if not has_pyc:
        print(f'warning: {where} has no compiled .pyc next to it', file=sys.stderr)


def ensure_actorkit_python(args: argparse.Namespace) -> tuple[Path, str | None]:
    """Return the interpreter for actorkit and the limit, and the hash of actorkit's sources.

    By default that is a venv of its own (``--actorkit-venv``) with a normal, non-editable
    ``pip install`` of this repository: pip compiles the .pyc files at install time, the way a
    user gets actorkit, and the way the official SDK is installed in its venv. (An editable
    install in an environment with ``PYTHONDONTWRITEBYTECODE=1`` recompiles every module in every
    process and loads setuptools' editable finder, which would weigh on actorkit's cold start.)
    The venv is created when it is missing, and actorkit is reinstalled (``--force-reinstall
    --no-deps``) when the hash of ``actorkit/**/*.py`` and ``setup.cfg`` differs from the one
    stored in the venv at the last install.
    """
    if args.actorkit_python:
        python = Path(os.path.abspath(args.actorkit_python))  # keep venv symlinks
        if not python.exists():
            sys.exit(f'--actorkit-python {python} does not exist')
        return python, None
    venv = Path(os.path.abspath(args.actorkit_venv))
    python = _venv_python(venv)
    stamp = venv / SOURCE_STAMP
    with tempfile.TemporaryDirectory(prefix='actorkit-bench-src-') as tmp:
        source = Path(tmp) / 'actorkit-src'
        digest = _snapshot_sources(source)
        try:
            installed = stamp.read_text().strip()
        except OSError:
            installed = None
        if python.exists() and installed == digest:
            return python, digest
        stamp.unlink(missing_ok=True)  # a failed install below must not look up to date
        if not python.exists():
            print(f'Creating the actorkit venv in {venv} ...', file=sys.stderr)
            subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
            _pip_or_exit(python, 'install', str(source))
        else:
            print(f'Reinstalling actorkit into {venv} (its sources changed) ...', file=sys.stderr)
            _pip_or_exit(python, 'install', '--force-reinstall', '--no-deps', str(source))
            if _pip(python, 'check').returncode != 0:  # a dependency was added or changed
                _pip_or_exit(python, 'install', str(source))
    _check_actorkit_install(python, venv)
    stamp.write_text(digest + '\n')
    return python, digest


def _fs_type(path: Path) -> str:
    """Return the file-system type of the mount holding `path` (Linux), or 'unknown'."""
    try:
        mounts = Path('/proc/mounts').read_text().splitlines()
    except OSError:
        return 'unknown'
    best, fstype = '', 'unknown'
    resolved = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1]
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip('/') + '/')
        if inside and len(mount_point) > len(best):
            best, fstype = mount_point, parts[2]
    return fstype


# ----------------------------------------------------------------------------- running


class Runner:
    """Runs worker processes and collects their results."""

    def __init__(self, args: argparse.Namespace, pythons: dict[str, Path]) -> None:
        self.args = args
        self.pythons = pythons
        self.records: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.failed: set[tuple[str, str, str]] = set()
        self.unavailable: dict[str, str] = {}
        self.counter = 0

    def env(self, log_level: str = 'ERROR') -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(('APIFY_', 'CRAWLEE_', 'ACTOR_', 'ACTORKIT_'))
        }
        env['APIFY_LOG_LEVEL'] = log_level
        env['BENCH_VERIFIED_BY_PARENT'] = '1'
        return env

    def spawn(
        self, cmd: list[str], cwd: Path, env: dict[str, str]
    ) -> tuple[int, float, float, str, str]:
        """Run `cmd` through _spawn.py; return (exit code, wall s, peak RSS MB, stdout, stderr).

        The wall time and the peak RSS are measured by the trampoline around the worker alone
        (see _spawn.py for why the orchestrator cannot measure the RSS itself).
        """
        out_path, err_path = cwd / '.bench-stdout', cwd / '.bench-stderr'
        result_path = cwd / '.bench-spawn'
        trampoline = [sys.executable, '-I', '-S', str(HERE / '_spawn.py'), str(result_path)]
        with out_path.open('wb') as out, err_path.open('wb') as err:
            proc = subprocess.Popen(
                trampoline + cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=self.args.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.wait()
                err.write(f'\nkilled after --timeout {self.args.timeout} s\n'.encode())
        stdout = out_path.read_text(errors='replace')
        stderr = err_path.read_text(errors='replace')
        try:
            wall_text, rss_text, code_text = result_path.read_text().split()
        except (OSError, ValueError):
            return proc.returncode or -1, 0.0, 0.0, stdout, stderr
        return int(code_text), float(wall_text), int(rss_text) / 1024, stdout, stderr

    def run_job(self, impl: str, job: str, medium: str, base: Path, round_no: int) -> None:
        """Run one job of one implementation once and record the result."""
        self.counter += 1
        run_dir = base / f'{job}-{impl}-{round_no}-{os.getpid()}-{self.counter}'
        storage = run_dir / 'storage'
        run_dir.mkdir(parents=True)
        try:
            worker = impl.split('+', maxsplit=1)[0]
            if job == 'cold':
                _shared.write_cold_input(str(storage))
            cmd = [
                str(self.pythons[worker]),
                str(HERE / f'jobs_{worker}.py'),
                job,
                '--dir',
                str(storage),
                '--n',
                str(self.args.n[job]),
            ]
            env = self.env('INFO' if impl.endswith('+log') else 'ERROR')
            if medium == 'disk':
                os.sync()  # start every run without the previous run's dirty pages
            code, wall, rss, stdout, stderr = self.spawn(cmd, run_dir, env)
            where = f'{job}/{medium}/{impl} run {round_no}'
            line = _last_json_line(stdout)
            if code != 0 or line is None:
                self.failed.add((job, medium, impl))
                self.fail(where, f'exit code {code}', stdout, stderr)
                return
            if line.get('status') == 'unavailable':
                self.unavailable[impl] = line.get('reason', 'unavailable')
                print(f'  {where}: unavailable ({self.unavailable[impl]})', file=sys.stderr)
                return
            if line.get('status') != 'ok':
                self.failed.add((job, medium, impl))
                self.fail(where, f'status {line.get("status")!r}', stdout, stderr)
                return
            metrics = dict(line.get('metrics') or {})
            if job == 'cold':
                try:
                    _shared.verify_cold(str(storage))
                except _shared.VerificationError as exc:
                    self.failed.add((job, medium, impl))
                    self.fail(where, f'verification failed: {exc}', stdout, stderr)
                    return
                metrics.update(wall_ms=wall * 1000, maxrss_mb=rss)
            self.records.append(
                {'job': job, 'medium': medium, 'impl': impl, 'round': round_no, 'metrics': metrics}
            )
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def run_reference(self, name: str, worker: str, code: str, base: Path, round_no: int) -> None:
        """Time one reference process (`python -c CODE`)."""
        run_dir = base / f'ref-{round_no}-{os.getpid()}'
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            cmd = [str(self.pythons[worker]), '-c', code]
            rc, wall, rss, stdout, stderr = self.spawn(cmd, run_dir, self.env())
            if rc != 0:
                self.fail(f'reference {name!r}', f'exit code {rc}', stdout, stderr)
                return
            self.records.append(
                {
                    'job': 'reference',
                    'medium': '-',
                    'impl': name,
                    'round': round_no,
                    'metrics': {'wall_ms': wall * 1000, 'maxrss_mb': rss},
                }
            )
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def fail(self, where: str, what: str, stdout: str, stderr: str) -> None:
        message = f'{where}: {what}'
        self.failures.append(message)
        print(f'\n!!! FAILED {message}', file=sys.stderr)
        for name, text in (('stdout', stdout), ('stderr', stderr)):
            tail = '\n'.join(text.strip().splitlines()[-25:])
            if tail:
                print(f'--- {name} (tail) ---\n{tail}', file=sys.stderr)
        print('!!!', file=sys.stderr)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _last_json_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith('{'):
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


# ----------------------------------------------------------------------------- reporting


def medians(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Group runs by job, medium and implementation; return the median of every metric."""
    grouped: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    for rec in records:
        slot = grouped.setdefault((rec['job'], rec['medium'], rec['impl']), {})
        for metric, value in rec['metrics'].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                slot.setdefault(metric, []).append(float(value))
    result: dict[str, Any] = {}
    for (job, medium, impl), metrics in grouped.items():
        entry = result.setdefault(job, {}).setdefault(medium, {}).setdefault(impl, {})
        for metric, values in metrics.items():
            entry[metric] = statistics.median(values)
            entry.setdefault('_runs', len(values))
    return result


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return '-'
    if metric.endswith(('_per_s',)):
        return f'{value:,.0f}'
    if metric.endswith('_ms') and value < 10:
        return f'{value:,.2f}'
    return f'{value:,.1f}'


def _ratio(value: float | None) -> str:
    return '-' if value is None else f'{value:.2f}x'


def table(
    med: dict[str, Any],
    ratio: dict[str, Any],
    args: argparse.Namespace,
    unavailable: dict[str, str],
    failed: set[tuple[str, str, str]],
) -> str:
    """Render the medians as a text table."""
    lines = []
    head = (
        f'{"job":<10}{"medium":<8}{"metric":<13}{"official":>11}{"actorkit":>11}{"limit":>11}'
        f'{"ak/official":>13}{"ak/limit":>10}'
    )
    lines.append(head)
    lines.append('-' * len(head))
    for job in args.jobs:
        for medium in args.media:
            cell = med.get(job, {}).get(medium, {})
            for metric, label, _ in METRICS[job]:
                values = {impl: cell.get(impl, {}).get(metric) for impl in IMPLS}
                row = f'{job:<10}{medium:<8}{label:<13}'
                for impl in IMPLS:
                    text = _fmt(values[impl], metric)
                    if values[impl] is None and impl in unavailable:
                        text = 'n/a'
                    elif (job, medium, impl) in failed:
                        text = 'FAILED'
                    row += f'{text:>11}'
                pair = ratio.get(job, {}).get(medium, {}).get(metric, {})
                row += f'{_ratio(pair.get("actorkit/official")):>13}'
                row += f'{_ratio(pair.get("actorkit/limit")):>10}'
                lines.append(row)
    lines.append('')
    lines.append(
        'Values are medians over the runs. Ratios are actorkit / other, the median over rounds of '
        'the ratio between runs of the same round (back to back):\nfor items/s and ops/s higher is '
        'better (>1x: actorkit is faster); for wall ms and RSS lower is better.'
    )
    extra = []
    for medium in args.media:
        logged = med.get('cold', {}).get(medium, {}).get('official+log')
        quiet = med.get('cold', {}).get(medium, {}).get('official')
        if logged and quiet:
            extra.append(
                f'  official cold start with its default logging (INFO), {medium}: '
                f'{logged["wall_ms"]:.1f} ms, {logged["maxrss_mb"]:.1f} MB '
                f'(quiet: {quiet["wall_ms"]:.1f} ms)'
            )
    for name, *_ in REFERENCES:
        ref = med.get('reference', {}).get('-', {}).get(name)
        if ref:
            extra.append(f'  {name:<16} {ref["wall_ms"]:7.1f} ms {ref["maxrss_mb"]:7.1f} MB')
    for medium in args.media:
        pair = ratio.get('cold', {}).get(medium, {}).get('wall_ms', {})
        for name in COLD_RATIO_REFERENCES:
            value = pair.get(f'actorkit/{name}')
            if value is not None:
                extra.append(
                    f'  actorkit cold start / {name}, {medium}: {_ratio(value)} '
                    '(median over rounds of the ratio within a round)'
                )
    if extra:
        lines.append('')
        lines.append('Cold-start references (fresh process, median wall time and peak RSS):')
        lines.extend(extra)
    for impl, reason in unavailable.items():
        lines.append(f'{impl}: unavailable: {reason}')
    return '\n'.join(lines)


def paired_ratios(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Return, per job, medium and metric, the median over rounds of actorkit/other.

    Each ratio is taken between runs of the same round, which ran back to back; that cancels
    most of the drift a shared machine adds (a virtual disk typically slows down as a job goes
    on), which a ratio of two medians taken over different moments would keep.
    """
    by_round: dict[tuple[str, str, int], dict[str, dict[str, Any]]] = {}
    for rec in records:
        by_round.setdefault((rec['job'], rec['medium'], rec['round']), {})[rec['impl']] = rec[
            'metrics'
        ]
    collected: dict[tuple[str, str, str, str], list[float]] = {}
    for (job, medium, round_no), impls in by_round.items():
        ak = impls.get('actorkit')
        if ak is None or job not in METRICS:
            continue
        if job == 'cold':  # the references ran in the same round, right after
            refs = by_round.get(('reference', '-', round_no), {})
            for name in COLD_RATIO_REFERENCES:
                a, b = ak.get('wall_ms'), refs.get(name, {}).get('wall_ms')
                if a is not None and b:
                    collected.setdefault((job, medium, 'wall_ms', f'actorkit/{name}'), []).append(
                        a / b
                    )
        for metric, _, _ in METRICS[job]:
            for other in ('official', 'limit'):
                a, b = ak.get(metric), impls.get(other, {}).get(metric)
                if a is not None and b:
                    collected.setdefault((job, medium, metric, f'actorkit/{other}'), []).append(
                        a / b
                    )
    out: dict[str, Any] = {}
    for (job, medium, metric, key), values in collected.items():
        slot = out.setdefault(job, {}).setdefault(medium, {}).setdefault(metric, {})
        slot[key] = statistics.median(values)
    return out


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark actorkit against the official SDK and a plain-Python limit.'
    )
    parser.add_argument('--setup', action='store_true', help='set up both venvs and exit')
    parser.add_argument('--quick', action='store_true', help='smoke check: small sizes, 2 runs')
    parser.add_argument(
        '--jobs',
        default=','.join(_shared.JOBS),
        help=f'comma list of {",".join(_shared.ALL_JOBS)} (default: all but the big '
        f'{",".join(_shared.BIG_JOBS)})',
    )
    parser.add_argument('--runs', type=int, help='runs per throughput job (default 5, quick 2)')
    parser.add_argument('--cold-runs', type=int, help='runs of the cold start (default 7, quick 2)')
    parser.add_argument(
        '--n',
        dest='n_specs',
        action='append',
        default=[],
        metavar='JOB=N',
        help='size of a job (items, records, or items per thread), e.g. --n push1=5000',
    )
    media = parser.add_mutually_exclusive_group()
    media.add_argument('--only-tmpfs', action='store_true', help='skip the on-disk runs')
    media.add_argument('--only-disk', action='store_true', help='skip the tmpfs runs')
    parser.add_argument(
        '--impls', default=','.join(IMPLS), help='comma list of official,actorkit,limit'
    )
    parser.add_argument(
        '--disk-dir', default='/tmp/actorkit-bench', help='folder on disk (default %(default)s)'
    )
    parser.add_argument(
        '--tmpfs-dir',
        default='/dev/shm/actorkit-bench',
        help='folder on tmpfs (default %(default)s)',
    )
    parser.add_argument(
        '--official-venv',
        default=str(DEFAULT_OFFICIAL_VENV),
        help=f'venv of {OFFICIAL_SPEC}, created if missing (default %(default)s)',
    )
    parser.add_argument('--official-python', help='use this interpreter for the official SDK')
    parser.add_argument(
        '--actorkit-venv',
        default=str(DEFAULT_ACTORKIT_VENV),
        help='venv with a non-editable install of this repository, created if missing and '
        'reinstalled when the sources change (default %(default)s)',
    )
    parser.add_argument(
        '--actorkit-python',
        help='use this interpreter (with actorkit installed) for actorkit, the limit and the '
        'references, instead of --actorkit-venv',
    )
    parser.add_argument(
        '--output',
        default=str(HERE / 'results' / 'latest.json'),
        help='where to write the JSON results (default %(default)s)',
    )
    parser.add_argument('--timeout', type=float, default=300, help='seconds per worker process')
    args = parser.parse_args(argv)

    args.jobs = [j for j in args.jobs.split(',') if j]
    unknown = sorted(set(args.jobs) - set(_shared.ALL_JOBS))
    if unknown:
        parser.error(f'unknown jobs {unknown}; choose from {",".join(_shared.ALL_JOBS)}')
    args.impls = [i for i in args.impls.split(',') if i]
    if sorted(set(args.impls) - set(IMPLS)):
        parser.error(f'--impls takes {",".join(IMPLS)}')
    args.runs = args.runs or (2 if args.quick else 5)
    args.cold_runs = args.cold_runs or (2 if args.quick else 7)
    args.n = dict(_shared.QUICK_N if args.quick else _shared.DEFAULT_N)
    for spec in args.n_specs:
        job, _, value = spec.partition('=')
        if job not in _shared.ALL_JOBS or not value.isdigit():
            parser.error(f'--n takes JOB=N with JOB in {",".join(_shared.ALL_JOBS)}, got {spec!r}')
        args.n[job] = int(value)
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)

    actorkit_python, source_hash = ensure_actorkit_python(args)
    if args.setup:
        print(f'actorkit interpreter: {actorkit_python}')
        print(f'official SDK interpreter: {ensure_official_python(args)}')
        return 0
    pythons = {'actorkit': actorkit_python, 'limit': actorkit_python}
    if 'official' in args.impls:
        pythons['official'] = ensure_official_python(args)

    args.media = ['disk', 'tmpfs']
    if args.only_tmpfs:
        args.media = ['tmpfs']
    if args.only_disk:
        args.media = ['disk']
    bases = {'disk': Path(args.disk_dir), 'tmpfs': Path(args.tmpfs_dir)}
    fs_types = {}
    for medium in args.media:
        base = bases[medium] / f'run-{os.getpid()}'
        base.mkdir(parents=True, exist_ok=True)
        bases[medium] = base
        fs_types[medium] = _fs_type(base)
    if 'disk' in fs_types and fs_types['disk'] in ('tmpfs', 'ramfs'):
        print(
            f'warning: --disk-dir {args.disk_dir} is on {fs_types["disk"]}, not a disk; '
            'pass --disk-dir with a folder on a real disk',
            file=sys.stderr,
        )
    if 'tmpfs' in fs_types and fs_types['tmpfs'] != 'tmpfs':
        print(f'warning: --tmpfs-dir is on {fs_types["tmpfs"]}, not tmpfs', file=sys.stderr)

    runner = Runner(args, pythons)
    started = time.perf_counter()
    try:
        versions = probe(runner, args)
        for job in args.jobs:
            runs = args.cold_runs if job == 'cold' else args.runs
            impls = [i for i in args.impls if i not in runner.unavailable]
            if job == 'cold' and 'official' in impls:
                impls.insert(impls.index('official') + 1, 'official+log')
            print(
                f'{job}: {runs} rounds of {", ".join(impls)} on {" and ".join(args.media)} '
                f'(n={args.n[job]})',
                file=sys.stderr,
            )
            # The cold start's references run inside each of its rounds, right after the
            # implementations, so that a ratio to them can be paired by round like the others.
            refs = [r for r in REFERENCES if r[1] in pythons] if job == 'cold' else []
            first_round = 0 if job == 'cold' else 1  # round 0 warms the page cache, not kept
            # Rounds outermost, media alternating: a virtual disk gets a rest between its runs.
            for round_no in range(first_round, runs + 1):
                for medium in args.media:
                    for impl in impls:
                        if impl in runner.unavailable:
                            continue
                        if (job, medium, impl) in runner.failed:
                            continue  # said loudly once; its other runs would say the same
                        runner.run_job(impl, job, medium, bases[medium], round_no)
                for name, worker, code in refs:
                    runner.run_reference(name, worker, code, bases[args.media[0]], round_no)
            runner.records = [r for r in runner.records if r['round'] != 0]
    finally:
        for medium in args.media:
            shutil.rmtree(bases[medium], ignore_errors=True)

    elapsed = time.perf_counter() - started
    med = medians(runner.records)
    for job_cells in med.values():
        for cell in job_cells.values():
            for entry in cell.values():
                entry.pop('_runs', None)
    print()
    ratio = paired_ratios(runner.records)
    print(table(med, ratio, args, runner.unavailable, runner.failed))
    print(f'\nTotal time: {elapsed:.0f} s')

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    result = {
        'meta': {
            'date': dt.datetime.now(dt.timezone.utc).isoformat(),
            'elapsed_s': elapsed,
            'host': platform.node(),
            'platform': platform.platform(),
            'cpus': os.cpu_count(),
            'versions': versions,
            'actorkit_source_sha256': source_hash,
            'media': {m: {'dir': str(bases[m]), 'fs': fs_types[m]} for m in args.media},
            'runs': args.runs,
            'cold_runs': args.cold_runs,
            'n': args.n,
            'batch_size': _shared.BATCH_SIZE,
            'threads': _shared.THREADS,
            'quick': args.quick,
            'unavailable': runner.unavailable,
            'failures': runner.failures,
        },
        'medians': med,
        'ratios': ratio,
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


def probe(runner: Runner, args: argparse.Namespace) -> dict[str, Any]:
    """Check every implementation once; mark actorkit unavailable until its API exists."""
    versions: dict[str, Any] = {}
    for impl in args.impls:
        cwd = Path(args.tmpfs_dir if args.only_tmpfs else args.disk_dir) / f'probe-{os.getpid()}'
        cwd.mkdir(parents=True, exist_ok=True)
        cmd = [str(runner.pythons[impl]), str(HERE / f'jobs_{impl}.py'), 'probe']
        try:
            code, _, _, stdout, stderr = runner.spawn(cmd, cwd, runner.env())
        finally:
            shutil.rmtree(cwd, ignore_errors=True)
        line = _last_json_line(stdout)
        if code != 0 or line is None:
            runner.fail(f'probe of {impl}', f'exit code {code}', stdout, stderr)
            runner.unavailable[impl] = 'probe failed (see above)'
        elif line.get('status') == 'unavailable':
            runner.unavailable[impl] = line.get('reason', 'unavailable')
            print(f'{impl} is unavailable: {runner.unavailable[impl]}', file=sys.stderr)
        else:
            versions[impl] = {k: v for k, v in line.items() if k not in ('impl', 'job', 'status')}
            versions[impl]['interpreter'] = str(runner.pythons[impl])
    return versions


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
