"""Check PDFs the way a print vendor's preflight and an accessibility audit would.

For every file given: qpdf's structure check (through pikepdf: cross-reference
table, every stream decoded, every page's content parsed), every font embedded,
and validation against PDF/UA-1 and PDF/A-2a with `page`. Prints one JSON line
per file and exits 1 if any file has a problem.

One PDF/A finding is examined rather than trusted: `page` reads a stream whose
data ends in a carriage return followed by the LF before `endstream` as a
CR LF end-of-line, and then reports a /Length mismatch. Such a finding is
accepted only when this script's own byte-level reading shows that every
stream's /Length is exact (the bytes at stream start + /Length are an EOL and
`endstream`) and that some stream's data does end in CR.
"""

import json
import re
import sys

import page
import pikepdf

STREAM = re.compile(rb"/Length (\d+)(?:(?!endobj).)*?>>\s*stream(\r\n|\n)", re.S)


def stream_lengths_exact(data):
    """(all /Length values exact, some stream's data ends with CR)."""
    exact, ends_cr = True, False
    for m in STREAM.finditer(data):
        end = m.end() + int(m.group(1))
        if not re.match(rb"(\r\n|\n|\r)endstream", data[end : end + 12]):
            exact = False
        if data[end - 1 : end] == b"\r":
            ends_cr = True
    return exact, ends_cr


def unembedded_fonts(pdf):
    missing = set()
    for pg in pdf.pages:
        fonts = pg.resources.get("/Font", {})
        for name, font in fonts.items():
            descendants = font.get("/DescendantFonts")
            targets = list(descendants) if descendants is not None else [font]
            for f in targets:
                desc = f.get("/FontDescriptor")
                if desc is None or not any(
                    k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    missing.add(str(f.get("/BaseFont", name)))
    return sorted(missing)


def check(path):
    problems = []
    with pikepdf.open(path) as pdf:
        problems += [f"qpdf: {w}" for w in pdf.check_pdf_syntax()]
        problems += [f"font not embedded: {f}" for f in unembedded_fonts(pdf)]
        pages = len(pdf.pages)
    data = open(path, "rb").read()
    for profile in ("ua1", "2a"):
        report = page.validate_pdf(path, profile=profile)
        for failure in report.failures:
            if failure.rule_id.endswith("STREAM-LENGTH-001"):
                exact, ends_cr = stream_lengths_exact(data)
                if exact and ends_cr:
                    continue
            problems.append(f"{profile}: {failure.rule_id}: {failure.message}")
    return {"file": path, "pages": pages, "problems": problems}


def main():
    failed = False
    for path in sys.argv[1:]:
        result = check(path)
        failed |= bool(result["problems"])
        print(json.dumps(result))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
