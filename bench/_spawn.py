"""Start a command, wait for it, and write its wall time and peak RSS to a file.

Usage: python -I -S _spawn.py RESULT_FILE COMMAND [ARG ...]

Why a trampoline: a child's peak RSS (`ru_maxrss`) starts at the RSS of the process it was
forked from, so a child of the orchestrator would never show less than the orchestrator's own
~17 MB. This script, run with `-I -S`, imports nothing but built-in modules and stays far below
the size of any Python worker, so the peak it reads from `wait4` is the worker's own.

The result file gets one line: `<wall seconds> <peak RSS KiB> <exit code>`. The command inherits
this process's working directory, environment, stdin, stdout and stderr.
"""

import os
import sys
import time


def main() -> int:
    result_file, command = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result_file, 'w') as f:
        f.write(f'{wall!r} {usage.ru_maxrss} {code}\n')
    return code if code >= 0 else 128 - code


if __name__ == '__main__':
    sys.exit(main())
