#!/usr/bin/env python3
"""tests/report/check_report.py REPORTDIR: checks a report folder.

index.html must parse as HTML (python's html.parser, with every non-void
element closed in order), every <img src>, <a href> and <link href> that is
not an in-page anchor or an absolute URL must name a file inside the
report, every chart (*.png, *.svg at the top) must be a valid PNG (magic,
IHDR with a non-zero size) or SVG (XML whose root is <svg>), and every
<img> must show one of them. Prints what it checked; exit 1 on the first
failure."""
import os
import struct
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urlparse, unquote

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}
# Elements whose end tag HTML lets one leave out; the page closes them anyway.
OPTIONAL_END = {"p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "option"}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.refs, self.imgs, self.errors = [], [], [], []
        self.has_doctype = False

    def handle_decl(self, decl):
        self.has_doctype |= decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src"))
        for k in ("src", "href"):
            if a.get(k) is not None:
                self.refs.append((tag, a[k], self.getpos()[0]))
        if tag not in VOID:
            self.stack.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack and self.stack[-1][0] != tag and self.stack[-1][0] in OPTIONAL_END:
            self.stack.pop()
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append("line %d: </%s> closes <%s>" % (
                self.getpos()[0], tag, self.stack[-1][0] if self.stack else "nothing"))
            return
        self.stack.pop()


def check_png(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        fail(path + ": not a PNG")
    w, h = struct.unpack(">II", head[16:24])
    if not w or not h:
        fail(path + ": PNG of size 0")


def check_svg(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail("%s: not well-formed XML: %s" % (path, e))
    if not root.tag.endswith("svg"):
        fail("%s: root element is <%s>, not <svg>" % (path, root.tag))


def main():
    if len(sys.argv) != 2:
        fail("usage: check_report.py REPORTDIR")
    top = os.path.realpath(sys.argv[1])
    index = os.path.join(top, "index.html")
    page = Page()
    with open(index, encoding="utf-8") as f:
        page.feed(f.read())
    page.close()
    if not page.has_doctype:
        fail("index.html has no <!doctype html>")
    if page.errors:
        fail("index.html: " + "; ".join(page.errors[:5]))
    left = [t for t, _ in page.stack if t not in OPTIONAL_END | {"html", "body", "head"}]
    if left:
        fail("index.html: unclosed elements: " + ", ".join(left))
    print("ok: index.html parses (%d references, %d images)" % (len(page.refs), len(page.imgs)))

    for tag, ref, line in page.refs:
        u = urlparse(ref)
        if u.scheme in ("http", "https") or ref.startswith("#"):
            continue
        if u.scheme:
            fail("index.html line %d: <%s> %s: a non-relative link in a static report" % (line, tag, ref))
        path = os.path.realpath(os.path.join(top, unquote(u.path)))
        if not path.startswith(top + os.sep):
            fail("index.html line %d: %s points outside the report" % (line, ref))
        if not os.path.isfile(path):
            fail("index.html line %d: <%s> %s: no such file in the report" % (line, tag, ref))
    print("ok: every link and image resolves to a file in the report")

    charts = [n for n in sorted(os.listdir(top)) if n.endswith((".png", ".svg"))]
    for n in charts:
        (check_png if n.endswith(".png") else check_svg)(os.path.join(top, n))
    if not charts:
        fail("no chart in the report")
    for src in page.imgs:
        if src not in charts:
            fail("<img src=%s> is not one of the report's charts" % src)
    print("ok: %d chart files are valid PNG/SVG; every <img> shows one" % len(charts))


main()
