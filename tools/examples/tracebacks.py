"""Caught exceptions kept in locals: exception -> traceback -> frame -> locals -> exception.

A small request handler parses records, some of them malformed. The parse error is raised a few
calls deep and caught in ``handle``, which keeps it in a local variable (``failure = exc``, the
classic "remember the error for later" mistake) and wraps it in a ``HandlerError`` with ``raise
... from``. Once ``handle`` returns, its frame object is held by the traceback of the exception
that its own local refers to: a cycle through frame, traceback and exception objects (and the
locals of every frame on the traceback, including the request dict being handled).

Garbage left behind: for each of the 775 failed requests that are not kept, the ``ValueError``
and its args tuple, three traceback entries, the frame objects of ``handle``, ``parse_record`` and
``parse_field``, and the request's dict and list: 7 750 objects only reachable through those
cycles. (The ``HandlerError`` wrapper itself is freed by reference counting: no local refers to
it once ``handle`` returns.)
Live data: ``recent_errors``, 25 ``HandlerError`` objects with their causes, tracebacks and
frames (so those frames and requests stay alive), and the parsed results.
"""

import random


class HandlerError(Exception):
    pass


def parse_field(field):
    name, sep, value = field.partition("=")
    if not sep:
        raise ValueError("field without '=': %r" % field)
    return name, int(value)


def parse_record(fields):
    record = {}
    for field in fields:
        name, value = parse_field(field)
        record[name] = value
    return record


def handle(request, recent_errors):
    failure = None
    try:
        result = parse_record(request["fields"])
    except ValueError as exc:
        failure = exc  # keeps the exception (and so this frame) alive from this frame
    if failure is None:
        return result
    try:
        raise HandlerError("request %d failed" % request["id"]) from failure
    except HandlerError as wrapped:
        if request["id"] % 32 == 0:
            recent_errors.append(wrapped)
            del recent_errors[:-25]
        return None


rng = random.Random(8)
recent_errors = []
results = []
for i in range(2400):
    fields = ["f%d=%d" % (k, rng.randint(0, 999)) for k in range(4)]
    if i % 3 == 0:
        fields.insert(rng.randint(0, 3), "garbled")
    outcome = handle({"id": i, "fields": fields}, recent_errors)
    if outcome is not None:
        results.append(outcome)
del fields, outcome

print("tracebacks: %d parsed, %d recent errors kept" % (len(results), len(recent_errors)))
