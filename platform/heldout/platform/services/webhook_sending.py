"""Sending webhook deliveries (services/webhooks.py writes them): signed, timed out,
tried again with growing pauses, logged with the receiver's answer.

Every delivery is signed: ``Heldout-Signature: t=<unix time>,v1=<hex>`` where ``v1`` is
the HMAC-SHA256, keyed with the endpoint's secret, of ``<unix time>.`` followed by the raw
body (``verify`` checks one, as a receiver would). Only the worker sends (the queue's
``deliver_webhook`` task); the watchdog queues again what the queue lost (``requeue_due``).

A delivery to an applicant-tracking system's order (services/ats/) goes the same way, with
the same tries and log, as a ``PATCH`` to the address the ATS gave with the order (that is
how Greenhouse's partner API is told a test is complete); it is not signed, the ATS holds
no secret of ours.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from sqlalchemy import or_, select, update

from heldout.platform.extensions import db
from heldout.platform.models import WebhookDelivery

# Seconds before the 2nd, 3rd, … try after a failed one; then the delivery has failed.
RETRY_SECONDS = (30, 120, 600, 3600, 6 * 3600, 24 * 3600)
MAX_TRIES = len(RETRY_SECONDS) + 1
# A try's whole time (connect, send, first bytes back); a worker holds a delivery longer
# than that only if it died, and then another one takes it over.
TIMEOUT = urllib3.Timeout(total=15.0, connect=5.0)
LEASE_SECONDS = 60
# What the delivery log keeps of a receiver's answer.
MAX_RESPONSE_KEPT = 2000
SIGNATURE_HEADER = "Heldout-Signature"
# A receiver should refuse a signature older than this (replays); ``verify`` does.
SIGNATURE_TOLERANCE_SECONDS = 300


# --- signing -------------------------------------------------------------------------

def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: float,
           tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` within ``tolerance`` of ``now``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- sending -------------------------------------------------------------------------

@dataclass(frozen=True)
class Response:
    status: int
    body: str


# Sends one request: (method, url, body, headers, timeout) -> Response; raises on no answer.
Sender = Callable[[str, str, bytes, Mapping[str, str], urllib3.Timeout], Response]

_POOL = urllib3.PoolManager(retries=False, num_pools=20, maxsize=4)
ATS_METHOD = "PATCH"


def http_send(method: str, url: str, body: bytes, headers: Mapping[str, str],
              timeout: urllib3.Timeout) -> Response:
    answer = _POOL.request(method, url, body=body, headers=dict(headers), timeout=timeout,
                           redirect=False, preload_content=False)
    try:
        kept = answer.read(MAX_RESPONSE_KEPT * 4, decode_content=True)
    finally:
        answer.release_conn()
    return Response(answer.status, kept.decode("utf-8", "replace")[:MAX_RESPONSE_KEPT])


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    status: str                 # delivered, pending (a retry is due), failed, skipped
    retry_in: float | None = None
    detail: str = ""


def _claim(delivery_id: int, now: datetime) -> bool:
    due = or_(WebhookDelivery.next_try_at.is_(None), WebhookDelivery.next_try_at <= now)
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id,
               or_((WebhookDelivery.status == "pending") & due,
                   (WebhookDelivery.status == "sending")
                   & (WebhookDelivery.lease_expires_at < now)))
        .values(status="sending", tries=WebhookDelivery.tries + 1, last_try_at=now,
                lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False))
    db.session.commit()
    return bool(getattr(claimed, "rowcount", 0))


def deliver(delivery_id: int, *, now: datetime, send: Sender = http_send,
            timeout: urllib3.Timeout = TIMEOUT,
            clock: Callable[[], float] = time.time) -> DeliveryOutcome:
    """Try one delivery if it is due and nobody else holds it."""
    if not _claim(delivery_id, now):
        return DeliveryOutcome(delivery_id, "skipped", detail="not due or held elsewhere")
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return DeliveryOutcome(delivery_id, "skipped", detail="gone")
    body, event_name, public_id = delivery.body.encode(), delivery.event, delivery.public_id
    headers = {"Content-Type": "application/json", "User-Agent": "heldout-webhooks/1",
               "Heldout-Event": event_name, "Heldout-Delivery": public_id}
    endpoint, order = delivery.endpoint, delivery.ats_order
    method, url, refused = "POST", "", "not sent: the receiver is gone"
    if endpoint is not None:
        method, url = "POST", endpoint.url
        refused = "" if endpoint.active else "not sent: the endpoint was switched off"
        headers[SIGNATURE_HEADER] = sign(endpoint.secret, body, int(clock()))
    elif order is not None:
        method, url = ATS_METHOD, order.callback_url
        refused = "" if url else "not sent: the order gave no callback address"
    db.session.commit()  # no transaction held open while the receiver takes its time
    if refused:
        return _finish(delivery_id, now, delivered=False, response=None, retry=False,
                       error=refused, duration_ms=None)
    started = time.monotonic()
    try:
        response: Response | None = send(method, url, body, headers, timeout)
        error = ""
    except Exception as exc:  # no answer: refused, timed out, bad address…
        response, error = None, f"{type(exc).__name__}: {exc}"[:MAX_RESPONSE_KEPT]
    duration_ms = int((time.monotonic() - started) * 1000)
    if response is not None and 200 <= response.status < 300:
        return _finish(delivery_id, now, delivered=True, response=response, error="",
                       duration_ms=duration_ms)
    if response is not None:
        error = f"the endpoint answered {response.status}"
    return _finish(delivery_id, now, delivered=False, response=response, error=error,
                   duration_ms=duration_ms)


def _finish(delivery_id: int, now: datetime, *, delivered: bool, response: Response | None,
            error: str, duration_ms: int | None, retry: bool = True) -> DeliveryOutcome:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # the endpoint was deleted meanwhile
        return DeliveryOutcome(delivery_id, "skipped", detail="gone")
    delivery.lease_expires_at = None
    delivery.response_status = None if response is None else response.status
    delivery.response_body = "" if response is None else response.body
    delivery.error = error
    delivery.duration_ms = duration_ms
    retry_in: float | None = None
    if delivered:
        delivery.status, delivery.delivered_at, delivery.next_try_at = "delivered", now, None
    elif retry and delivery.tries < MAX_TRIES and (delivery.endpoint is None
                                                   or delivery.endpoint.active):
        retry_in = float(RETRY_SECONDS[delivery.tries - 1])
        delivery.status = "pending"
        delivery.next_try_at = now + timedelta(seconds=retry_in)
    else:
        delivery.status, delivery.next_try_at = "failed", None
    db.session.commit()
    return DeliveryOutcome(delivery_id, delivery.status, retry_in, error)


def requeue_due(queue_waiting: set[int], enqueue: Callable[[int], None], *,
                now: datetime, limit: int = 500) -> int:
    """Queue again the deliveries the queue lost: due and not waiting, or held by a worker
    whose lease ran out. Returns how many."""
    grace = now - timedelta(seconds=LEASE_SECONDS)
    due = db.session.scalars(
        select(WebhookDelivery.id)
        .where(or_((WebhookDelivery.status == "pending") & (WebhookDelivery.next_try_at <= grace),
                   (WebhookDelivery.status == "sending")
                   & (WebhookDelivery.lease_expires_at < now)))
        .order_by(WebhookDelivery.id).limit(limit))
    queued = 0
    for delivery_id in due:
        if delivery_id not in queue_waiting:
            enqueue(int(delivery_id))
            queued += 1
    return queued
