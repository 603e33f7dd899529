"""``python -m actorkit``: the ``actorkit`` command."""

import sys

from actorkit.cli import main

if __name__ == '__main__':
    sys.exit(main())
