"""Slices of one read fetched by a bounded pool of threads, handed on in slice order.

Why: a vendor read is mostly waiting (the vendor composes a page, the network carries it);
paging one cursor after another leaves that time unused. A window cut into independent
slices (HubSpot search by modified-time windows, Mailchimp activity per campaign, Google
Ads click_view per day) can be read by several workers at once.

What must not change with the number of workers:

* the order of the records handed on: slice by slice, in the order the slices were given,
  each slice in the vendor's order. The landing file and its checksum are the same with 1
  worker and with 8, whatever the thread timing.
* the failure: the first slice that fails (retries spent, a cursor that loops, a wrong
  shape) fails the whole read with its own error, noted with the slice; the other slices
  are told to stop, and the caller (the landing write) throws its temporary file away.
* memory: at most ``workers + ahead`` slices are fetched before the consumer reaches them;
  a slice is held as a list until its turn, so a slice must be bounded (HubSpot's search
  cap bounds a search window; a day or a campaign bounds the others).

Rate limits are not this module's concern: a reader's throttle is shared by its workers
(``hubspot.Throttle`` holds its lock across threads).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Slice(Generic[T]):
    """One independent part of a read: a label for errors and the function reading it."""

    label: str
    read: Callable[[], Iterable[T]]


class _Stopped(Exception):
    """Raised inside a worker whose read was abandoned (another slice failed, or the
    consumer stopped reading)."""


def ordered(slices: Iterable[Slice[T]], workers: int, ahead: int | None = None) -> Iterator[T]:
    """Every record of every slice, slice by slice in the given order, read by ``workers``
    threads. ``ahead``: slices fetched beyond the workers' own (default 2).

    With ``workers <= 1`` the slices are read one after another in this thread, lazily:
    the same records in the same order, nothing buffered.
    """
    if workers <= 1:
        for part in slices:
            try:
                yield from part.read()
            except Exception as exc:
                exc.add_note(f"while reading slice {part.label}")
                raise
        return
    yield from _pooled(iter(slices), workers, 2 if ahead is None else ahead)


def _pooled(slices: Iterator[Slice[T]], workers: int, ahead: int) -> Iterator[T]:
    stop = threading.Event()

    def fetch(part: Slice[T]) -> list[T]:
        out: list[T] = []
        for item in part.read():
            if stop.is_set():
                raise _Stopped()
            out.append(item)
        return out

    pool = ThreadPoolExecutor(workers, thread_name_prefix="smarketing-extract")
    inflight: deque[tuple[Slice[T], Future[list[T]]]] = deque()

    def refill() -> None:
        while len(inflight) < workers + ahead:
            part = next(slices, None)
            if part is None:
                return
            inflight.append((part, pool.submit(fetch, part)))

    def raise_first_failure(done: Iterable[Future[list[T]]]) -> None:
        """Fail fast: a later slice's error need not wait for the earlier slices."""
        for part, future in inflight:
            if future in done and future.exception() is not None:
                exc = future.exception()
                assert exc is not None
                exc.add_note(f"while reading slice {part.label}")
                raise exc

    try:
        refill()
        while inflight:
            _, head = inflight[0]
            while not head.done():
                pending = [f for _, f in inflight if not f.done()]
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                raise_first_failure(done)
            raise_first_failure({head})
            inflight.popleft()
            records = head.result()
            refill()  # the next slice starts while this one is handed on
            yield from records
            del records
    finally:
        stop.set()
        for _, future in inflight:
            future.cancel()
        # not waiting: a slice in the middle of a request ends it, sees ``stop`` and quits;
        # the failure (or the consumer) need not wait for a slow vendor
        pool.shutdown(wait=False, cancel_futures=True)
