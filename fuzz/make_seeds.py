#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora under fuzz/corpus/<target>/.

Deterministic (gzip mtime 0, fixed bytes), so rerunning it changes nothing.
Each seed is a small valid or near-valid input; seeds named regress-* are
inputs that once broke an invariant or a resource limit (kept so it stays fixed).

    python3 fuzz/make_seeds.py
"""
import gzip
import hashlib
import os
import io
import struct
import zipfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    assert len(data) <= 512, (target, name, len(data))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# IDX: magic 0 0, type 0x08 (unsigned byte), rank, big-endian u32 dims, data.
def idx(dims, data=None, dtype=0x08):
    body = bytes([0, 0, dtype, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    if data is None:
        n = 1
        for d in dims:
            n *= d
        data = bytes(i % 251 for i in range(n))
    return body + data


def idx_seeds():
    labels = idx([10], bytes(range(10)))
    images = idx([2, 4, 4])
    write("fuzz_idx", "labels-1d.idx", labels)
    write("fuzz_idx", "images-3d.idx", images)
    write("fuzz_idx", "rank4.idx", idx([1, 2, 3, 4]))
    write("fuzz_idx", "zero-dim.idx", idx([0, 28, 28]))
    write("fuzz_idx", "labels-1d.idx.gz", gz(labels))
    write("fuzz_idx", "images-3d.idx.gz", gz(images))
    write("fuzz_idx", "truncated.idx", images[:-3])
    write("fuzz_idx", "trailing.idx", images + b"\x00\x01")
    write("fuzz_idx", "bad-type.idx", idx([4], b"\0" * 16, dtype=0x0D))
    write("fuzz_idx", "rank0.idx", b"\x00\x00\x08\x00")
    write("fuzz_idx", "truncated.idx.gz", gz(images)[:-6])
    write("fuzz_idx", "zeros-4k.gz", gz(b"\0" * 4096))  # inflates past the target's 64-byte limit
    # 2^20 * 2^20 * 2^24 wraps a 64-bit product to 0, which matched an empty
    # data section until ParseIdx checked before multiplying.
    write("fuzz_idx", "dims-wrap-2pow64.idx", idx([1 << 20, 1 << 20, 1 << 24], b""))


# Manifest v1 (src/data/manifest.h): "FSMLMANI", u32 version, u32 L, L x
# (u16 len, name), u64 N, N x (32-byte item, u32 label, u8 split, u64
# annotation), SHA-256 of the rest. Little-endian.
def manifest(labels, rows, version=1):
    out = b"FSMLMANI" + struct.pack("<II", version, len(labels))
    for l in labels:
        b = l.encode()
        out += struct.pack("<H", len(b)) + b
    out += struct.pack("<Q", len(rows))
    for item, label, split, ann in rows:
        out += item + struct.pack("<IBQ", label, split, ann)
    return out + hashlib.sha256(out).digest()


def item(n):
    return hashlib.sha256(b"item %d" % n).digest()


def manifest_seeds():
    items = sorted(item(n) for n in range(4))
    labels = ["shirt", "sneaker", "bag"]
    ok_rows = [(items[0], 0, 0, 1), (items[1], 2, 1, 2), (items[2], 1, 2, 3)]
    write("fuzz_manifest", "empty.bin", manifest([], []))
    write("fuzz_manifest", "labels-only.bin", manifest(labels, []))
    write("fuzz_manifest", "three-rows.bin", manifest(labels, ok_rows))
    write("fuzz_manifest", "utf8-label.bin", manifest(["t-shirt/top", "\u00e9t\u00e9", ""], ok_rows[:1]))
    write("fuzz_manifest", "unsorted.bin", manifest(labels, [ok_rows[1], ok_rows[0]]))
    write("fuzz_manifest", "duplicate-item.bin", manifest(labels, [ok_rows[0], ok_rows[0]]))
    write("fuzz_manifest", "label-out-of-range.bin", manifest(labels, [(items[0], 3, 0, 1)]))
    write("fuzz_manifest", "bad-split.bin", manifest(labels, [(items[0], 0, 3, 1)]))
    write("fuzz_manifest", "version-2.bin", manifest(labels, ok_rows, version=2))
    good = manifest(labels, ok_rows)
    write("fuzz_manifest", "bad-checksum.bin", good[:-1] + bytes([good[-1] ^ 1]))
    body = good[:-32]
    short = body[:-45]  # one row fewer than the count says
    write("fuzz_manifest", "row-count-mismatch.bin", short + hashlib.sha256(short).digest())


# PNG: signature, IHDR, IDAT (zlib of filter-0 scanlines), IEND.
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, color_type, channels, palette=None, bit_depth=8):
    raw = b""
    for y in range(height):
        raw += b"\0" + bytes((x * 37 + y * 11 + c * 5) % 256 for x in range(width) for c in range(channels))
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette is not None:
        out += png_chunk(b"PLTE", palette)
    out += png_chunk(b"IDAT", zlib.compress(raw, 9))
    return out + png_chunk(b"IEND", b"")


# JPEG made by hand: every block is flat (DC difference 0, then EOB), with
# one-symbol Huffman tables, so each block is the two bits "00" (baseline) or
# the one bit "0" (progressive, DC scan only).
def jpeg(width, height, components, progressive=False, scan=None):
    def seg(marker, payload):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    out = b"\xff\xd8"
    out += seg(0xDB, b"\x00" + b"\x01" * 64)
    sampling = [0x22, 0x11, 0x11] if components == 3 else [0x11] * components
    sof = struct.pack(">BHHB", 8, height, width, components)
    for i in range(components):
        sof += bytes([i + 1, sampling[i], 0])
    out += seg(0xC2 if progressive else 0xC0, sof)
    one_symbol = bytes([1] + [0] * 15) + b"\x00"
    out += seg(0xC4, b"\x00" + one_symbol)  # DC table 0: category 0
    out += seg(0xC4, b"\x10" + one_symbol)  # AC table 0: EOB
    spectral_end = 0 if progressive else 63
    sos = bytes([components]) + b"".join(bytes([i + 1, 0x00]) for i in range(components))
    out += seg(0xDA, sos + bytes([0, spectral_end, 0]))
    if scan is None:
        if components == 3:
            mcus = ((width + 15) // 16) * ((height + 15) // 16)
            blocks = mcus * 6
        else:
            blocks = ((width + 7) // 8) * ((height + 7) // 8) * components
        bits = ("0" if progressive else "00") * blocks
        bits += "1" * (-len(bits) % 8)
        scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return out + scan + b"\xff\xd9"


def image_seeds():
    gray = png(1, 1, 0, 1)
    write("fuzz_image", "gray-1x1.png", gray)
    write("fuzz_image", "rgb-3x2.png", png(3, 2, 2, 3))
    write("fuzz_image", "rgba-2x2.png", png(2, 2, 6, 4))
    write("fuzz_image", "gray-alpha-2x1.png", png(2, 1, 4, 2))
    write("fuzz_image", "palette-4x1.png", png(4, 1, 3, 1, palette=bytes(range(12))))
    write("fuzz_image", "gray-28x28.png", png(28, 28, 0, 1))
    write("fuzz_image", "truncated.png", png(28, 28, 0, 1)[:-30])
    write("fuzz_image", "huge-header.png", b"\x89PNG\r\n\x1a\n" +
          png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 1, 8, 0, 0, 0, 0)))
    write("fuzz_image", "gray-8x8.jpg", jpeg(8, 8, 1))
    write("fuzz_image", "gray-20x12.jpg", jpeg(20, 12, 1))
    write("fuzz_image", "ycbcr-16x16.jpg", jpeg(16, 16, 3))
    write("fuzz_image", "truncated.jpg", jpeg(16, 16, 3)[:-6])
    write("fuzz_image", "gray-16x16-progressive.jpg", jpeg(16, 16, 1, progressive=True))
    # A 156-byte progressive 4-component JPEG claiming 16384x16384: stb_image
    # decoded it (missing data reads as zeros) in 3 s and 2.4 GiB, over the
    # fuzzers' 2 GiB limit, until InspectImage bounded pixels per byte.
    write("fuzz_image", "regress-jpeg-16384-progressive.jpg",
          jpeg(16384, 16384, 4, progressive=True, scan=b"\x00"))
    write("fuzz_image", "not-an-image.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")


# Zip uploads (src/data/upload.h): entries as (name, bytes[, external attrs]),
# with a fixed timestamp so the bytes never change.
def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data, *attrs in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3  # Unix: external_attr holds the mode
            info.external_attr = (attrs[0] if attrs else 0o100644) << 16
            info.compress_type = compression
            z.writestr(info, data)
    return buf.getvalue()


def upload_zip_seeds():
    cat, dog = png(1, 1, 0, 1), png(2, 1, 0, 1)
    write("fuzz_upload_zip", "labeled.zip", zip_bytes([("cat/a.png", cat), ("train/dog/b.png", dog)]))
    write("fuzz_upload_zip", "stored-top.zip", zip_bytes([("a.png", cat), ("b.jpg", jpeg(8, 8, 1))], zipfile.ZIP_STORED))
    write("fuzz_upload_zip", "texts.zip",
          zip_bytes([("pos/a.txt", "good"), ("b.txt", "so-so"), ("more.jsonl", '{"text":"bad","label":"neg"}\n')]))
    write("fuzz_upload_zip", "junk.zip", zip_bytes([("__MACOSX/cat/._a.png", "x"), (".DS_Store", "x"), ("cat/", b"", 0o40755),
                                                    ("cat/a.png", cat)]))
    write("fuzz_upload_zip", "traversal.zip", zip_bytes([("cat/a.png", cat), ("x/../../etc/passwd", "root")]))
    write("fuzz_upload_zip", "absolute.zip", zip_bytes([("/abs.png", cat)]))
    write("fuzz_upload_zip", "symlink.zip", zip_bytes([("cat/link.png", "/etc/passwd", 0o120777)]))
    write("fuzz_upload_zip", "nested.zip", zip_bytes([("inner.zip", zip_bytes([("a.png", cat)]))], zipfile.ZIP_STORED))
    write("fuzz_upload_zip", "zeros.zip", zip_bytes([("cat/z.png", bytes(4096))]))
    locked = bytearray(zip_bytes([("cat/a.png", cat)], zipfile.ZIP_STORED))
    for sig, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = locked.find(sig)
        locked[at + flags] |= 1  # "encrypted"
    write("fuzz_upload_zip", "encrypted-flag.zip", bytes(locked))


def text_seeds():
    csv = {
        "simple.csv": "file,label\na.png,shirt\nb.png,bag\n",
        "crlf-bom.csv": "\ufefffile,label,split\r\na.png,shirt,train\r\nb.png,bag,test\r\n",
        "quoted.csv": 'file,label\n"a,b.png","sh""irt"\n"multi\nline.png",bag\n"",""\n',
        "blank-lines.csv": "\n\nfile,label\n\na.png,shirt\n\n",
        "no-final-newline.csv": "file,label\na.png,shirt",
        "one-column.csv": "file\na.png\n\nb.png\n",
        "field-count.csv": "file,label\na.png\n",
        "unterminated.csv": 'file,label\n"a.png,shirt\n',
        "stray-quote.csv": 'file,label\na"b.png,shirt\n',
        "after-quote.csv": 'file,label\n"a.png"x,shirt\n',
        "header-only.csv": "file,label\n",
        "utf8.csv": "file,label\nt\u00e9l\u00e9.png,\u00e9t\u00e9\n",
    }
    for name, text in csv.items():
        write("fuzz_csv", name, text)

    jsonl = {
        "simple.jsonl": '{"file":"a.png","label":"shirt"}\n{"file":"b.png","label":"bag","split":"test"}\n',
        "crlf-blank.jsonl": '{"file":"a.png"}\r\n\r\n  \t\n{"file":"b.png"}',
        "nested.jsonl": '{"a":{"b":[1,2.5,-3e2,true,false,null]},"c":"\\u00e9\\ud83d\\ude00"}\n',
        "array.jsonl": '[1,2,3]\n',
        "scalar.jsonl": '"text"\n',
        "broken.jsonl": '{"file":"a.png",}\n',
        "utf8.jsonl": '{"label":"\u00e9t\u00e9 \u2603 \U0001F600"}\n',
        "big-number.jsonl": '{"n":18446744073709551616,"m":-9223372036854775809,"f":1e308}\n',
    }
    for name, text in jsonl.items():
        write("fuzz_jsonl", name, text)
    write("fuzz_jsonl", "bad-utf8.jsonl", b'{"label":"\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80"}\n')
    write("fuzz_jsonl", "overlong.jsonl", b'{"a":"\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf"}\n')

    config = {
        "default.toml": (
            "[store]\nmeta = \"sqlite://.fsml/meta.db\"\nblobs = \"file://.fsml/objects\"\n"
            "small_object_bytes = 131072\n\n[queue]\nurl = \"embedded\"\n\n"
            "[server]\nlisten = \"127.0.0.1:8080\"\n\n[log]\nlevel = \"info\"\n\n[user]\nname = \"\"\n"),
        "overrides.toml": "# comment\n[log]\nlevel = 'debug'\n[user]\nname = \"\"\"multi\nline\"\"\"\n",
        "bool-int.toml": "[store]\nsmall_object_bytes = 0x10\n[log]\nlevel = true\n",
        "inline.toml": "store = { meta = \"sqlite://x.db\" }\nlog.level = \"warn\"\n",
        "unknown-key.toml": "[store]\nmeat = \"sqlite://x.db\"\n",
        "unknown-section.toml": "[stor]\nmeta = \"x\"\n",
        "bad-type.toml": "[store]\nmeta = [1, 2]\n",
        "float.toml": "[store]\nsmall_object_bytes = 1.5\n",
        "syntax-error.toml": "[store\nmeta = \"x\"\n",
        "not-a-table.toml": "store = 1\n",
        "empty.toml": "",
    }
    for name, text in config.items():
        write("fuzz_config", name, text)


def crawl_seeds():
    url = {
        "plain.txt": "http://example.com/",
        "normalize.txt": "HTTP://Example.COM:80/%7ea/./b/../c/%2e%2E/d?b=2&a=1&b=1#frag",
        "ipv6.txt": "https://[::1]:8443/x?y",
        "relative.txt": "../g;x?y#s",
        "base-and-ref.txt": "https://shop.example/a/b/c?p=1\n//cdn.example/x/../y z.png",
        "javascript.txt": "javascript:void(0)",
        "userinfo.txt": "http://user:pw@example.com/",
        "http-g.txt": "http:g",
        "whitespace.txt": "  a b\tc.html\n",
        "fragment.txt": "#top",
        "bad-port.txt": "http://example.com:0/",
    }
    for name, text in url.items():
        write("fuzz_url", name, text)
    write("fuzz_url", "escapes.txt", b"http://example.com/%zz/%E3%83%84/\xe3\x83\x84?q=%2f%7e&r=[]{}")
    write("fuzz_url", "idn.txt", "http://b\u00fccher.example/".encode())
    # curl decodes "%32" to the host "2" but reads "2" itself as 0.0.0.2, so the
    # normal form was not a fixed point until ParseUrl re-read numeric hosts.
    write("fuzz_url", "regress-escaped-numeric-host.txt", "http://%32")

    robots = {
        # RFC 9309 section 5.1.
        "rfc9309.txt": (
            "User-Agent: *\nDisallow: *.gif$\nDisallow: /example/\nAllow: /publications/\n\n"
            "User-Agent: foobot\nDisallow:/\nAllow:/example/page.html\nAllow:/example/allowed.gif\n\n"
            "User-Agent: barbot\nUser-Agent: bazbot\nDisallow: /example/page.html\n\nUser-Agent: quxbot\n\nEOF\n"),
        "fuzzbot.txt": (
            "User-agent: FuzzBot/1.0\nDisallow: /private\nAllow: /private/ok$\nCrawl-delay: 2.5\n"
            "Sitemap: https://fuzz.example/sitemap.xml\n/private/ok\n/private/no\n"),
        "wildcards.txt": "user-agent: *\ndisallow: /*.php$\nallow: /fish*.php\ndisallow: /$\n/fishheads/catfish.php\n",
        "many-stars.txt": "user-agent: *\ndisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*b$\n/" + "a" * 60 + "\n",
        "percent.txt": ("user-agent: *\ndisallow: /path/file-with-a-%2A.html\ndisallow: /foo-%24\n"
                        "disallow: /%62%61%7a/\u30c4\n/path/file-with-a-*.html\n/foo-$\n/baz/%E3%83%84\n"),
        "bom-crlf.txt": "\ufeffUSER-AGENT : * # all\r\nDisallow:/tmp/\rAllow: /tmp/ok\r\nno colon\r\n",
        "groups.txt": "disallow: /x\nuser-agent: a\nuser-agent: *\ncrawl-delay: 1\nallow:\nuser-agent: b\ndisallow: /\n",
    }
    for name, text in robots.items():
        write("fuzz_robots", name, text)

    sitemap = {
        "urlset.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            "<url><loc>http://www.example.com/</loc><lastmod>2005-01-01</lastmod></url>\n"
            "<url><loc>http://www.example.com/c?item=12&amp;desc=x</loc></url>\n"
            "<url><loc><![CDATA[http://www.example.com/c?item=73&desc=y]]></loc></url>\n</urlset>\n"),
        "index.xml": (
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            "<sitemap><loc> http://www.example.com/s1.xml.gz </loc></sitemap></sitemapindex>"),
        "prefixed.xml": ('<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">'
                         "<sm:url><sm:loc>https://a.example/1</sm:loc></sm:url></sm:urlset>"),
        "text.txt": "http://www.example.com/a\r\n\r\n  http://www.example.com/b  \nhttp://www.example.com/c",
        "malformed.xml": "\n\n<urlset>\n<url><loc>a</url>\n",
        "html.xml": "<!DOCTYPE html><html><body>Not found</body></html>",
        "entity-blowup.xml": (
            '<?xml version="1.0"?>\n<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
            "<urlset><url><loc>&c;</loc></url></urlset>"),
        "xxe.xml": ('<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    "<urlset><url><loc>&x;</loc></url></urlset>"),
    }
    for name, text in sitemap.items():
        write("fuzz_sitemap", name, text)
    write("fuzz_sitemap", "utf16.xml", b"\xff\xfe" +
          '<?xml version="1.0" encoding="UTF-16"?><urlset><url><loc>http://a.example/\u00e9</loc></url></urlset>'
          .encode("utf-16-le"))
    write("fuzz_sitemap", "latin1.xml",
          b'<?xml version="1.0" encoding="ISO-8859-1"?><urlset><url><loc>http://a.example/\xe9</loc></url></urlset>')
    write("fuzz_sitemap", "gzip.xml.gz", gz(b"<urlset><url><loc>http://a.example/</loc></url></urlset>"))


def crawl_page_seeds():
    config = {
        "minimal.toml": ('[crawl]\nseeds = ["https://shop.example/"]\n[extract]\nitem_url = "/product/"\n'
                         'media = "image"\n[extract.fields]\nimage = "//img[@id=\'product\']/@src"\n'),
        "full.toml": ('[crawl]\nseeds = ["http://a.example/"]\nallow = ["^http://a\\\\.example/"]\n'
                      'deny = ["/cart"]\nmax_depth = 3\nmax_pages = 9\ndelay_ms = 0\nrespect_robots = false\n'
                      'timeout_s = 2\nmax_bytes = 4096\nuser_agent = "bot"\n[extract]\nitem_xpath = "//h1"\n'
                      'follow = "//a/@href"\ntext = "t"\nlabel = "c"\nlabel_as = "label"\n'
                      '[extract.fields]\nt = "//p"\nc = "string(//b)"\n'),
        "bad-xpath.toml": ('[crawl]\nseeds = ["http://a.example/"]\n[extract]\nitem_url = "x"\ntext = "t"\n'
                           '[extract.fields]\nt = "//p["\n'),
        "unknown-key.toml": '[crawl]\nseeds = ["http://a.example/"]\ncolour = 1\n',
    }
    for name, text in config.items():
        write("fuzz_crawl_config", name, text)
    html = {
        "product.html": ("<!DOCTYPE html><html><head><base href='/x/'><title>Shop</title></head><body>"
                         "<h1> Ankle  boot no. 7 </h1><img id='product' src='/images/7.png'>"
                         "<span class='price'>$9.50</span><div class='description'>Soft <b>suede</b></div>"
                         "<a href='../p/8.html#r'>next</a><a href='//cdn.example/a b'>cdn</a>"
                         "<a href='javascript:x()'>js</a></body></html>"),
        "malformed.html": "<html><body><div class=description>a<b>b</div></div><h1>t<img id=product src=x.png>",
        "entities.html": '<!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]><h1>&x; &amp; &#x41;</h1>',
        "not-html.txt": "plain text, no tags",
    }
    for name, text in html.items():
        write("fuzz_html", name, text)


if __name__ == "__main__":
    idx_seeds()
    manifest_seeds()
    image_seeds()
    upload_zip_seeds()
    text_seeds()
    crawl_seeds()
    crawl_page_seeds()
