"""Print where each character of a PDF page is drawn, as JSON, with pdfminer.

Usage: glyphs.py FILE PAGE [PAGE ...]   (pages are 1-based)

Output: {"PAGE": [[text, left, top, right, bottom, baseline, size], ...]}
in points from the page's top-left corner, characters in content order.
The box is pdfminer's: advance width by the font size, from the descender.
"""

import json
import sys

from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTChar, LTContainer


def chars(item):
    if isinstance(item, LTChar):
        yield item
    elif isinstance(item, LTContainer):
        for child in item:
            yield from chars(child)


def main():
    path, pages = sys.argv[1], [int(p) for p in sys.argv[2:]]
    result = {}
    # laparams=None keeps characters in content-stream order, ungrouped.
    for number, page in zip(
        sorted(pages), extract_pages(path, page_numbers=[p - 1 for p in pages], laparams=None)
    ):
        height = page.height
        result[str(number)] = [
            [
                c.get_text(),
                c.x0,
                height - c.y1,
                c.x1,
                height - c.y0,
                height - c.matrix[5],
                c.size,
            ]
            for c in chars(page)
        ]
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
