#!/usr/bin/env python3
"""Export the heap of a Python program as a gclab heap snapshot (version 1).

Usage:

    python3 tools/export_heap.py PROGRAM.py OUT.jsonl [PROGRAM_ARGS...]

The program runs as ``__main__`` (as ``python3 PROGRAM.py PROGRAM_ARGS...`` would run it) with
automatic collection disabled. When it finishes, every object ``gc.get_objects()`` returns becomes
a node of a graph: its edges are the ``gc.get_referents`` that are themselves in the snapshot
(with multiplicity), and ``ext`` counts the references to it from *outside* the snapshot — its
refcount minus the in-snapshot references minus the references the exporter itself holds while
measuring. Then one ``gc.collect()`` is timed on that very heap, and the file gets the count it
returned (``cpython_unreachable``) and its time (``cpython_collect_ns``).

Self-check: the number of objects of the exported graph that are not reachable from an object with
``ext > 0`` must equal what ``gc.collect()`` returned. Both are printed on stderr; if they differ,
no file is written and the exit status is 1.

The format, the meaning of every field and the known limits are in ``docs/heap-snapshot.md``.

Exit status: 0 written and checked; 1 the program failed or the self-check failed; 2 bad invocation.

Standard library only; Python 3.10 or newer.

How the exporter keeps out of the way
-------------------------------------
``gc.collect()`` computes, for every tracked object, ``refcount - references from other tracked
objects`` and keeps whatever is reachable from an object where that is positive. For the exported
graph to give the same answer, the heap must not change between the snapshot and the timed
collection, except for objects the exporter creates and frees itself. So:

* every import the exporter needs happens before the program runs, and the startup garbage of the
  interpreter is collected before the program starts (``cpython_unreachable`` is the program's);
* automatic collection stays disabled from the program's start to the timed collection (a
  collection in between would also untrack tuples and dicts, changing the tracked set);
* the bookkeeping lives in ``array.array`` (not a GC object) and in dicts whose keys and values are
  ints or strs (dicts CPython does not track); nothing it builds holds a reference to a program
  object when the collection runs;
* the exporter's own executing frames are left out of the snapshot (on 3.10 every frame is a
  tracked object; on 3.11+ a frame becomes one once ``sys._getframe`` materialises it);
* the references added by the measurement itself (the ``gc.get_objects()`` list and the argument
  being passed to ``sys.getrefcount``) are not guessed: they are calibrated on a probe object whose
  true count is known, measured the same way in the same pass.
"""

import array
import builtins
import gc
import importlib.machinery
import json
import os
import platform
import sys
import time
import traceback
import types
import weakref

FORMAT = "gclab-heap-snapshot"
VERSION = 1

# A refcount at or above this is an immortal object's (CPython 3.12+ reports a huge constant, see
# PEP 683). Such an object is never freed, so it is a root: its ext is written as 1.
IMMORTAL_REFCOUNT = 1 << 29

# The largest ext a reader accepts (gclab's MAX_EXT: the replay holds one handle per external
# reference). A larger ext is written as this: the object is a root either way.
EXT_LIMIT = 1 << 24

USAGE = """\
usage: python3 tools/export_heap.py PROGRAM.py OUT.jsonl [PROGRAM_ARGS...]

Runs PROGRAM.py as __main__ with automatic garbage collection disabled, exports every object
gc.get_objects() returns as a gclab heap snapshot (JSON Lines, version 1) to OUT.jsonl, then times
one gc.collect() on the same heap and checks that the exported graph predicts its result.
See docs/heap-snapshot.md."""


def say(message):
    """A line on the real stderr (the program may have replaced sys.stderr)."""
    stream = sys.__stderr__ or sys.stderr
    stream.write("export_heap: " + message + "\n")
    stream.flush()


def usage_error(message):
    say(message)
    (sys.__stderr__ or sys.stderr).write(USAGE.split("\n")[0] + "\n")
    sys.exit(2)


def parse_args(argv):
    """Checks the command line; returns (program path, output path, program arguments)."""
    if len(argv) >= 2 and argv[1] in ("-h", "--help"):
        print(USAGE)
        sys.exit(0)
    if len(argv) < 3:
        usage_error("expected PROGRAM.py and OUT.jsonl, got %d argument(s)" % (len(argv) - 1))
    program, out = argv[1], argv[2]
    if not os.path.isfile(program):
        usage_error("no such program: %s" % program)
    out = os.path.abspath(out)
    if os.path.isdir(out):
        usage_error("the output is a directory: %s" % out)
    if not os.path.isdir(os.path.dirname(out)):
        usage_error("the output's directory does not exist: %s" % os.path.dirname(out))
    return os.path.abspath(program), out, argv[3:]


def run_program(path, args):
    """Runs the program as ``__main__``; returns its module, which stays in ``sys.modules``.

    Like ``python3 PROGRAM.py``: a fresh ``__main__`` module, ``sys.argv`` and ``sys.path[0]`` set
    for the program. Its module stays installed afterwards, as it would be when a real program
    reaches its end, so its globals are live data of the exported heap.
    """
    with open(path, "rb") as f:
        source = f.read()
    try:
        code = compile(source, path, "exec")
    except SyntaxError as exc:
        say("the program does not compile: %s" % exc)
        sys.exit(2)
    del source
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__cached__ = None
    module.__builtins__ = builtins
    module.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    sys.modules["__main__"] = module
    sys.argv = [path] + list(args)
    sys.path[0] = os.path.dirname(path)
    status = 0
    try:
        exec(code, module.__dict__)
    except SystemExit as exc:
        status = exc.code
    except BaseException:  # the program's own failure: report it as Python would
        traceback.print_exc()
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the program may have closed or replaced it
            pass
    if status not in (None, 0):
        say("the program failed (exit status %r); nothing exported" % (status,))
        sys.exit(1)
    return module


class Snapshot:
    """The exported graph, in untracked storage (``array.array`` and int/str dicts).

    ``out_flat[out_start[i]:out_start[i + 1]]`` are object ``i``'s edges (CSR layout).
    """

    __slots__ = (
        "n",
        "out_start",
        "out_flat",
        "ext",
        "size",
        "tkey",
        "type_names",
        "type_finalizer",
        "weakref_target",
        "immortal",
        "clamped",
        "bias",
        "cpython_unreachable",
        "cpython_collect_ns",
    )


def snapshot_and_collect():
    """Takes the snapshot, releases every reference it holds, then times one ``gc.collect()``.

    All in one function so that the exporter's frames are the same at both moments. Every name
    below that refers to a program object is deleted before the collection.
    """
    getrefcount = sys.getrefcount
    getsizeof = sys.getsizeof
    get_referents = gc.get_referents
    is_immortal = getattr(sys, "_is_immortal", None)

    # 1. The exporter's executing frames: excluded (ids only, kept in an array).
    frame_ids = array.array("q")
    frame = sys._getframe()
    while frame is not None:
        if gc.is_tracked(frame):
            frame_ids.append(id(frame))
        frame = frame.f_back
    del frame
    skip = dict.fromkeys(frame_ids)  # int keys, None values: an untracked dict

    # CPython 3.12.0-3.12.5 (gh-122695): the `_asyncio` module's tp_traverse visits its free list,
    # so gc.get_referents(_asyncio) hands out freed objects and corrupts the heap (gc.collect()
    # then never returns). Its edges are left out there: the objects it refers to are then
    # counted as referenced from outside, which they are, through a module that is alive anyway.
    no_referents_id = -1
    if (3, 12, 0) <= sys.version_info[:3] < (3, 12, 6) and "_asyncio" in sys.modules:
        no_referents_id = id(sys.modules["_asyncio"])

    # 2. Every tracked object (the result list excludes itself), minus the exporter's frames.
    objs = gc.get_objects()
    if skip:
        objs = [o for o in objs if id(o) not in skip]
    n = len(objs)

    # 3. Refcounts, in one pass over the list, with a probe whose true refcount is known: its
    #    only reference outside `objs` is the local name `probe`. Whatever the pass adds on top
    #    (the list itself, the argument in flight) is the same for every object.
    probe = []
    objs.append(probe)
    rc = array.array("q", map(getrefcount, objs))
    objs.pop()
    bias = rc.pop() - 1
    del probe

    # 4. Ids to dense indices: int -> int, an untracked dict.
    index = dict(zip(map(id, objs), range(n)))
    lookup = index.get
    no_referents = lookup(no_referents_id, -1)

    # 5. Edges (CSR), types, sizes.
    out_start = array.array("q", [0])
    out_flat = array.array("q")
    size = array.array("q")
    tkey = array.array("l")
    type_keys = {}  # id(type) -> key (ints only)
    type_names = {}  # key -> name (int -> str)
    type_finalizer = array.array("b")
    type_is_weakref = array.array("b")
    weakref_target = array.array("q")  # for weakrefs with a callback: (index, target index or -1)
    weakref_type = weakref.ReferenceType
    gen_types = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
    append_edge = out_flat.append
    for i, o in enumerate(objs):
        if i != no_referents:
            for r in get_referents(o):
                j = lookup(id(r))
                if j is not None:
                    append_edge(j)
        out_start.append(len(out_flat))
        t = type(o)
        k = type_keys.get(id(t))
        if k is None:
            k = len(type_keys)
            type_keys[id(t)] = k
            type_names[k] = t.__name__
            # Only the real type is asked (never the object: it might run program code).
            finalizer = issubclass(t, gen_types) or any("__del__" in b.__dict__ for b in t.__mro__)
            type_finalizer.append(1 if finalizer else 0)
            type_is_weakref.append(1 if issubclass(t, weakref_type) else 0)
        tkey.append(k)
        try:
            s = getsizeof(o)
        except Exception:  # a broken __sizeof__ is not the exporter's problem
            s = 0
        size.append(s)
        if type_is_weakref[k] and o.__callback__ is not None:
            target = o()
            weakref_target.append(i)
            weakref_target.append(-1 if target is None else lookup(id(target), -1))
            del target
    # Drop every name that might still refer to a program object.
    r = t = o = b = None
    del r, t, o, b

    # 6. ext = refcount - measurement bias - in-snapshot references.
    indeg = array.array("q", bytes(8 * n))
    for j in out_flat:
        indeg[j] += 1
    ext = array.array("q", bytes(8 * n))
    immortal = clamped = 0
    for i in range(n):
        count = rc[i] - bias
        if count >= IMMORTAL_REFCOUNT or (is_immortal is not None and is_immortal(objs[i])):
            ext[i] = 1
            immortal += 1
        elif count - indeg[i] > EXT_LIMIT:
            ext[i] = EXT_LIMIT
            clamped += 1
        else:
            ext[i] = count - indeg[i]
    del objs, index, lookup, rc, indeg, skip

    # 7. The timed collection, on the program's heap.
    t0 = time.perf_counter_ns()
    found = gc.collect()
    t1 = time.perf_counter_ns()

    snap = Snapshot()
    snap.n = n
    snap.out_start = out_start
    snap.out_flat = out_flat
    snap.ext = ext
    snap.size = size
    snap.tkey = tkey
    snap.type_names = type_names
    snap.type_finalizer = type_finalizer
    snap.weakref_target = weakref_target
    snap.immortal = immortal
    snap.clamped = clamped
    snap.bias = bias
    snap.cpython_unreachable = found
    snap.cpython_collect_ns = t1 - t0
    return snap


def unreachable_from_ext(n, out_start, out_flat, ext):
    """A bytearray with 1 for each object reachable from an object with ext > 0."""
    reached = bytearray(n)
    stack = [i for i in range(n) if ext[i] > 0]
    for i in stack:
        reached[i] = 1
    push = stack.append
    pop = stack.pop
    while stack:
        i = pop()
        for j in out_flat[out_start[i] : out_start[i + 1]]:
            if not reached[j]:
                reached[j] = 1
                push(j)
    return reached


def explain_mismatch(snap, reached):
    """Known causes of a disagreement, from the recorded per-type and weakref facts."""
    with_finalizer = {}
    for i in range(snap.n):
        if not reached[i] and snap.type_finalizer[snap.tkey[i]]:
            name = snap.type_names[snap.tkey[i]]
            with_finalizer[name] = with_finalizer.get(name, 0) + 1
    if with_finalizer:
        say(
            "  unreachable objects with a finalizer (tp_finalize may free or resurrect objects "
            "during the collection): "
            + ", ".join("%s x%d" % kv for kv in sorted(with_finalizer.items()))
        )
    live_callbacks = 0
    wt = snap.weakref_target
    for k in range(0, len(wt), 2):
        w, target = wt[k], wt[k + 1]
        if reached[w] and target >= 0 and not reached[target]:
            live_callbacks += 1
    if live_callbacks:
        say(
            "  reachable weak references with a callback to unreachable objects: %d (CPython "
            "also counts the ones its callbacks free, e.g. WeakValueDictionary or ABC caches)"
            % live_callbacks
        )
    negative = sum(1 for e in snap.ext if e < 0)
    if negative:
        say("  objects with a negative ext (a tp_traverse visiting a borrowed reference?): %d"
            % negative)
    if not (with_finalizer or live_callbacks or negative):
        say("  no known cause found (another thread, or a gc callback, changing the heap?)")


def write_snapshot(snap, out):
    """Writes the file next to its destination, then renames it into place."""
    n = snap.n
    header = {
        "format": FORMAT,
        "version": VERSION,
        "python": platform.python_version(),
        "objects": n,
        "edges": len(snap.out_flat),
        "cpython_unreachable": snap.cpython_unreachable,
        "cpython_collect_ns": snap.cpython_collect_ns,
    }
    quoted = {k: json.dumps(name) for k, name in snap.type_names.items()}
    out_start, out_flat, ext, size, tkey = (
        snap.out_start,
        snap.out_flat,
        snap.ext,
        snap.size,
        snap.tkey,
    )
    tmp = "%s.tmp.%d" % (out, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(header) + "\n")
            write = f.write
            for i in range(n):
                write(
                    '{"id": %d, "type": %s, "size": %d, "ext": %d, "out": [%s]}\n'
                    % (
                        i,
                        quoted[tkey[i]],
                        size[i],
                        ext[i],
                        ", ".join(map(str, out_flat[out_start[i] : out_start[i + 1]])),
                    )
                )
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv):
    program, out, program_args = parse_args(argv)
    exporter = sys.modules["__main__"]  # noqa: F841 -- kept alive while the program is __main__

    # Start from a clean heap: the garbage of the interpreter's start-up is not the program's.
    gc.collect()
    gc.disable()
    module = run_program(program, program_args)  # noqa: F841 -- live data, like at exit
    if gc.isenabled():
        say("warning: the program re-enabled automatic collection; disabled again for the export")
        gc.disable()

    started = time.perf_counter()
    snap = snapshot_and_collect()
    elapsed = time.perf_counter() - started

    reached = unreachable_from_ext(snap.n, snap.out_start, snap.out_flat, snap.ext)
    predicted = snap.n - sum(reached)
    edges = len(snap.out_flat)
    say(
        "%s: %d objects, %d edges (measurement bias %d, %d immortal, %d ext clamped to %d); "
        "exported in %.2f s"
        % (os.path.basename(program), snap.n, edges, snap.bias, snap.immortal, snap.clamped,
           EXT_LIMIT, elapsed)
    )
    say("gc.collect() returned %d in %d ns" % (snap.cpython_unreachable, snap.cpython_collect_ns))
    say("unreachable from ext > 0 in the exported graph: %d" % predicted)
    if predicted != snap.cpython_unreachable or any(e < 0 for e in snap.ext):
        say(
            "SELF-CHECK FAILED: the exported graph has %d unreachable objects, gc.collect() "
            "returned %d; %s not written" % (predicted, snap.cpython_unreachable, out)
        )
        explain_mismatch(snap, reached)
        return 1
    write_snapshot(snap, out)
    say("self-check passed; wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
