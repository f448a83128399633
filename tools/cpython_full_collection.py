"""CPython's side of gclab's `full_collection` benchmark (gc-refcount/benches/mark.rs).

Builds the same kinds of live heap of 1 000 000 objects and times `gc.collect()` on each, five
times, printing the median in ms and ns per object:

- `random` (lists): object i (i > 0) is the child of a random earlier object, then every object
  gets one more edge to a random object (average out-degree 2, edges go anywhere);
- `local` (lists): the same, with the parent and the extra edge among the 64 objects allocated
  just before (the first object's extra edge is to itself);
- `fields-random` and `fields-local` (instances of a class with `__slots__` `left`, `right`,
  `other`): a binary tree (heap index h has children 2h and 2h + 1) allocated in preorder, plus
  an `other` edge per object to any object, or to one of the 64 allocated just before;
- `edgeless`: one list holding 1 000 000 empty lists.

Everything stays alive, so each collection examines the whole heap and frees nothing. The
random numbers differ from the Rust benchmark's; the shapes are the same. Run it on the machine
that ran the benchmark, close in time, and compare ratios, not absolute figures.

Usage: python3 tools/cpython_full_collection.py [OBJECTS]
"""

import gc
import random
import sys
import time

WINDOW = 64


def build(n, local, rnd):
    nodes = [[] for _ in range(n)]
    for i in range(1, n):
        parent = i - 1 - rnd.randrange(min(i, WINDOW)) if local else rnd.randrange(i)
        nodes[parent].append(nodes[i])
    for i, node in enumerate(nodes):
        target = i - rnd.randrange(min(i, WINDOW) + 1) if local else rnd.randrange(n)
        node.append(nodes[target])
    return nodes[0]


class Fields:
    __slots__ = ("left", "right", "other")


def build_fields(n, local, rnd):
    by_index = [None] * (n + 1)
    in_order = []
    stack = [1]
    while stack:
        h = stack.pop()
        node = Fields()
        node.left = node.right = node.other = None
        by_index[h] = node
        in_order.append(node)
        for child in (2 * h + 1, 2 * h):
            if child <= n:
                stack.append(child)
    for h in range(1, n + 1):
        if 2 * h <= n:
            by_index[h].left = by_index[2 * h]
        if 2 * h < n:
            by_index[h].right = by_index[2 * h + 1]
    for i, node in enumerate(in_order):
        node.other = in_order[i - rnd.randrange(min(i, WINDOW) + 1) if local else rnd.randrange(n)]
    return by_index[1]


def main():
    try:
        n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
        if n < 1:
            raise ValueError
    except ValueError:
        sys.exit(f"usage: {sys.argv[0]} [OBJECTS]  (OBJECTS: a positive integer)")
    gc.disable()
    rnd = random.Random(1)
    print(f"python {sys.version.split()[0]}, {n} live objects, median of 5 gc.collect() calls")
    for kind in ("random", "local", "fields-random", "fields-local", "edgeless"):
        if kind == "edgeless":
            root = [[] for _ in range(n)]
        elif kind.startswith("fields"):
            root = build_fields(n, kind.endswith("local"), rnd)
        else:
            root = build(n, kind == "local", rnd)
        gc.collect()
        times = []
        for _ in range(5):
            start = time.perf_counter_ns()
            gc.collect()
            times.append(time.perf_counter_ns() - start)
        median = sorted(times)[2]
        print(f"{kind:13} {median / 1e6:8.1f} ms  {median / n:6.1f} ns/object")
        del root
        gc.collect()


if __name__ == "__main__":
    main()
