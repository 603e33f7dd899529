"""The entry point ``apify run`` and the Dockerfile use: ``python -m src``."""

from .main import main

main()
