"""The announcer sends announcements off the request, coalesced: one message per destination for all the traces
announced while it was busy, never more ids than MAX_IDS, and what is pending when it closes."""

from __future__ import annotations

import threading

from api.announcer import MAX_IDS, Announcer


class Broker:
    """Stands for the Celery publish the api passes in: records each message; the first one waits for ``go``."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[int]]] = []
        self.first_sent, self.go = threading.Event(), threading.Event()

    def __call__(self, destination_id: str, trace_ids: list[int]) -> None:
        if not self.first_sent.is_set():
            self.first_sent.set()
            self.go.wait(10)
        self.messages.append((destination_id, list(trace_ids)))


def test_announcements_made_while_one_is_sent_go_as_one_message_per_destination() -> None:
    broker = Broker()
    announcer = Announcer(broker)
    announcer("dst_a", [1])
    assert broker.first_sent.wait(10)
    for trace_id in range(2, 102):
        announcer("dst_a" if trace_id % 2 else "dst_b", [trace_id])
    broker.go.set()
    announcer.close()
    assert broker.messages[0] == ("dst_a", [1])
    later = dict(broker.messages[1:])
    assert len(broker.messages) == 3
    assert later == {"dst_a": list(range(3, 102, 2)), "dst_b": list(range(2, 102, 2))}


def test_a_message_names_at_most_max_ids_and_a_failed_send_is_only_logged() -> None:
    sent: list[tuple[str, list[int]]] = []

    def failing(destination_id: str, trace_ids: list[int]) -> None:
        sent.append((destination_id, trace_ids))
        raise ConnectionError("broker down")

    announcer = Announcer(failing)
    announcer("dst_a", list(range(MAX_IDS + 500)))
    announcer.close()
    assert [(d, len(ids)) for d, ids in sent] == [("dst_a", MAX_IDS)]
