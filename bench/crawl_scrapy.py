#!/usr/bin/python3
"""The Scrapy peer of the crawl benchmark: crawls one site the way
`fsml crawl` does and writes its product items as JSON lines.

    python3 bench/crawl_scrapy.py --start http://127.0.0.1:8089/ --concurrency 8 --out items.jsonl

Follows every <a href> on the start URL's host (robots.txt obeyed, no delay,
N requests at a time), and every URL of /sitemap.xml. A /product/ page that
has <img id="product"> is an item: title (//h1), category
(//span[@class='category']), price (//span[@class='price']), description
(//div[@class='description']) and the image, fetched by a second request and
stored as its SHA-256. Only HTML responses are parsed (a text/plain page is
not); 500 and 503 answers are retried twice (Scrapy's defaults), redirects
followed. Logs to stderr at INFO; prints one JSON line at the end:
{"pages": HTML pages parsed, "images": images fetched, "responses": all
answers, "items": items written, "seconds": crawl wall time}.

Runs on Debian's python3-scrapy (2.8) with /usr/bin/python3.
"""

import argparse
import hashlib
import json
import sys
import time
from urllib.parse import urldefrag, urljoin, urlparse

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import HtmlResponse
from scrapy.utils.sitemap import Sitemap


def text(response, xpath):
    return response.xpath(f"normalize-space({xpath})").get()


class ShopSpider(scrapy.Spider):
    name = "shop"

    def __init__(self, start, **kwargs):
        super().__init__(**kwargs)
        self.start = start
        self.origin = urlparse(start)[:2]  # (scheme, host:port)
        self.allowed_domains = [urlparse(start).hostname]
        self.pages = 0
        self.images = 0

    def on_site(self, url):
        return urlparse(url)[:2] == self.origin

    def start_requests(self):
        yield scrapy.Request(self.start, callback=self.parse)
        yield scrapy.Request(urljoin(self.start, "/sitemap.xml"), callback=self.parse_sitemap)

    def parse_sitemap(self, response):
        for entry in Sitemap(response.body):
            url = entry.get("loc", "")
            if self.on_site(url):
                yield scrapy.Request(url, callback=self.parse)

    def parse(self, response):
        if not isinstance(response, HtmlResponse):
            return
        self.pages += 1
        for href in response.xpath("//a/@href").getall():
            url = urldefrag(response.urljoin(href.strip()))[0]
            if self.on_site(url):
                yield scrapy.Request(url, callback=self.parse)
        src = response.xpath("//img[@id='product']/@src").get()
        if "/product/" in urlparse(response.url).path and src:
            item = {
                "url": response.url,
                "title": text(response, "//h1"),
                "category": text(response, "//span[@class='category']"),
                "price": text(response, "//span[@class='price']"),
                "description": text(response, "//div[@class='description']"),
                "image_url": response.urljoin(src.strip()),
            }
            yield scrapy.Request(item["image_url"], callback=self.parse_image, cb_kwargs={"item": item})

    def parse_image(self, response, item):
        self.images += 1
        item["image_sha256"] = hashlib.sha256(response.body).hexdigest()
        item["image_bytes"] = len(response.body)
        yield item


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", required=True, help="start URL, e.g. http://127.0.0.1:8089/")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    ap.add_argument("--out", required=True, help="items, one JSON object a line (overwritten)")
    ap.add_argument("--max-bytes", type=int, default=0,
                    help="drop answers larger than this (default 0: Scrapy's own limit, 1 GiB)")
    a = ap.parse_args()
    settings = {
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": a.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": a.concurrency,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "FEEDS": {a.out: {"format": "jsonlines", "encoding": "utf8", "overwrite": True}},
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",  # the non-deprecated one
    }
    if a.max_bytes:
        settings["DOWNLOAD_MAXSIZE"] = a.max_bytes
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ShopSpider)
    process.crawl(crawler, start=a.start)
    t0 = time.monotonic()
    process.start()
    seconds = time.monotonic() - t0
    stats = crawler.stats.get_stats()
    spider = crawler.spider
    print(json.dumps({"pages": spider.pages, "images": spider.images,
                      "responses": stats.get("downloader/response_count", 0),
                      "items": stats.get("item_scraped_count", 0), "seconds": round(seconds, 2)}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
