"""Wiring of the xAPI deliverer: the SQL outbox, LRS clients, retry policy.

Used by `tierpath xapi deliver` and by the optional in-process deliverer
(TIERPATH_XAPI_DELIVER_IN_PROCESS, the demo's choice): a daemon thread per
web process. With several processes on PostgreSQL the claims never overlap
(`FOR UPDATE SKIP LOCKED`); on SQLite run one deliverer.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from datetime import timedelta

import requests

from lti_tool.background import BackgroundWorker
from lti_tool.runtime import Runtime
from lti_tool.services.xapi_outbox import SqlOutboxStore
from xapi.client import LrsClient
from xapi.delivery import Deliverer, RetryPolicy
from xapi.outbox import Target

_log = logging.getLogger("lti_tool.xapi")


def worker_name() -> str:
    """host:pid:thread, so a lease names who holds it."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"[
        :100
    ]


def build_deliverer(rt: Runtime, *, worker: str | None = None) -> Deliverer:
    """A deliverer over the runtime's database with pooled, timed HTTP clients."""
    settings = rt.settings.xapi
    http = requests.Session()
    clients: dict[tuple[int, str, str, str], LrsClient] = {}

    def client_for(target: Target) -> LrsClient:
        key = (target.id, target.endpoint, target.username, target.password)
        client = clients.get(key)
        if client is None:
            client = LrsClient(
                target.endpoint,
                target.username,
                target.password,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                session=http,
            )
            clients[key] = client
        return client

    return Deliverer(
        store=SqlOutboxStore(rt.session_factory, rt.encryptor, rt.blobs),
        client_for=client_for,
        policy=RetryPolicy(
            base=settings.retry_base,
            cap=settings.retry_cap,
            give_up_after=timedelta(seconds=settings.give_up_after),
        ),
        clock=rt.clock,
        rng=random.Random(),  # noqa: S311 - retry jitter, not a secret
        worker_id=worker or worker_name(),
        lease=timedelta(seconds=settings.lease),
        batch_size=settings.batch_size,
    )


def background_deliverer(rt: Runtime) -> BackgroundWorker:
    """The in-process deliverer (TIERPATH_XAPI_DELIVER_IN_PROCESS)."""
    return BackgroundWorker(
        "tierpath-xapi-deliverer",
        lambda: build_deliverer(rt),
        rt.settings.xapi.poll_interval,
    )
