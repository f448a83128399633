"""A parsed XML document, dropped without ``unlink()``.

The program generates a product catalogue as XML text and parses it with ``xml.dom.minidom``.
Every DOM node points back at its parent (``parentNode``), at the document (``ownerDocument``)
and at its neighbours (``previousSibling``/``nextSibling``); attributes point at their element
(``ownerElement``). The minidom documentation says to call ``unlink()`` when done, because of
exactly these cycles; the program extracts a summary and forgets to.

Garbage left behind: the catalogue document of 400 products -- its elements, text nodes,
attribute nodes, NodeLists and attribute dicts: about 11 400 objects (11 422 on CPython 3.11)
only reachable through back references.
Live data: a small settings document that stays parsed in ``settings``, and the summary dict.
"""

import random
from xml.dom import minidom


def catalogue_xml(rng, products):
    parts = ['<?xml version="1.0"?>', '<catalogue generated="1">']
    for p in range(products):
        parts.append('<product id="p%d" category="c%d">' % (p, rng.randint(0, 9)))
        parts.append("<name>Product %d</name>" % p)
        parts.append('<price currency="EUR">%d.%02d</price>' % (rng.randint(1, 500), rng.randint(0, 99)))
        for t in range(rng.randint(0, 3)):
            parts.append("<tag>t%d</tag>" % rng.randint(0, 50))
        parts.append("</product>")
    parts.append("</catalogue>")
    return "".join(parts)


rng = random.Random(8)
document = minidom.parseString(catalogue_xml(rng, 400))
summary = {}
for product in document.getElementsByTagName("product"):
    category = product.getAttribute("category")
    price = product.getElementsByTagName("price")[0].firstChild.data
    summary[category] = summary.get(category, 0.0) + float(price)
del document, product  # no unlink(): the tree stays cyclic

settings = minidom.parseString(
    '<settings><option name="currency">EUR</option><option name="rounding">2</option></settings>'
)

print("minidom_backrefs: %d categories, %d settings options"
      % (len(summary), len(settings.getElementsByTagName("option"))))
