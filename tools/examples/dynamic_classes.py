"""Classes created at run time, then dropped.

A record-layout registry (the pattern of ORMs, serializers and ``namedtuple``-like factories):
for each of 400 schemas, ``type(name, bases, namespace)`` makes a class with a generated
``__init__``, a ``describe`` method that uses ``super()`` (so a ``__class__`` closure cell points
back at the class), and, for every other schema, ``__slots__``. A few instances are made of each.
Only every tenth schema stays registered; the program drops the others with their instances.

A class is cyclic on its own: its ``__mro__`` tuple holds the class; its ``__dict__`` holds
descriptors that point back at it (the member descriptors of ``__slots__``) and functions whose
``__class__`` closure cell points back at it. (Instances point at their class but nothing points
back at them, so the dropped instances are freed by reference counting; the classes are not.)

Garbage left behind: 360 schemas, each a ``Mixin`` class and a ``Record`` class with their mro and
bases tuples, namespaces, member descriptors, functions and closure cells: 6 000 objects only
reachable through those cycles.
Live data: ``registry`` (40 classes) with three instances of each in ``samples``.
"""


class RecordBase:
    def describe(self):
        return "<record>"


def make_init(fields):
    def __init__(self, *values):
        for name, value in zip(fields, values):
            setattr(self, name, value)

    return __init__


def make_class(number):
    fields = tuple("field%d_%d" % (number, k) for k in range(1 + number % 5))

    # A class statement inside a function: super() makes a __class__ cell, the class refers to
    # its methods, the methods' closure refers to the class.
    class Mixin(RecordBase):
        def describe(self):
            return "%s(%s)" % (type(self).__name__, super().describe())

    namespace = {
        "fields": fields,
        "__init__": make_init(fields),
        "describe": Mixin.describe,
        "__doc__": "Generated record layout %d" % number,
    }
    if number % 2:
        namespace["__slots__"] = fields
    return type("Record%d" % number, (Mixin,), namespace)


registry = {}
samples = []
for number in range(400):
    cls = make_class(number)
    instances = [cls(*range(len(cls.fields))) for _ in range(3)]
    text = instances[0].describe()
    if number % 10 == 0:
        registry[cls.__name__] = cls
        samples.extend(instances)
del cls, instances, number

print("dynamic_classes: %d registered, %d samples, last: %s" % (len(registry), len(samples), text))
