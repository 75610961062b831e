"""Print where each character and filled shape of a PDF page is drawn, as
JSON, with pdfminer.

Usage: glyphs.py FILE PAGE [PAGE ...]   (pages are 1-based)

Output: {"PAGE": {"chars": [[text, left, top, right, bottom, baseline, size], ...],
                  "shapes": [[left, top, right, bottom], ...]}}
in points from the page's top-left corner, in content order. A character's
box is pdfminer's: advance width by the font size, from the descender up.
Shapes are filled paths (rectangles, curves), by their bounding boxes.
"""

import json
import sys

from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTContainer, LTCurve


def walk(item, kind):
    if isinstance(item, kind):
        yield item
    elif isinstance(item, LTContainer):
        for child in item:
            yield from walk(child, kind)


def main():
    path, pages = sys.argv[1], [int(p) for p in sys.argv[2:]]
    result = {}
    # laparams=None keeps characters in content-stream order, ungrouped.
    for number, page in zip(
        sorted(pages), extract_pages(path, page_numbers=[p - 1 for p in pages], laparams=None)
    ):
        height = page.height
        result[str(number)] = {
            "chars": [
                [
                    c.get_text(),
                    c.x0,
                    height - c.y1,
                    c.x1,
                    height - c.y0,
                    height - c.matrix[5],
                    c.size,
                ]
                for c in walk(page, LTChar)
            ],
            # LTRect and LTLine are LTCurves too.
            "shapes": [
                [s.x0, height - s.y1, s.x1, height - s.y0]
                for s in walk(page, LTCurve)
                if s.fill
            ],
        }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
