"""Glue for the frameworks actorkit's users already live in: Django, Flask and Jupyter.

Each module imports its framework itself and, when it is missing, fails with the command that
installs it (``pip install 'actorkit[django]'``), so importing actorkit never imports a
framework.

* :mod:`actorkit.integrations.django`: :class:`~actorkit.integrations.django.ActorCommand`,
  a management command whose ``handle()`` is one Actor run.
* :mod:`actorkit.integrations.flask`: :func:`~actorkit.integrations.flask.actor_command`, the
  same for ``flask`` (click) CLI commands.

Jupyter needs no import: re-running a cell that calls ``actor.init()`` finishes the previous run,
``actor.exit()`` never ends the kernel, storages and charge results show as HTML tables, and
:meth:`actorkit.Actor.progress` draws a progress widget.
"""
