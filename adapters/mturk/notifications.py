"""MTurk notification messages (SQS bodies, or SNS `Message` strings), aws.md 4.9.

Polling ListAssignmentsForHIT for every open HIT on every round costs one call
per HIT; with notifications on, the adapter polls first (and between full
sweeps, only) the HITs MTurk said something happened to. Delivery is
at-least-once and one message may carry several events, so events are
de-duplicated by (EventType, AssignmentId or HITId, EventTimestamp).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Events after which a HIT has something to read or to re-offer.
POLL_EVENTS = frozenset(
    {"AssignmentSubmitted", "AssignmentReturned", "AssignmentAbandoned", "HITReviewable", "HITExpired"}
)


@dataclass(frozen=True)
class Event:
    event_type: str
    timestamp: str
    hit_id: str
    assignment_id: str
    hit_type_id: str

    @property
    def key(self) -> str:
        return f"{self.event_type}|{self.assignment_id or self.hit_id}|{self.timestamp}"


def parse_body(body: str) -> list[Event]:
    """The events in one message body; an SNS envelope is opened, anything unreadable gives none."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return []
    if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
        try:
            document = json.loads(str(document["Message"]))
        except ValueError:
            return []
    if not isinstance(document, dict) or not isinstance(document.get("Events"), list):
        return []
    events = []
    for raw in document["Events"]:
        if not isinstance(raw, dict) or not raw.get("EventType"):
            continue
        events.append(
            Event(
                event_type=str(raw["EventType"]),
                timestamp=str(raw.get("EventTimestamp", "")),
                hit_id=str(raw.get("HITId", "")),
                assignment_id=str(raw.get("AssignmentId", "")),
                hit_type_id=str(raw.get("HITTypeId", "")),
            )
        )
    return events


def fresh_events(events: Iterable[Event], seen: Iterable[str]) -> list[Event]:
    """Events not acted on before (and each only once, however often it was delivered)."""
    known = set(seen)
    out = []
    for event in events:
        if event.key not in known:
            known.add(event.key)
            out.append(event)
    return out


def hits_to_poll(events: Sequence[Event]) -> list[str]:
    """HIT ids to poll first, in the order MTurk reported them, each once."""
    return list(dict.fromkeys(e.hit_id for e in events if e.event_type in POLL_EVENTS and e.hit_id))


class SqsNotifications:
    """Reads notification messages from the job's SQS queue."""

    def __init__(self, sqs: Any, queue_url: str, *, max_batches: int = 10) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.max_batches = max_batches

    def receive(self) -> list[tuple[str, str]]:
        """Up to `max_batches` x 10 messages as (receipt handle, body); blocking (call off the loop)."""
        out: list[tuple[str, str]] = []
        for _ in range(self.max_batches):
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = response.get("Messages", [])
            out.extend((m["ReceiptHandle"], m.get("Body", "")) for m in messages)
            if len(messages) < 10:
                break
        return out

    def delete(self, receipts: Sequence[str]) -> None:
        """Deletes handled messages, ten at a time (SQS's batch limit)."""
        for start in range(0, len(receipts), 10):
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts[start : start + 10])]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
