"""The gradebook poster: drains the AGS score queue into the LMSs.

Used by `tierpath ags deliver` and by the in-process poster the demo runs
(TIERPATH_AGS_DELIVER_IN_PROCESS). Per learner the scores go in the order
they were recorded (a learner's next score waits until the previous one is
sent or dead); 429, 5xx, timeouts and connection errors are retried with
exponential backoff and jitter; other refusals are dead letters the admin
page shows and can resend. Nothing is dropped.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from lti_tool.background import BackgroundWorker
from lti_tool.db.models import LineItemLink, Platform
from lti_tool.http import TimeoutSession
from lti_tool.lti.advantage import CachedTokenConnector, TokenCache, registration_for
from lti_tool.lti.gradebook import GradebookClient, GradebookError, LineItemSpec
from lti_tool.runtime import Runtime
from lti_tool.services import keys as key_service
from lti_tool.services import score_passback as queue
from lti_tool.xapi_delivery import worker_name
from xapi.delivery import RetryPolicy

_log = logging.getLogger("lti_tool.ags")


@dataclass
class PosterReport:
    """What one round did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.dead

    def summary(self) -> str:
        return f"{self.sent} sent, {self.retried} to retry, {self.dead} dead"


class ScorePoster:
    """Claims due scores and posts them, one learner's scores in order."""

    def __init__(
        self,
        rt: Runtime,
        *,
        tokens: TokenCache | None = None,
        worker: str | None = None,
        batch_size: int = 50,
        rng: random.Random | None = None,
        http: TimeoutSession | None = None,
    ) -> None:
        settings = rt.settings.ags
        self._rt = rt
        self._tokens = tokens or TokenCache()
        self._http = http or TimeoutSession(rt.settings.http_timeout)
        self._worker = worker or worker_name()
        self._batch = batch_size
        self._lease = timedelta(seconds=settings.lease)
        self._policy = RetryPolicy(
            base=settings.retry_base,
            cap=settings.retry_cap,
            give_up_after=timedelta(seconds=settings.give_up_after),
        )
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    def _client(self, platform: Platform) -> GradebookClient:
        with self._rt.session_factory() as session:
            if key_service.ensure_keys(session, self._rt.encryptor, self._rt.clock()):
                session.commit()  # first run: the tool's key pair is made here
            key = key_service.current_key(session, self._rt.encryptor)
        connector = CachedTokenConnector(
            registration_for(platform, key), self._http, self._tokens
        )
        return GradebookClient(connector, self._http, self._rt.settings.http_timeout)

    def run_once(self) -> PosterReport:
        """Post everything due now, round after round, until nothing is due."""
        report = PosterReport()
        while True:
            now = self._rt.clock()
            due = queue.claim_due(
                self._rt.session_factory, self._worker, now, self._lease, self._batch
            )
            if not due:
                return report
            for row in due:
                self._post(row, report)

    def _line_item(
        self, client: GradebookClient, row: queue.DueScore, spec: LineItemSpec
    ) -> str:
        with self._rt.session_factory() as session:
            known = session.scalar(
                sa.select(LineItemLink.url).where(
                    LineItemLink.lineitems_url == row.lineitems_url,
                    LineItemLink.resource_id == spec.resource_id,
                    LineItemLink.tag == spec.tag,
                )
            )
        if known is not None:
            return known
        url = client.find_or_create(row.lineitems_url, row.scopes, spec)
        with self._rt.session_factory() as session:
            session.add(
                LineItemLink(
                    platform_id=row.platform_id,
                    lineitems_url=row.lineitems_url,
                    resource_id=spec.resource_id,
                    tag=spec.tag,
                    url=url,
                    label=spec.label,
                    score_maximum=spec.score_maximum,
                    created_at=self._rt.clock(),
                )
            )
            try:
                session.commit()
            except sa.exc.IntegrityError:
                session.rollback()  # another worker linked it first: same item
        return url

    def _forget_line_item(self, row: queue.DueScore, spec: LineItemSpec) -> None:
        with self._rt.session_factory() as session:
            session.execute(
                sa.delete(LineItemLink).where(
                    LineItemLink.lineitems_url == row.lineitems_url,
                    LineItemLink.resource_id == spec.resource_id,
                    LineItemLink.tag == spec.tag,
                )
            )
            session.commit()

    def _post(self, row: queue.DueScore, report: PosterReport) -> None:
        item = row.line_item
        spec = LineItemSpec(
            resource_id=str(item["resourceId"]),
            tag=str(item["tag"]),
            label=str(item["label"]),
            score_maximum=float(item["scoreMaximum"]),
            resource_link_id=item.get("resourceLinkId"),
            submission_review=item.get("submissionReview"),
        )
        try:
            with self._rt.session_factory() as session:
                platform = session.get(Platform, row.platform_id)
                if platform is None:
                    raise GradebookError(
                        "the platform was removed", status=None, retryable=False
                    )
                session.expunge(platform)
            client = self._client(platform)
            url = self._line_item(client, row, spec)
            try:
                client.post_score(
                    url, row.scopes, {**row.payload, "userId": row.user_sub}
                )
            except GradebookError as error:
                if error.status != 404:
                    raise
                # The line item was deleted in the LMS: find or create it again.
                self._forget_line_item(row, spec)
                url = self._line_item(client, row, spec)
                client.post_score(
                    url, row.scopes, {**row.payload, "userId": row.user_sub}
                )
        except GradebookError as error:
            self._failed(row, report, error.status, error.message, error.retryable)
            return
        except Exception as error:  # noqa: BLE001 - a bug must not stop the queue
            _log.exception("score %s: unexpected error", row.id)
            self._failed(row, report, None, f"unexpected error: {error}", True)
            return
        with self._rt.session_factory() as session:
            queue.mark_sent(session, row.id, self._rt.clock())
            session.commit()
        report.sent += 1

    def _failed(
        self,
        row: queue.DueScore,
        report: PosterReport,
        status: int | None,
        message: str,
        retryable: bool,
    ) -> None:
        now = self._rt.clock()
        retry_at = None
        if retryable and not self._policy.gives_up(row.created_at, now):
            retry_at = now + timedelta(
                seconds=self._policy.delay(row.attempts, self._rng)
            )
        with self._rt.session_factory() as session:
            queue.mark_failed(
                session, row.id, now, status=status, error=message, retry_at=retry_at
            )
            session.commit()
        if retry_at is None:
            report.dead += 1
            _log.warning("score %s dead: %s", row.id, message)
        else:
            report.retried += 1
            _log.info("score %s will be retried: %s", row.id, message)
        report.errors.append(message)

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:  # noqa: BLE001 - keep the worker alive (DB restart…)
                _log.exception("score poster round failed")
                report = PosterReport()
            if report.claimed == 0:
                stop.wait(interval)


def background_poster(rt: Runtime, tokens: TokenCache) -> BackgroundWorker:
    """The in-process poster (TIERPATH_AGS_DELIVER_IN_PROCESS)."""
    return BackgroundWorker(
        "tierpath-ags-poster",
        lambda: ScorePoster(rt, tokens=tokens),
        rt.settings.ags.poll_interval,
    )
