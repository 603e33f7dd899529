"""The Actor, build and task endpoints of the fake platform, and their lookups.

:class:`ActorTaskEndpoints` is a part of ``RunsApi`` (``_runs.py``), which routes them: a run
is started for an Actor or a task, so both share one state and one route table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from actorkit.testing._fake_platform._common import (
    ApiError,
    Call,
    Reply,
    data_reply,
    empty_reply,
    invalid,
    iso,
    list_reply,
    new_id,
    not_found,
    now,
    paginated,
)
from actorkit.testing._fake_platform._run_models import (
    Actor,
    Build,
    RunHandler,
    Task,
    normalize_pricing,
)

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._state import State


class ActorTaskEndpoints:
    """Actors, builds and tasks: ``RunsApi`` inherits them."""

    if TYPE_CHECKING:  # provided by RunsApi
        state: State

    # ------------------------------------------------------------------ lookups

    def find_actor(self, id_or_name: str) -> Actor:
        """The Actor with this id, ``name``, ``username~name`` or ``username/name`` (404)."""
        actor = self.state.actors.get(id_or_name)
        if actor is not None:
            return actor
        username, _, name = id_or_name.replace('/', '~').rpartition('~')
        for candidate in self.state.actors.values():
            if candidate.name == name and username in ('', 'me', candidate.username):
                return candidate
        raise ApiError(404, 'record-not-found', f'Actor "{id_or_name}" was not found')

    def find_task(self, id_or_name: str) -> Task:
        """The task with this id or ``username~name`` (404)."""
        task = self.state.tasks.get(id_or_name)
        if task is not None:
            return task
        username, _, name = id_or_name.replace('/', '~').rpartition('~')
        for candidate in self.state.tasks.values():
            if candidate.name == name and username in ('', 'me', candidate.username):
                return candidate
        raise not_found('Actor task')

    # ------------------------------------------------------------------ creation

    def create_actor(
        self,
        name: str,
        *,
        actor_id: str | None = None,
        title: str | None = None,
        timeout_secs: int = 3600,
        memory_mbytes: int = 1024,
        pricing_info: Mapping[str, Any] | None = None,
        handler: RunHandler | None = None,
    ) -> Actor:
        """Create an Actor (the caller holds the lock)."""
        for existing in self.state.actors.values():
            if existing.name == name:
                raise ValueError(f'an Actor named {name!r} already exists; pick another name')
        identifier = actor_id or new_id()
        build = Build(act_id=identifier, user_id=self.state.user_id)
        actor = Actor(
            id=identifier,
            name=name,
            user_id=self.state.user_id,
            username=self.state.username,
            build=build,
            title=title,
            timeout_secs=timeout_secs,
            memory_mbytes=memory_mbytes,
            pricing_info=normalize_pricing(pricing_info),
            handler=handler,
        )
        self.state.actors[actor.id] = actor
        self.state.builds[build.id] = build
        return actor

    def create_task(
        self,
        actor: Actor,
        name: str,
        *,
        task_input: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> Task:
        """Create a task (the caller holds the lock)."""
        task = Task(
            act_id=actor.id,
            name=name,
            user_id=self.state.user_id,
            username=self.state.username,
            input=task_input,
            options=dict(options or {}),
        )
        self.state.tasks[task.id] = task
        return task

    # ------------------------------------------------------------------ Actors

    def list_actors(self, call: Call) -> Reply:
        with self.state.lock:
            actors = sorted(self.state.actors.values(), key=lambda actor: actor.created_at)
            shown = [
                {
                    'id': actor.id,
                    'name': actor.name,
                    'username': actor.username,
                    'title': actor.title,
                    'createdAt': iso(actor.created_at),
                    'modifiedAt': iso(actor.modified_at),
                    'stats': {'totalRuns': 0},
                }
                for actor in actors
            ]
        return list_reply(call, shown)

    def post_actor(self, call: Call) -> Reply:
        body = call.json_object()
        name = body.get('name')
        if not isinstance(name, str) or not name:
            raise invalid('Field "name" is required: give the Actor a name')
        options = body.get('defaultRunOptions') or {}
        with self.state.lock:
            if any(actor.name == name for actor in self.state.actors.values()):
                raise ApiError(409, 'actor-name-not-unique', f'Actor name "{name}" is taken')
            actor = self.create_actor(
                name,
                title=body.get('title'),
                timeout_secs=int(options.get('timeoutSecs') or 3600),
                memory_mbytes=int(options.get('memoryMbytes') or 1024),
            )
            shown = actor.show()
        return data_reply(shown, 201, {'Location': f'{call.base_url}/v2/actors/{actor.id}'})

    def get_actor(self, call: Call) -> Reply:
        with self.state.lock:
            return data_reply(self.find_actor(call.params['actorId']).show())

    def put_actor(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            actor = self.find_actor(call.params['actorId'])
            if isinstance(body.get('name'), str):
                actor.name = body['name']
            if 'title' in body:
                actor.title = body['title']
            options = body.get('defaultRunOptions') or {}
            actor.timeout_secs = int(options.get('timeoutSecs') or actor.timeout_secs)
            actor.memory_mbytes = int(options.get('memoryMbytes') or actor.memory_mbytes)
            actor.modified_at = now()
            return data_reply(actor.show())

    def delete_actor(self, call: Call) -> Reply:
        with self.state.lock:
            actor = self.find_actor(call.params['actorId'])
            del self.state.actors[actor.id]
        return empty_reply()

    def list_builds(self, call: Call) -> Reply:
        with self.state.lock:
            build = self.find_actor(call.params['actorId']).build.show()
        return data_reply(paginated([build], offset=0, limit=None, desc=False))

    def default_build(self, call: Call) -> Reply:
        with self.state.lock:
            return data_reply(self.find_actor(call.params['actorId']).build.show())

    def get_build(self, call: Call) -> Reply:
        with self.state.lock:
            build = self.state.builds.get(call.params['buildId'])
            if build is None:
                raise not_found('Actor build')
            return data_reply(build.show())

    # ------------------------------------------------------------------ tasks

    def list_tasks(self, call: Call) -> Reply:
        with self.state.lock:
            tasks = sorted(self.state.tasks.values(), key=lambda task: task.created_at)
            shown = [task.show() for task in tasks]
        return list_reply(call, shown)

    def post_task(self, call: Call) -> Reply:
        body = call.json_object()
        act_id = body.get('actId')
        if not isinstance(act_id, str):
            raise invalid('Field "actId" is required: name the Actor the task runs')
        with self.state.lock:
            actor = self.find_actor(act_id)
            name = body.get('name') or f'{actor.name}-task'
            if any(task.name == name for task in self.state.tasks.values()):
                raise ApiError(409, 'actor-task-name-not-unique', f'Task name "{name}" is taken')
            task = self.create_task(
                actor, name, task_input=body.get('input'), options=body.get('options')
            )
            shown = task.show()
        return data_reply(shown, 201, {'Location': f'{call.base_url}/v2/actor-tasks/{task.id}'})

    def get_task(self, call: Call) -> Reply:
        with self.state.lock:
            return data_reply(self.find_task(call.params['taskId']).show())

    def put_task(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            if isinstance(body.get('name'), str):
                task.name = body['name']
            if 'input' in body:
                task.input = body['input']
            if isinstance(body.get('options'), dict):
                task.options.update(body['options'])
            task.modified_at = now()
            return data_reply(task.show())

    def delete_task(self, call: Call) -> Reply:
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            del self.state.tasks[task.id]
        return empty_reply()

    def get_task_input(self, call: Call) -> Reply:
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            return Reply(
                200,
                json.dumps(task.input if task.input is not None else {}).encode(),
                'application/json; charset=utf-8',
            )

    def put_task_input(self, call: Call) -> Reply:
        body = call.json_object()
        with self.state.lock:
            task = self.find_task(call.params['taskId'])
            task.input = body
            task.modified_at = now()
        return Reply(200, json.dumps(body).encode(), 'application/json; charset=utf-8')
