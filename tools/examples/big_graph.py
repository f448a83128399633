"""A large object graph with cycles, half of it dropped (100 000+ objects).

A social network in memory: 2 000 communities of 32 users. Each ``User`` keeps its ``friends`` in
a list (a ring through the community plus random chords, so each community is strongly connected)
and a ``Profile`` that points back at its user. Some users also follow users of other
communities. The program keeps every other community in ``communities`` and drops the rest.

Garbage left behind: 1 000 communities -- 32 000 users, their friend lists and profiles: 96 000
objects -- only reachable through the friendship and profile cycles (their edges into the
live half do not keep them alive).
Live data: the other 1 000 communities (another 96 000 objects) and the ``stats`` dict.
About 205 000 tracked objects in all; the largest example, for timing.
"""

import random

COMMUNITIES = 2000
SIZE = 32


class Profile:
    __slots__ = ("user", "score")

    def __init__(self, user, score):
        self.user = user
        self.score = score


class User:
    __slots__ = ("uid", "friends", "profile")

    def __init__(self, uid):
        self.uid = uid
        self.friends = []
        self.profile = None


def community(rng, first_uid):
    users = [User(first_uid + k) for k in range(SIZE)]
    for k, user in enumerate(users):
        user.friends.append(users[(k + 1) % SIZE])
        user.friends.append(users[rng.randrange(SIZE)])
        user.profile = Profile(user, rng.random())
    return users


rng = random.Random(8)
communities = []
dropped_edges = 0
previous_live = None
for c in range(COMMUNITIES):
    users = community(rng, c * SIZE)
    if c % 2 == 0:
        communities.append(users)
        previous_live = users
    else:
        for user in users[:4]:  # dropped users following live ones
            user.friends.append(previous_live[rng.randrange(SIZE)])
            dropped_edges += 1
del users, user, previous_live

stats = {
    "live_users": sum(len(users) for users in communities),
    "cross_edges_from_garbage": dropped_edges,
}
print("big_graph: %(live_users)d live users, %(cross_edges_from_garbage)d cross edges" % stats)
