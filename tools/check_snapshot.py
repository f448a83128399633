#!/usr/bin/env python3
"""Check gclab heap snapshot files (version 1), independently of the exporter.

Usage:

    python3 tools/check_snapshot.py FILE.jsonl [FILE.jsonl...]

For each file: reads every line, validates it as ``docs/heap-snapshot.md`` specifies (the same
rules as ``gclab replay``'s reader), then recomputes from the file alone the number of objects
not reachable from an object with ``ext > 0`` and compares it with the header's
``cpython_unreachable``.

Exit status: 0 every file valid and consistent; 1 a valid file whose graph disagrees with its
header's ``cpython_unreachable``; 2 bad input (one message naming the file and the line) or a bad
invocation. Standard library only; Python 3.10 or newer.
"""

import json
import sys

FORMAT = "gclab-heap-snapshot"
VERSION = 1

# The largest ext gclab's reader accepts (format::MAX_EXT).
MAX_EXT = 1 << 24

HEADER_INTS = ("objects", "edges", "cpython_unreachable", "cpython_collect_ns")
OBJECT_FIELDS = ("id", "type", "size", "ext", "out")


class BadInput(Exception):
    """A file that is not a valid snapshot: ``line`` is 1-based (0: the file as a whole)."""

    def __init__(self, line, message):
        super().__init__(message)
        self.line = line


def is_int(value):
    # JSON true/false arrive as bool, a subclass of int: not a count.
    return isinstance(value, int) and not isinstance(value, bool)


def parse_line(text, number):
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadInput(number, "not JSON (%s)" % exc) from None
    if not isinstance(value, dict):
        raise BadInput(number, "not a JSON object")
    return value


def read_snapshot(path):
    """Returns (header, out lists, ext list); raises BadInput."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise BadInput(0, "cannot read: %s" % exc) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(line, "not UTF-8") from None
    lines = text.split("\n")
    while lines and lines[-1].strip() == "":
        lines.pop()  # the final newline (empty lines are allowed at the very end only)
    if not lines:
        raise BadInput(1, "empty file: no header")

    header = parse_line(lines[0], 1)
    if header.get("format") != FORMAT:
        raise BadInput(1, "format is %r, expected %r" % (header.get("format"), FORMAT))
    if not is_int(header.get("version")) or header["version"] != VERSION:
        raise BadInput(1, "version is %r, expected %d" % (header.get("version"), VERSION))
    if not isinstance(header.get("python"), str):
        raise BadInput(1, "python: missing or not a string")
    for key in HEADER_INTS:
        if not is_int(header.get(key)) or header[key] < 0:
            raise BadInput(1, "%s: missing or not a non-negative integer" % key)
    n = header["objects"]
    if header["cpython_unreachable"] > n:
        raise BadInput(
            1, "cpython_unreachable %d exceeds objects %d" % (header["cpython_unreachable"], n)
        )

    body = lines[1:]
    outs = []
    ext = []
    edges = 0
    for position, line_text in enumerate(body):
        number = position + 2
        if line_text.strip() == "":
            raise BadInput(number, "empty line")
        if position >= n:
            raise BadInput(number, "more object lines than the header's objects (%d)" % n)
        record = parse_line(line_text, number)
        for key in OBJECT_FIELDS:
            if key not in record:
                raise BadInput(number, "missing field %r" % key)
        if not is_int(record["id"]) or record["id"] != position:
            raise BadInput(number, "id is %r, expected %d" % (record["id"], position))
        if not isinstance(record["type"], str):
            raise BadInput(number, "type is not a string")
        if not is_int(record["size"]) or record["size"] < 0:
            raise BadInput(number, "size is not a non-negative integer")
        if not is_int(record["ext"]):
            raise BadInput(number, "ext is not an integer")
        if record["ext"] < 0:
            raise BadInput(number, "negative ext %d" % record["ext"])
        if record["ext"] > MAX_EXT:
            raise BadInput(number, "ext %d above the limit %d" % (record["ext"], MAX_EXT))
        out = record["out"]
        if not isinstance(out, list):
            raise BadInput(number, "out is not a list")
        for target in out:
            if not is_int(target) or not 0 <= target < n:
                raise BadInput(number, "out id %r outside 0..%d" % (target, n - 1))
        edges += len(out)
        outs.append(out)
        ext.append(record["ext"])
    if len(body) < n:
        raise BadInput(
            len(lines) + 1, "truncated: %d object lines, the header says %d" % (len(body), n)
        )
    if edges != header["edges"]:
        raise BadInput(1, "the out lists hold %d edges, the header says %d" % (edges, header["edges"]))
    indegree = [0] * n
    for out in outs:
        for target in out:
            indegree[target] += 1
    for i in range(n):
        if ext[i] == 0 and indegree[i] == 0:
            raise BadInput(i + 2, "object %d has no reference at all (ext 0, no incoming edge)" % i)
    return header, outs, ext


def count_unreachable(outs, ext):
    """Objects not reachable from those with ext > 0 (iterative, any depth)."""
    n = len(outs)
    reached = bytearray(n)
    stack = [i for i in range(n) if ext[i] > 0]
    for i in stack:
        reached[i] = 1
    while stack:
        for j in outs[stack.pop()]:
            if not reached[j]:
                reached[j] = 1
                stack.append(j)
    return n - sum(reached)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: python3 tools/check_snapshot.py FILE.jsonl [FILE.jsonl...]\n")
        return 0 if len(argv) >= 2 else 2
    status = 0
    for path in argv[1:]:
        try:
            header, outs, ext = read_snapshot(path)
        except BadInput as exc:
            where = "%s:%d" % (path, exc.line) if exc.line else path
            sys.stderr.write("check_snapshot: %s: %s\n" % (where, exc))
            return 2
        unreachable = count_unreachable(outs, ext)
        expected = header["cpython_unreachable"]
        verdict = "ok" if unreachable == expected else "MISMATCH"
        print(
            "%s: python %s, %d objects, %d edges, %d roots (ext > 0), unreachable %d, "
            "cpython_unreachable %d, cpython_collect_ns %d: %s"
            % (
                path,
                header["python"],
                header["objects"],
                header["edges"],
                sum(1 for e in ext if e > 0),
                unreachable,
                expected,
                header["cpython_collect_ns"],
                verdict,
            )
        )
        if unreachable != expected:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
