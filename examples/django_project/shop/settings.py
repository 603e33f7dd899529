"""Settings of the example project: no database, one app, and logging that shows actorkit."""

SECRET_KEY = 'example-only-not-secret'  # noqa: S105 (an example project never deployed)
DEBUG = False
INSTALLED_APPS = ['catalog']
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

# Django's logging configuration decides where actorkit's records go: the Actor adds no handler
# of its own under a management command.
LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'formatters': {'plain': {'format': '{levelname} {name}: {message}', 'style': '{'}},
    'handlers': {'console': {'class': 'logging.StreamHandler', 'formatter': 'plain'}},
    'loggers': {'actorkit': {'handlers': ['console'], 'level': 'INFO', 'propagate': False}},
}
