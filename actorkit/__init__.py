"""actorkit: write Apify Actors in plain, blocking Python."""

from actorkit._version import __version__

__all__ = ['__version__']
