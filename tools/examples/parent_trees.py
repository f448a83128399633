"""Trees with parent links, most of them dropped.

A file-system-like model: every ``Node`` keeps its ``children`` in a list and points back to its
``parent``, so each tree is one big cycle (child -> parent -> children list -> child). The program
builds 300 directory trees, keeps 30 of them in ``live_trees`` and drops the rest.

Garbage left behind: 270 trees -- 4 110 ``Node`` objects with their ``children`` lists and 4 110
``File`` objects (``__slots__``, one object each): 12 330 objects on CPython 3.11-3.13 (16 440 on
3.10, where every instance also has its own ``__dict__``), only reachable through parent/child
cycles.
Live data: the 30 kept trees, and an index dict mapping paths to their nodes.
"""

import random


class Node:
    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self.children = []
        if parent is not None:
            parent.children.append(self)

    def path(self):
        parts = []
        node = self
        while node is not None:
            parts.append(node.name)
            node = node.parent
        return "/".join(reversed(parts))


class File:
    __slots__ = ("name", "parent", "size")

    def __init__(self, name, parent, size):
        self.name = name
        self.parent = parent
        self.size = size
        parent.children.append(self)


def build_tree(rng, name, depth):
    root = Node(name)
    frontier = [root]
    for level in range(depth):
        next_frontier = []
        for node in frontier:
            for k in range(rng.randint(1, 3)):
                next_frontier.append(Node("d%d" % k, node))
            File("readme.txt", node, rng.randint(1, 4096))
        frontier = next_frontier
    for node in frontier:
        File("data.bin", node, rng.randint(1, 1 << 20))
    return root


def total_size(node):
    if isinstance(node, File):
        return node.size
    return sum(total_size(child) for child in node.children)


rng = random.Random(8)
live_trees = []
sizes = {}
for t in range(300):
    tree = build_tree(rng, "vol%d" % t, 3)
    sizes[tree.name] = total_size(tree)
    if t % 10 == 0:
        live_trees.append(tree)
del tree

index = {}
for tree in live_trees:
    for child in tree.children:
        if isinstance(child, Node):
            index[child.path()] = child
del tree, child

print("parent_trees: %d live trees, %d indexed paths, %d bytes in all volumes"
      % (len(live_trees), len(index), sum(sizes.values())))
