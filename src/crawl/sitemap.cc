// Sitemap parsing: libxml2's tree for XML sitemaps, lines for text ones.
#include "crawl/sitemap.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include "core/text.h"

namespace fsml::crawl {
namespace {

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct XmlCtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

tl::unexpected<Status> Bad(std::string problem) { return Err(InvalidArgument("sitemap: " + std::move(problem))); }

// "50,000"
std::string WithCommas(size_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

tl::unexpected<Status> TooManyLocs() {
  return Bad("more than " + WithCommas(kMaxSitemapLocs) + " URLs, the protocol's limit per sitemap");
}

// Keeps the first error libxml2 reports for a document (it goes on after
// one and reports what follows from it; the first names the cause).
struct FirstError {
  bool seen = false;
  int line = 0;
  std::string message;
};

void KeepFirstError(void* user_data, xmlError* error) {
  // REQUIRES: user_data is the parser context, whose _private is a FirstError (ParseXml sets both).
  auto* first = static_cast<FirstError*>(static_cast<xmlParserCtxt*>(user_data)->_private);
  if (first->seen || !error || error->level < XML_ERR_ERROR) return;
  first->seen = true;
  first->line = error->line;
  first->message = error->message ? std::string(TrimSpace(error->message)) : "not well-formed";
}

bool LocalNameIs(const xmlNode* n, const char* name) {
  return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

std::string TextOf(const xmlNode* n) {
  xmlChar* c = xmlNodeGetContent(n);
  if (!c) return {};
  std::string out(reinterpret_cast<const char*>(c));
  xmlFree(c);
  return out;
}

Result<Sitemap> ParseText(std::string_view body) {
  auto control = std::find_if(body.begin(), body.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f;
  });
  if (control != body.end())
    return Bad("a text sitemap with a control byte at offset " + std::to_string(control - body.begin()) +
               " (expected one URL per line)");
  Sitemap out;
  while (!body.empty()) {
    size_t end = body.find_first_of("\r\n");
    std::string_view line = TrimSpace(body.substr(0, end));
    body.remove_prefix(end == std::string_view::npos ? body.size() : end + 1);
    if (line.empty()) continue;
    if (out.urls.size() == kMaxSitemapLocs) return TooManyLocs();
    out.urls.emplace_back(line);
  }
  return out;
}

// `lines_before`: the line breaks cut off before `xml`, so that libxml2's
// line numbers count in the whole body.
Result<Sitemap> ParseXml(std::string_view xml, int lines_before) {
  // xmlInitParser is not safe to race on its first call.
  static const bool initialized = (xmlInitParser(), true);
  (void)initialized;
  std::unique_ptr<xmlParserCtxt, XmlCtxtFree> ctxt(xmlCreateMemoryParserCtxt(xml.data(), static_cast<int>(xml.size())));
  if (!ctxt || !ctxt->sax || !ctxt->input) return Err(ResourceExhausted("sitemap: libxml2 is out of memory"));
  FirstError first;
  ctxt->_private = &first;
  ctxt->userData = ctxt.get();
  ctxt->sax->serror = KeepFirstError;
  // No XML_PARSE_NOENT (entities stay references), no XML_PARSE_DTDLOAD.
  xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  ctxt->input->line += lines_before;
  xmlParseDocument(ctxt.get());
  std::unique_ptr<xmlDoc, XmlDocFree> doc(ctxt->myDoc);
  ctxt->myDoc = nullptr;
  if (!ctxt->wellFormed || !doc) {
    if (!first.seen) return Bad("malformed XML");
    return Bad("malformed XML at line " + std::to_string(first.line) + ": " + first.message);
  }
  if (doc->intSubset || doc->extSubset) return Bad("a DOCTYPE is not allowed (sitemaps have none)");
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root) return Bad("no root element");
  Sitemap out;
  std::vector<std::string>* locs = nullptr;
  const char* entry = nullptr;
  if (LocalNameIs(root, "urlset")) {
    locs = &out.urls;
    entry = "url";
  } else if (LocalNameIs(root, "sitemapindex")) {
    locs = &out.sitemaps;
    entry = "sitemap";
  } else {
    return Bad("the root element is <" + std::string(reinterpret_cast<const char*>(root->name)) +
               ">, not <urlset> or <sitemapindex>");
  }
  for (const xmlNode* e = root->children; e; e = e->next) {
    if (!LocalNameIs(e, entry)) continue;
    const xmlNode* loc = e->children;
    while (loc && !LocalNameIs(loc, "loc")) loc = loc->next;
    if (!loc) continue;
    std::string text(TrimSpace(TextOf(loc)));
    if (text.empty()) continue;
    if (locs->size() == kMaxSitemapLocs) return TooManyLocs();
    locs->push_back(std::move(text));
  }
  return out;
}

}  // namespace

Result<Sitemap> ParseSitemap(std::string_view body) {
  if (body.size() > kMaxSitemapBytes)
    return Bad(WithCommas(body.size()) + " bytes, over the protocol's limit of " + WithCommas(kMaxSitemapBytes) +
               " bytes (50 MiB)");
  if (body.substr(0, 2) == "\x1f\x8b") return Bad("the body is gzip-compressed (decompress it first)");
  std::string_view rest = body;
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
  size_t start = rest.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || rest[start] != '<') return ParseText(rest);
  int lines_before = static_cast<int>(std::count(rest.begin(), rest.begin() + static_cast<long>(start), '\n'));
  return ParseXml(rest.substr(start), lines_before);
}

}  // namespace fsml::crawl
