"""What the client scripts share: the shim that lets marathon 0.13.0 import on Python 3.10+,
step lines, and following the event stream (`client.event_stream()`) in a thread.

Import it before `marathon`: the shim must be in place first.
"""

import collections
import collections.abc
import queue
import threading
import time
import traceback

# marathon 0.13.0 still uses the aliases removed from `collections` in Python 3.10.
for _name in ("Iterable", "Mapping", "MutableMapping", "Sequence"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))


def step(name, detail=""):
    """One `ok` line: a step passed."""
    print(f"ok   {name}{': ' + detail if detail else ''}", flush=True)


class EventFollower:
    """Follows `client.event_stream()` from a thread; `await_event` reads the events in order
    until one matches, so events must come in the order they are awaited. A stream that ends or
    an event the client cannot parse fails the next wait with `failure`."""

    def __init__(self, client, timeout, failure):
        self.timeout, self.failure = timeout, failure
        self.events, self.errors = queue.Queue(), queue.Queue()
        self.seen = []  # eventType of every event read, in order
        threading.Thread(target=self._follow, args=(client,), daemon=True).start()

    def _follow(self, client):
        try:
            for event in client.event_stream():
                self.events.put(event)
        except Exception as e:  # the stream ended or an event did not parse: the check fails
            self.errors.put(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")

    def await_event(self, what, match):
        """Reads events until `match` accepts one (within `timeout` seconds); returns it."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if not self.errors.empty():
                raise self.failure(f"the event stream failed: {self.errors.get()}")
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(event.event_type)
            if match(event):
                step(f"event {what}", event.event_type)
                return event
        raise self.failure(f"no {what} within {self.timeout}s; seen {self.seen[-30:]}")
