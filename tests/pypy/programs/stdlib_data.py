# Containers and functional tools: collections, itertools, functools, heapq,
# bisect, operator, copy.
from __future__ import print_function
import bisect
import collections
import copy
import functools
import heapq
import itertools
import operator

words = "the quick brown fox jumps over the lazy dog the end".split()
c = collections.Counter(words)
print(c.most_common(1), c["fox"], c["cat"])
d = collections.defaultdict(list)
for w in words:
    d[len(w)].append(w)
print(sorted(d.items()))
od = collections.OrderedDict([("z", 1), ("a", 2)])
od["m"] = 3
print(list(od.keys()))
Point = collections.namedtuple("Point", "x y")
p = Point(1, y=2)
print(p, p.x + p.y, p._replace(x=5))
dq = collections.deque([1, 2, 3], maxlen=3)
dq.append(4)
dq.appendleft(0)
print(list(dq))

print(list(itertools.chain([1], (2, 3))))
print(list(itertools.islice(itertools.count(10, 5), 4)))
print(list(itertools.permutations("abc", 2)))
print(list(itertools.combinations(range(4), 3)))
print([(k, len(list(g))) for k, g in itertools.groupby("aaabccdd")])
print(list(itertools.product([0, 1], repeat=2)))

print(functools.reduce(operator.mul, range(1, 11)))
add5 = functools.partial(operator.add, 5)
print(add5(10))


@functools.total_ordering
class Version(object):
    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return self.n == other.n

    def __lt__(self, other):
        return self.n < other.n


print(Version(1) <= Version(2), Version(3) >= Version(4))
print(sorted(["b", "A", "c"], key=functools.cmp_to_key(lambda a, b: (a.lower() > b.lower()) - (a.lower() < b.lower()))))

h = [5, 1, 8, 3, 9, 2]
heapq.heapify(h)
print([heapq.heappop(h) for _ in range(3)], heapq.nlargest(2, [5, 1, 8, 3]))
print(list(heapq.merge([1, 4, 7], [2, 5, 8])))

a = [1, 3, 5, 7]
print(bisect.bisect_left(a, 5), bisect.bisect_right(a, 5))
bisect.insort(a, 4)
print(a)

nested = {"k": [1, [2, 3]]}
deep = copy.deepcopy(nested)
deep["k"][1].append(4)
print(nested, deep)
print(sorted([("b", 2), ("a", 2), ("c", 1)], key=operator.itemgetter(1, 0)))
