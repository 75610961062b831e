"""Print where each character and filled shape of a PDF page is drawn, as
JSON, with pdfminer.

Usage: glyphs.py FILE PAGE [PAGE ...]   (pages are 1-based)
       glyphs.py --many < [[FILE, [PAGE, ...]], ...]   (JSON on stdin)

Output: {"PAGE": {"chars": [[text, left, top, right, bottom, baseline, size], ...],
                  "shapes": [[left, top, right, bottom], ...]}}
or, with --many, a list of those, one per file in the order given: one
process reads every file (pdfminer takes longer to import than to read a
page).
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


def read(path, pages):
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
    return result


def main():
    if sys.argv[1:] == ["--many"]:
        wanted = json.load(sys.stdin)
        json.dump([read(path, [int(p) for p in pages]) for path, pages in wanted], sys.stdout)
    else:
        json.dump(read(sys.argv[1], [int(p) for p in sys.argv[2:]]), sys.stdout)


if __name__ == "__main__":
    main()
