"""The report in a real browser (headless Chromium): what it shows equals ``imuhip analyze``,
and at phone width (390 px) nothing overflows and every chart label is readable.

Chromium is the Debian package (``apt-get install chromium``; ``.ci/run`` installs it and sets
``IMUHIP_REQUIRE_BROWSER=1``, so in CI these tests fail rather than skip without it). Headless
Chromium windows are at least 500 px wide, so the phone-width page is laid out in a 390 px
iframe (its own viewport: the page's media queries see 390 px).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

from imuhip.cli import main

from .test_report import Page, assert_self_contained, check_page, simulated  # noqa: F401

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


@pytest.fixture(autouse=True)
def _need_chromium():
    if CHROMIUM is not None:
        return
    if os.environ.get("IMUHIP_REQUIRE_BROWSER"):
        pytest.fail("IMUHIP_REQUIRE_BROWSER is set but no chromium is installed (see .ci/run)")
    pytest.skip("headless browser test: chromium is not installed (apt-get install chromium)")


WIDTH, HEIGHT = 1200, 2000


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, timeout=120, check=True)


def decode_png(data: bytes) -> np.ndarray:
    """(height, width, channels) uint8 pixels of an 8-bit RGB(A), non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, 1 + w * bpp)
    out = np.zeros((h, w * bpp), np.uint8)
    prev = np.zeros(w * bpp, np.int64)
    for y in range(h):
        f, line = int(raw[y, 0]), raw[y, 1:].astype(np.int64)
        if f == 0:
            cur = line
        elif f == 1:  # Sub: a running sum per channel
            cur = np.cumsum(line.reshape(w, bpp), axis=0).reshape(-1) % 256
        elif f == 2:  # Up
            cur = (line + prev) % 256
        elif f in (3, 4):  # Average, Paeth: sequential
            L, P, C = line.tolist(), prev.tolist(), [0] * len(line)
            for x in range(len(L)):
                a = C[x - bpp] if x >= bpp else 0
                b = P[x]
                if f == 3:
                    C[x] = (L[x] + (a + b) // 2) & 255
                    continue
                c = P[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                C[x] = (L[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.asarray(C, np.int64)
        else:
            raise AssertionError(f"bad PNG filter {f}")
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)


def test_report_in_headless_chromium(simulated, tmp_path, capsys):  # noqa: F811
    html_path = tmp_path / "report.html"
    assert main(["report", str(simulated), "-o", str(html_path)]) == 0
    assert main(["analyze", "--json", str(simulated)]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out[out.index("{") :])
    assert main(["analyze", str(simulated)]) == 0
    text = capsys.readouterr().out
    url = html_path.resolve().as_uri()

    # what the browser shows: the DOM after parsing and layout
    dom = chromium(tmp_path, "--dump-dom", url).stdout.decode("utf-8")
    page = Page(dom)
    check_page(page, doc, text)
    assert_self_contained(dom, page)
    assert "SIMULATED" in dom

    # the rendered page: right size, not blank, the trace and its peak markers drawn
    png = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}", url)
    img = decode_png(png.read_bytes())[:, :, :3].astype(np.int64)
    assert img.shape == (HEIGHT, WIDTH, 3)
    assert (img != img[0, 0]).any(axis=2).mean() > 0.05, "the screenshot is (nearly) blank"
    packed = (img[:, :, 0] << 16) | (img[:, :, 1] << 8) | img[:, :, 2]
    assert len(np.unique(packed)) > 50  # text, trace, shading: many colours
    peak_red = (np.abs(img - [200, 55, 45]).max(axis=2) < 16).sum()
    assert peak_red >= 5 * len(doc["reps"]), "rep peak markers not visible"
    trace_ink = (np.abs(img - [23, 50, 77]).max(axis=2) < 24).sum()
    assert trace_ink > 500, "angle trace not visible"


PHONE_W = 390
PHONE_H = 2600
#: Runs inside the wrapper page once the report has loaded in the 390 px iframe: the report's
#: viewport width, its scroll width, and every visible chart text's rendered font size (px).
MEASURE = """
function measure() {
  var f = document.getElementById('report'), w = f.contentWindow, d = f.contentDocument;
  var texts = [];
  d.querySelectorAll('svg text').forEach(function (t) {
    var svg = t.ownerSVGElement;
    if (!svg || svg.getBoundingClientRect().width === 0) return;  // not displayed
    var m = t.getScreenCTM(), scale = Math.sqrt(m.a * m.a + m.b * m.b);
    texts.push([t.textContent, parseFloat(w.getComputedStyle(t).fontSize) * scale,
                svg.getAttribute('class')]);
  });
  var out = document.createElement('pre');
  out.id = 'measure';
  out.textContent = JSON.stringify({viewport: w.innerWidth,
    scroll: d.documentElement.scrollWidth, body: d.body.scrollWidth, texts: texts});
  document.body.appendChild(out);
}
var f = document.getElementById('report');
if (f.contentDocument && f.contentDocument.readyState === 'complete'
    && f.contentDocument.querySelector('main')) { measure(); }
else { f.addEventListener('load', measure); }
"""


def phone_page(report_html: str) -> str:
    """A page showing ``report_html`` in a PHONE_W-wide iframe, measuring it when loaded."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'></head>"
        "<body style='margin:0;background:#fff'>"
        f"<iframe id='report' width='{PHONE_W}' height='{PHONE_H}' style='border:0;display:block'"
        f' srcdoc="{html_lib.escape(report_html, quote=True)}"></iframe>'
        f"<script>{MEASURE}</script></body></html>"
    )


def test_report_at_phone_width_has_no_overflow_and_readable_labels(
    simulated,  # noqa: F811
    tmp_path,
    monkeypatch,
    capsys,
):
    """Issue #18: at 390 px the chart labels shrank to about 3 px."""
    monkeypatch.setenv("IMUHIP_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "sessions"
    folder.mkdir()
    for name in ("a.imuhip", "b.imuhip"):  # two sessions: the progress charts are drawn too
        (folder / name).write_bytes(simulated.read_bytes())
    report = tmp_path / "report.html"
    argv = ["report", str(folder / "a.imuhip"), "-o", str(report), "--history", str(folder)]
    assert main(argv) == 0
    capsys.readouterr()
    wrapper = tmp_path / "phone.html"
    wrapper.write_text(phone_page(report.read_text(encoding="utf-8")), encoding="utf-8")
    url = wrapper.resolve().as_uri()

    dom = chromium(tmp_path, "--dump-dom", "--window-size=500,2600", url).stdout.decode()
    start = dom.index('<pre id="measure">') + len('<pre id="measure">')
    m = json.loads(html_lib.unescape(dom[start : dom.index("</pre>", start)]))
    assert m["viewport"] == PHONE_W
    assert m["scroll"] <= PHONE_W and m["body"] <= PHONE_W, m  # no horizontal overflow
    texts = m["texts"]
    assert len(texts) > 20  # the trace's and both progress charts' labels are measured
    small = [(t, round(px, 1)) for t, px, _ in texts if px < 9.0]
    assert not small, f"chart labels under 9 px at {PHONE_W} px: {small[:10]}"
    assert {c for _, _, c in texts} == {"chart narrow"}  # the phone layout is the one shown
    assert any(t.startswith("date (") for t, _, _ in texts)  # the progress charts' axis

    # the rendered page: the size asked for, the trace drawn inside the phone width
    png = tmp_path / "phone.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=500,1400", url)
    img = decode_png(png.read_bytes())[:, :, :3].astype(np.int64)
    assert img.shape == (1400, 500, 3)
    trace = np.abs(img - [23, 50, 77]).max(axis=2) < 24
    assert trace[:, :PHONE_W].sum() > 300, "angle trace not visible at phone width"
    assert not trace[:, PHONE_W:].any()  # nothing drawn beyond the phone's width
