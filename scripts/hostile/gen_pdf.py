#!/usr/bin/env python3
"""Writes the hostile PDF corpus: tests/fixtures/hostile/pdf/*.pdf and expected.json.

Python standard library only, deterministic (fixed zlib level, fixed ZIP dates): running it
twice gives the same bytes, and `cargo test -p intake-rules --test pdf_corpus` replays the
table. Every PDF is written by hand, with correct cross-reference offsets where the case
needs them (so that only the hostile part is wrong). Text the rules must strip carries the
marker LEFTOVER (`INTAKE-LEFTOVER`); the replay checks that no accepted rewrite holds it.

Usage: python3 scripts/hostile/gen_pdf.py   (from the repository root or anywhere)
"""

import io
import json
import os
import struct
import zipfile
import zlib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "hostile", "pdf")
LEFTOVER = b"INTAKE-LEFTOVER"

CONTENT = b"BT /F1 18 Tf 72 760 Td (Work certificate) Tj ET\n0.2 0.3 0.8 rg 72 700 300 40 re f\n"
FONT = b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"


def stream(data, extra=b""):
    return b"<<" + extra + b"/Length %d>>stream\n" % len(data) + data + b"\nendstream"


def flate(data, extra=b""):
    return stream(zlib.compress(data, 9), b"/Filter/FlateDecode" + extra)


def pdf(objects, trailer, version=b"1.7", prefix=None):
    """A file with objects 1..n, a classic xref table and a trailer dict body."""
    out = bytearray(prefix if prefix is not None else b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<<" + trailer + b">>\nstartxref\n%d\n%%%%EOF\n" % at
    return bytes(out)


def page_doc(catalog_extra=b"", page_extra=b"", more=(), trailer_extra=b"", content=CONTENT):
    """Catalog 1, Pages 2, Page 3, content 4, font 5, then `more` as 6, 7, …"""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R" + catalog_extra + b">>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R"
        + page_extra
        + b">>",
        flate(content),
        FONT,
    ] + list(more)
    return pdf(objects, b"/Size %d/Root 1 0 R" % (len(objects) + 1) + trailer_extra)


def encrypt_dict():
    return b"<</Filter/Standard/V 2/R 3/Length 128/P -3904/O<" + b"11" * 32 + b">/U<" + b"22" * 32 + b">>>"


def multi_page(n, text=b"Page"):
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(n))
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[" + kids + b"]/Count %d>>" % n]
    for i in range(n):
        objects.append(
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 %d 0 R>>>>/Contents %d 0 R>>"
            % (3 + 2 * n, 4 + 2 * i)
        )
        body = b"BT /F1 14 Tf 72 760 Td (%s %d of %d) Tj ET\n" % (text, i + 1, n)
        objects.append(flate(body))
    objects.append(FONT)
    return pdf(objects, b"/Size %d/Root 1 0 R" % (len(objects) + 1))


def xref_stream_doc():
    """Objects 1-3 and 5 in an object stream (6), content 4 at an offset, an xref stream (7)
    with the PNG Up predictor, as Acrobat and qpdf write them."""
    head = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    inner = [
        (1, b"<</Type/Catalog/Pages 2 0 R>>"),
        (2, b"<</Type/Pages/Kids[3 0 R]/Count 1>>"),
        (3, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>"),
        (5, FONT),
    ]
    body = bytearray()
    pairs = []
    for num, obj in inner:
        pairs.append(b"%d %d" % (num, len(body)))
        body += obj + b"\n"
    header = b" ".join(pairs) + b"\n"
    offsets = {}
    offsets[4] = len(head)
    head += b"4 0 obj\n" + flate(CONTENT) + b"\nendobj\n"
    offsets[6] = len(head)
    head += b"6 0 obj\n" + flate(header + bytes(body), b"/Type/ObjStm/N %d/First %d" % (len(inner), len(header))) + b"\nendobj\n"
    offsets[7] = len(head)
    rows = [(0, 0, 65535)]
    index_in_stream = {num: i for i, (num, _) in enumerate(inner)}
    for num in range(1, 8):
        if num in index_in_stream:
            rows.append((2, 6, index_in_stream[num]))
        else:
            rows.append((1, offsets[num], 0))
    raw = [struct.pack(">BIH", *r) for r in rows]
    # PNG "Up" predictor, 7 columns.
    predicted = bytearray()
    prev = bytes(7)
    for r in raw:
        predicted += b"\x02" + bytes((a - b) % 256 for a, b in zip(r, prev))
        prev = r
    xref = flate(bytes(predicted), b"/Type/XRef/Size 8/W[1 4 2]/Root 1 0 R/DecodeParms<</Columns 7/Predictor 12>>")
    head += b"7 0 obj\n" + xref + b"\nendobj\n"
    head += b"startxref\n%d\n%%%%EOF\n" % offsets[7]
    return bytes(head)


def incremental_update():
    """A first version whose page says LEFTOVER, then an update replacing the content (object 4)
    and adding an Info dictionary, chained by /Prev."""
    first = page_doc(content=b"BT /F1 18 Tf 72 760 Td (" + LEFTOVER + b" first draft) Tj ET\n")
    prev = int(first.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    out = bytearray(first)
    off4 = len(out)
    out += b"4 0 obj\n" + flate(CONTENT) + b"\nendobj\n"
    off6 = len(out)
    out += b"6 0 obj\n<</Producer(" + LEFTOVER + b" updater)>>\nendobj\n"
    at = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n4 1\n%010d 00000 n \n6 1\n%010d 00000 n \n" % (off4, off6)
    out += b"trailer\n<</Size 7/Root 1 0 R/Info 6 0 R/Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (prev, at)
    return bytes(out)


def zip_with_header():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("payload.html", date_time=(2026, 1, 1, 0, 0, 0))
        z.writestr(info, b"<script>alert(1)</script>")
    return b"%PDF-1.7\n" + buf.getvalue() + b"\n%%EOF\n"


def object_count_bomb():
    """An xref stream declaring 30 000 objects (all at the catalog's offset), in 60 KB."""
    base = page_doc()
    cat_off = base.index(b"1 0 obj")
    head = bytearray(base[: base.index(b"xref\n")])
    n = 30000
    rows = b"".join(struct.pack(">BIH", 1 if i else 0, cat_off if i else 0, 0) for i in range(n))
    at = len(head)
    head += b"%d 0 obj\n" % n + flate(rows, b"/Type/XRef/Size %d/W[1 4 2]/Root 1 0 R" % n) + b"\nendobj\n"
    head += b"startxref\n%d\n%%%%EOF\n" % at
    return bytes(head)


IMAGES = os.path.join(ROOT, "tests", "fixtures", "hostile", "images")


def jpeg_size(data):
    """(width, height, components) from a JPEG's first SOF0/1/2."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h, data[i + 9]
        i += 2 + length
    raise ValueError("no frame")


def image_doc(jpeg, extra=b""):
    """One page drawing `jpeg` (a /DCTDecode image XObject, object 6) under a line of text."""
    w, h, n = jpeg_size(jpeg)
    space = {1: b"/DeviceGray", 3: b"/DeviceRGB", 4: b"/DeviceCMYK"}[n]
    image = stream(jpeg, b"/Type/XObject/Subtype/Image/Width %d/Height %d/ColorSpace%s/BitsPerComponent 8"
                   b"/Filter/DCTDecode" % (w, h, space) + extra)
    content = CONTENT + b"q 300 0 0 %d 72 380 cm /Im1 Do Q\n" % (300 * h // w)
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>/XObject<</Im1 6 0 R>>>>"
        b"/Contents 4 0 R>>",
        flate(content),
        FONT,
        image,
    ]
    return pdf(objects, b"/Size 7/Root 1 0 R")


def hostile_image(name):
    with open(os.path.join(IMAGES, name), "rb") as f:
        return f.read()


def cases():
    link = lambda action: b"/Annots[<</Type/Annot/Subtype/Link/Rect[72 600 300 620]/A" + action + b">>]"
    yield ("encrypt_name_escape.pdf", "work-certificate", ["file.pdf_encrypted"], False,
           "the trailer's /Encrypt spelled with a name escape (/Encr#79pt): a real parser decodes it",
           page_doc(more=[encrypt_dict()], trailer_extra=b"/Encr#79pt 6 0 R/ID[<00><00>]"))
    yield ("encrypt_standard.pdf", "work-certificate", ["file.pdf_encrypted"], False,
           "a standard security handler /Encrypt dictionary in the trailer",
           page_doc(more=[encrypt_dict()], trailer_extra=b"/Encrypt 6 0 R/ID[<00><00>]"))
    yield ("javascript_names.pdf", "supporting", ["file.pdf_active_content"], False,
           "document-level JavaScript in the catalog's /Names /JavaScript tree",
           page_doc(catalog_extra=b"/Names<</JavaScript 6 0 R>>",
                    more=[b"<</Names[(init) 7 0 R]>>", b"<</S/JavaScript/JS(app.alert('x'))>>"]))
    yield ("openaction_javascript.pdf", "work-certificate", ["file.pdf_active_content"], False,
           "an /OpenAction that runs JavaScript when the file opens",
           page_doc(catalog_extra=b"/OpenAction 6 0 R", more=[b"<</S/JavaScript/JS 7 0 R>>", stream(b"this.print();")]))
    yield ("openaction_destination.pdf", "work-certificate", [], True,
           "Word's /OpenAction (a 'fit page' destination): harmless, stripped from the rewrite",
           page_doc(catalog_extra=b"/OpenAction[3 0 R/XYZ null null 0]"))
    yield ("aa_javascript.pdf", "supporting", ["file.pdf_active_content"], False,
           "a page's additional action (/AA /O) that runs JavaScript when the page opens",
           page_doc(page_extra=b"/AA<</O<</S/JavaScript/JS(app.launchURL('http://x'))>>>>"))
    yield ("launch.pdf", "supporting", ["file.pdf_active_content"], False,
           "a link annotation whose action launches a program (/S /Launch)",
           page_doc(page_extra=link(b"<</S/Launch/Win<</F(cmd.exe)/P(/c calc)>>>>")))
    yield ("embedded_files.pdf", "supporting", ["file.pdf_active_content"], False,
           "an embedded file in /Names /EmbeddedFiles (an attachment inside the certificate)",
           page_doc(catalog_extra=b"/Names<</EmbeddedFiles<</Names[(a.exe) 6 0 R]>>>>",
                    more=[b"<</Type/Filespec/F(a.exe)/EF<</F 7 0 R>>>>", stream(b"MZ" + b"\0" * 30, b"/Type/EmbeddedFile")]))
    yield ("richmedia.pdf", "supporting", ["file.pdf_active_content"], False,
           "a /RichMedia annotation (Flash/video content)",
           page_doc(page_extra=b"/Annots[<</Type/Annot/Subtype/RichMedia/Rect[0 0 100 100]/RichMediaContent<<>>>>]"))
    yield ("xfa_form.pdf", "work-certificate", ["file.pdf_active_content"], False,
           "an XFA form (/AcroForm /XFA): its content is an XML program, not the page",
           page_doc(catalog_extra=b"/AcroForm<</Fields[]/XFA 6 0 R>>", more=[stream(b"<xdp:xdp></xdp:xdp>")]))
    yield ("uri_javascript.pdf", "supporting", ["file.pdf_active_content"], False,
           "a link whose /URI action is javascript: (mixed case, leading blank)",
           page_doc(page_extra=link(b"<</S/URI/URI( JaVaScRiPt:alert(document.domain))>>")))
    yield ("uri_https.pdf", "supporting", [], True,
           "an ordinary https link is not active content: kept",
           page_doc(page_extra=link(b"<</S/URI/URI(https://www.example.com/)>>")))
    yield ("zip_with_pdf_header.pdf", "work-certificate", ["file.pdf_invalid"], False,
           "a ZIP archive behind a %PDF- header: no cross-reference, no trailer, no pages",
           zip_with_header())
    yield ("stub_15_bytes.pdf", "work-certificate", ["file.pdf_invalid"], False,
           "the 15-byte '%PDF-1.7 %%EOF' stub the byte scan accepted as a work certificate",
           b"%PDF-1.7 %%EOF\n")
    yield ("data_after_eof.pdf", "work-certificate", [], True,
           "a valid PDF with a ZIP and HTML after %%EOF (a polyglot): accepted, the rewrite ends at its %%EOF",
           page_doc() + zip_with_header()[9:] + b"<html>" + LEFTOVER + b"</html>\n")
    yield ("incremental_update.pdf", "work-certificate", [], True,
           "an incremental update (/Prev): accepted, the old content and the Info are gone from the rewrite",
           incremental_update())
    yield ("info_and_xmp.pdf", "work-certificate", [], True,
           "an Info dictionary and an XMP /Metadata stream (author, tool): stripped",
           page_doc(catalog_extra=b"/Metadata 7 0 R", trailer_extra=b"/Info 6 0 R",
                    more=[b"<</Author(" + LEFTOVER + b")/Creator(Word)>>",
                          stream(b"<x:xmpmeta><dc:creator>" + LEFTOVER + b"</dc:creator></x:xmpmeta>",
                                 b"/Type/Metadata/Subtype/XML")]))
    yield ("xref_stream.pdf", "work-certificate", [], True,
           "PDF 1.5 structure: an object stream and a predictor-coded xref stream",
           xref_stream_doc())
    yield ("nesting_bomb.pdf", "supporting", ["file.pdf_too_complex"], False,
           "10 000 nested arrays (a stack bomb for recursive parsers)",
           page_doc(catalog_extra=b"/X " + b"[" * 10000 + b"]" * 10000))
    yield ("object_count_bomb.pdf", "supporting", ["file.pdf_too_complex"], False,
           "an xref stream declaring 30 000 objects in 60 KB",
           object_count_bomb())
    yield ("flate_bomb.pdf", "supporting", ["file.pdf_stream_too_large"], False,
           "a page content stream of 16 KB that inflates to 16 MiB",
           page_doc(content=b" " * (16 * 1024 * 1024)))
    yield ("too_many_pages.pdf", "supporting", ["file.pdf_too_many_pages"], False,
           "201 pages, over the 200-page limit",
           multi_page(201))
    yield ("no_pages.pdf", "work-certificate", ["file.pdf_no_pages"], False,
           "a catalog whose page tree has no page",
           pdf([b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"], b"/Size 3/Root 1 0 R"))
    yield ("empty_page.pdf", "work-certificate", ["file.pdf_no_pages"], False,
           "one page whose content stream is empty",
           page_doc(content=b"\n"))
    yield ("page_tree_loop.pdf", "supporting", ["file.pdf_invalid"], False,
           "a page tree whose /Kids refer back to the root",
           pdf([b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[2 0 R]/Count 1>>"], b"/Size 3/Root 1 0 R"))
    yield ("jpeg_image_gps.pdf", "work-certificate", [], True,
           "a scanned certificate: a JPEG image whose EXIF (GPS, a certificate number) sits between its scans, "
           "with HTML after its EOI: accepted, the image stream is rebuilt by the JPEG sanitizer",
           image_doc(hostile_image("gps_between_scans.jpg") + b"<html>" + LEFTOVER + b"</html>"))
    yield ("jpeg_image_cmyk.pdf", "supporting", [], True,
           "a CMYK JPEG image (Adobe APP14, /DeviceCMYK) as print workflows write them: accepted, rebuilt with a "
           "fresh 12-byte Adobe header so its colours read the same",
           image_doc(hostile_image("cmyk.jpg")))
    yield ("jpeg_image_jpgn.pdf", "supporting", ["file.pdf_invalid"], False,
           "a JPEG image stream carrying JPEG-extension (JPGn) segments: it cannot be rebuilt, the file is refused",
           image_doc(hostile_image("jpgn_segments.jpg")))
    yield ("multi_page.pdf", "supporting", [], True,
           "an ordinary 5-page PDF with compressed text pages",
           multi_page(5, b"Employment certificate, page"))


def main():
    os.makedirs(OUT, exist_ok=True)
    files = []
    for name, kind, codes, accepted, why, data in cases():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        files.append({"file": "pdf/" + name, "kind": kind, "codes": codes, "accepted": accepted, "why": why})
    # Made by real software (committed, not generated here; see README.md in this folder).
    for name, why in [
        ("real_fpdf2.pdf", "made by PyPI fpdf2 2.x (a real PDF writer): two pages of text in the Helvetica core font, an Info dictionary with an author"),
        ("real_qpdf_objstm.pdf", "multi_page.pdf rewritten by Debian's qpdf 11 with object and xref streams"),
    ]:
        if os.path.exists(os.path.join(OUT, name)):
            files.append({"file": "pdf/" + name, "kind": "supporting", "codes": [], "accepted": True, "why": why})
    table = {
        "about": "Hostile and ordinary PDFs for the work certificate and supporting files (issue 11 part 2). "
        "Generated by scripts/hostile/gen_pdf.py; codes are every code the rules report; accepted files are "
        "stored as the rules' rewrite (rules/src/pdf.rs), checked by rules/tests/pdf_corpus.rs with qpdf.",
        "files": files,
    }
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(table, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
