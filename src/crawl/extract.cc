#include "crawl/extract.h"

#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <cmath>
#include <mutex>

#include "core/text.h"

namespace fsml::crawl {
namespace {

void InitLibxml() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

// Keeps libxml2 quiet on this thread while alive, keeping its last message.
class LibxmlErrors {
 public:
  LibxmlErrors() {
    InitLibxml();
    xmlSetStructuredErrorFunc(this, &LibxmlErrors::OnError);
  }
  ~LibxmlErrors() { xmlSetStructuredErrorFunc(nullptr, nullptr); }
  const std::string& last() const { return last_; }

 private:
  static void OnError(void* self, xmlError* error) {
    if (error == nullptr || error->message == nullptr) return;
    std::string m = error->message;
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    static_cast<LibxmlErrors*>(self)->last_ = m;
  }
  std::string last_;
};

// Whitespace runs become one space; leading and trailing space goes.
std::string Collapse(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string NodeString(xmlNodePtr node) {
  xmlChar* s = xmlXPathCastNodeToString(node);
  std::string out = s ? Collapse(reinterpret_cast<const char*>(s)) : std::string();
  xmlFree(s);
  return out;
}

// Evaluates `xpath` on `doc`; the caller frees the result.
xmlXPathObjectPtr Evaluate(void* doc, void* compiled) {
  xmlXPathContextPtr ctx = xmlXPathNewContext(static_cast<xmlDocPtr>(doc));
  if (ctx == nullptr) return nullptr;
  LibxmlErrors quiet;
  xmlXPathObjectPtr result = xmlXPathCompiledEval(static_cast<xmlXPathCompExprPtr>(compiled), ctx);
  xmlXPathFreeContext(ctx);
  return result;
}

}  // namespace

XPath::~XPath() {
  if (compiled_) xmlXPathFreeCompExpr(static_cast<xmlXPathCompExprPtr>(compiled_));
}
XPath::XPath(XPath&& o) noexcept : text_(std::move(o.text_)), compiled_(o.compiled_) { o.compiled_ = nullptr; }
XPath& XPath::operator=(XPath&& o) noexcept {
  if (this != &o) {
    if (compiled_) xmlXPathFreeCompExpr(static_cast<xmlXPathCompExprPtr>(compiled_));
    text_ = std::move(o.text_);
    compiled_ = o.compiled_;
    o.compiled_ = nullptr;
  }
  return *this;
}

Result<XPath> XPath::Compile(std::string_view expression) {
  std::string shown(expression.substr(0, 200));
  if (expression.empty()) return Err(InvalidArgument("empty XPath"));
  if (expression.size() > 4096) return Err(InvalidArgument("XPath longer than 4096 characters"));
  if (expression.find('\0') != std::string_view::npos) return Err(InvalidArgument("XPath holds a NUL byte"));
  LibxmlErrors errors;
  std::string text(expression);
  xmlXPathCompExprPtr compiled = xmlXPathCompile(reinterpret_cast<const xmlChar*>(text.c_str()));
  if (compiled == nullptr) {
    std::string why = errors.last().empty() ? "not an XPath 1.0 expression" : errors.last();
    return Err(InvalidArgument("invalid XPath '" + shown + "': " + why));
  }
  XPath x;
  x.text_ = std::move(text);
  x.compiled_ = compiled;
  return x;
}

HtmlPage::~HtmlPage() {
  if (doc_) xmlFreeDoc(static_cast<xmlDocPtr>(doc_));
}
HtmlPage::HtmlPage(HtmlPage&& o) noexcept : doc_(o.doc_) { o.doc_ = nullptr; }
HtmlPage& HtmlPage::operator=(HtmlPage&& o) noexcept {
  if (this != &o) {
    if (doc_) xmlFreeDoc(static_cast<xmlDocPtr>(doc_));
    doc_ = o.doc_;
    o.doc_ = nullptr;
  }
  return *this;
}

Result<HtmlPage> HtmlPage::Parse(std::string_view html) {
  if (html.empty()) return Err(InvalidArgument("empty page"));
  if (html.size() > static_cast<size_t>(INT32_MAX)) return Err(InvalidArgument("page larger than 2 GiB"));
  LibxmlErrors quiet;
  int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                HTML_PARSE_NOIMPLIED | HTML_PARSE_COMPACT;
  htmlDocPtr doc = htmlReadMemory(html.data(), static_cast<int>(html.size()), nullptr, nullptr, options);
  if (doc == nullptr || xmlDocGetRootElement(doc) == nullptr) {
    if (doc) xmlFreeDoc(doc);
    return Err(InvalidArgument("not an HTML document" + (quiet.last().empty() ? "" : ": " + quiet.last())));
  }
  HtmlPage page;
  page.doc_ = doc;
  return page;
}

std::vector<std::string> HtmlPage::Strings(const XPath& xpath, size_t limit) const {
  std::vector<std::string> out;
  xmlXPathObjectPtr r = Evaluate(doc_, xpath.compiled_);
  if (r == nullptr) return out;
  switch (r->type) {
    case XPATH_NODESET:
      if (r->nodesetval) {
        for (int i = 0; i < r->nodesetval->nodeNr && out.size() < limit; ++i) {
          std::string s = NodeString(r->nodesetval->nodeTab[i]);
          if (!s.empty()) out.push_back(std::move(s));
        }
      }
      break;
    case XPATH_STRING:
      if (r->stringval && r->stringval[0]) out.push_back(Collapse(reinterpret_cast<const char*>(r->stringval)));
      break;
    case XPATH_NUMBER:
      if (!std::isnan(r->floatval)) {
        xmlChar* s = xmlXPathCastNumberToString(r->floatval);
        out.emplace_back(reinterpret_cast<const char*>(s));
        xmlFree(s);
      }
      break;
    case XPATH_BOOLEAN: out.emplace_back(r->boolval ? "true" : "false"); break;
    default: break;
  }
  xmlXPathFreeObject(r);
  if (out.size() == 1 && out[0].empty()) out.clear();
  return out;
}

std::string HtmlPage::First(const XPath& xpath) const {
  auto all = Strings(xpath, 1);
  return all.empty() ? std::string() : all.front();
}

bool HtmlPage::Test(const XPath& xpath) const {
  xmlXPathObjectPtr r = Evaluate(doc_, xpath.compiled_);
  if (r == nullptr) return false;
  bool yes = xmlXPathCastToBoolean(r) != 0;
  xmlXPathFreeObject(r);
  return yes;
}

std::string HtmlPage::BaseHref() const {
  static const XPath base = std::move(*XPath::Compile("(//base/@href)[1]"));  // a valid constant
  return First(base);
}

bool LooksLikeHtml(std::string_view content_type, std::string_view body) {
  if (!content_type.empty()) {
    std::string type = AsciiLower(TrimSpace(content_type.substr(0, content_type.find(';'))));
    return type == "text/html" || type == "application/xhtml+xml";
  }
  std::string head = AsciiLower(body.substr(0, 1024));
  size_t start = head.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (start == std::string::npos) return false;
  std::string_view h = std::string_view(head).substr(start);
  return h.starts_with("<!doctype html") || h.starts_with("<html") || head.find("<html") != std::string::npos ||
         head.find("<head") != std::string::npos || head.find("<body") != std::string::npos;
}

}  // namespace fsml::crawl
