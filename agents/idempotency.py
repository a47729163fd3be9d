"""Idempotent POSTs: a repeated request id gets the first response back.

1. Claim (client, path, key) by inserting a row; the unique constraint
   decides the race, so exactly one of many concurrent repeats proceeds.
2. A loser reads the winner's row: a different body is 422, a row still
   processing is 409, a finished one is replayed with Idempotent-Replayed.
3. The winner runs the handler in a transaction and stores its response;
   if the handler fails the claim is released so a retry can run.
"""

import functools
import hashlib
import json
import logging
from contextlib import nullcontext
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from agents.models import IdempotencyKey
from spotopt.errors import error_body
from spotopt.sql import column, prepared_cursor, table

logger = logging.getLogger(__name__)

KEY_MAX_LENGTH = 128
# A claim older than this belongs to a process that died mid-request.
ABANDONED_CLAIM_SECONDS = 120


def request_key(request) -> str:
    return request_key_of(request.headers.get("X-Request-ID", ""), request.data)


def request_key_of(header: str, data) -> str:
    """The request id: the X-Request-ID header, else the body's request_id."""
    key = header
    if not key and isinstance(data, dict):
        body_key = data.get("request_id")
        if isinstance(body_key, (str, int)):
            key = str(body_key)
    return key.strip()[:KEY_MAX_LENGTH]


def body_digest(data) -> str:
    try:
        canonical = json.dumps(data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        canonical = repr(data)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_call(*, request, client_id: int, handler) -> Response:
    """Run handler() at most once per request id, path and client."""
    key = request_key(request)
    if not key:
        with transaction.atomic():
            return handler()

    digest = body_digest(request.data)
    claim = _claim(client_id, request.path, key, digest)
    if isinstance(claim, Response):
        return claim

    try:
        # The answer is stored in the handler's own transaction: the effect
        # and what a replay will get commit together, so a process that
        # dies between them leaves neither, never an effect with its id
        # still open to a second run.
        with transaction.atomic():
            response = handler()
            if response.status_code < 500:
                _answer_store(claim, response)
    except Exception:
        IdempotencyKey.objects.filter(pk=claim).delete()
        raise
    if response.status_code >= 500:
        IdempotencyKey.objects.filter(pk=claim).delete()
    return response


def _answer_store(claim: int, response: Response) -> None:
    stored = json.loads(JSONRenderer().render(response.data) or b"null")
    body = IdempotencyKey._meta.get_field("response_body")
    with prepared_cursor() as cursor:
        cursor.execute(_store_sql(), [
            IdempotencyKey.State.DONE, response.status_code,
            body.get_db_prep_save(stored, connection), claim,
        ])


def _claim(client_id, path, key, digest) -> int | Response:
    """The id of the claimed key's row, or the answer for a repeat."""
    try:
        with savepoint_if_in_transaction(), prepared_cursor() as cursor:
            cursor.execute(_claim_sql(), [
                client_id, path, key, digest, IdempotencyKey.State.PROCESSING,
                timezone.now(),
            ])
            return cursor.fetchone()[0]
    except IntegrityError:
        pass  # The id is taken: answer from what its first request left.

    existing = IdempotencyKey.objects.filter(
        client_id=client_id, path=path, key=key
    ).first()
    if existing is None:
        # Released by a failed first attempt a moment ago: try once more.
        return _claim(client_id, path, key, digest)
    if existing.body_hash != digest:
        return Response(
            error_body(
                "idempotency_key_reused",
                "This request id was used with a different body.",
            ),
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if existing.state == IdempotencyKey.State.PROCESSING:
        return _still_processing(existing)

    response = Response(existing.response_body, status=existing.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


# Written by hand, both: every POST with a request id runs them, and the
# ORM spent a quarter of a millisecond of CPU building each.
@functools.cache
def _claim_sql() -> str:
    names = ("client", "path", "key", "body_hash", "state", "created_at")
    columns = ", ".join(column(IdempotencyKey, name) for name in names)
    return f"""
        INSERT INTO {table(IdempotencyKey)} ({columns})
        VALUES (%s, %s, %s, %s, %s, %s) RETURNING {column(IdempotencyKey, "id")}
    """


@functools.cache
def _store_sql() -> str:
    def col(name):
        return column(IdempotencyKey, name)

    return f"""
        UPDATE {table(IdempotencyKey)}
        SET {col("state")} = %s, {col("response_status")} = %s,
            {col("response_body")} = %s
        WHERE {col("id")} = %s
    """


def savepoint_if_in_transaction():
    """For a statement that may lose a unique-key race: a savepoint inside a
    transaction, so the lost race does not break it; outside one, nothing:
    the statement commits by itself in one round trip instead of three
    (BEGIN, statement, COMMIT), on every POST."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return nullcontext()


def _still_processing(existing: IdempotencyKey) -> int | Response:
    abandoned_before = timezone.now() - timedelta(seconds=ABANDONED_CLAIM_SECONDS)
    if existing.created_at < abandoned_before:
        # Waits for a first attempt still running its transaction, and
        # takes over nothing if that attempt finished meanwhile.
        taken = IdempotencyKey.objects.filter(
            pk=existing.pk,
            created_at=existing.created_at,
            state=IdempotencyKey.State.PROCESSING,
        ).update(created_at=timezone.now())
        if taken:
            logger.warning("Took over abandoned request id %s", existing.key)
            return existing.pk
    response = Response(
        error_body("request_in_progress", "The first request with this id is "
                   "still being processed."),
        status=status.HTTP_409_CONFLICT,
    )
    response["Retry-After"] = "1"
    return response


def idempotency_keys_prune(*, older_than_hours: int) -> int:
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
