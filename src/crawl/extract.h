// HTML and XPath: what the crawler reads out of a page.
//
// Pages are parsed by libxml2's HTML parser in recovery mode (what browsers
// show, libxml2 reads: unclosed tags, stray end tags, unquoted attributes),
// with network access and entity loading off.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fsml::crawl {

// A compiled XPath 1.0 expression. Thread safety: Evaluate may run on
// several threads at once, each on its own document.
class XPath {
 public:
  ~XPath();
  XPath(XPath&&) noexcept;
  XPath& operator=(XPath&&) noexcept;
  // InvalidArgument "invalid XPath '...': <libxml2's reason>".
  static Result<XPath> Compile(std::string_view expression);
  const std::string& text() const { return text_; }

 private:
  friend class HtmlPage;
  XPath() = default;
  std::string text_;
  void* compiled_ = nullptr;  // xmlXPathCompExprPtr
};

// One parsed page. Not copyable; movable.
class HtmlPage {
 public:
  ~HtmlPage();
  HtmlPage(HtmlPage&&) noexcept;
  HtmlPage& operator=(HtmlPage&&) noexcept;
  // InvalidArgument when libxml2 can make no document of it at all (empty
  // body, binary data); malformed HTML is recovered, not rejected.
  static Result<HtmlPage> Parse(std::string_view html);

  // The string values of what `xpath` selects, in document order: element
  // text with whitespace collapsed and trimmed, attribute values trimmed;
  // a string, number or boolean result gives one value. Empty values are
  // dropped.
  std::vector<std::string> Strings(const XPath& xpath, size_t limit = SIZE_MAX) const;
  // The first of Strings(), or "".
  std::string First(const XPath& xpath) const;
  // True when the expression selects at least one node, or is a true
  // boolean, a non-zero number or a non-empty string.
  bool Test(const XPath& xpath) const;
  // The document's <base href>, or "".
  std::string BaseHref() const;

 private:
  HtmlPage() = default;
  void* doc_ = nullptr;  // htmlDocPtr
};

// True for an HTML content type ("text/html; charset=utf-8",
// "application/xhtml+xml"); for "" (none sent), true when the body looks like
// HTML (a doctype or <html> near the start).
bool LooksLikeHtml(std::string_view content_type, std::string_view body);

}  // namespace fsml::crawl
