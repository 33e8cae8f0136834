#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "core/fs.h"
#include "core/sha256.h"

namespace fsml::eval {
namespace {

// Above this many classes the confusion matrix drops the in-cell counts (the
// cells get too small to hold them); the counts stay in each cell's <title>.
constexpr size_t kMaxClassesWithCounts = 20;
// Axis labels longer than this many characters are cut (full name on hover).
constexpr size_t kAxisLabelChars = 22;
constexpr size_t kTextItemChars = 300;
constexpr size_t kShortIdChars = 8;
constexpr size_t kTopConfusions = 8;
// Thumbnails are drawn at kThumbPx; images no larger than kPixelatedMaxPx are
// upscaled without smoothing so that their pixels stay crisp.
constexpr int kThumbPx = 84;
constexpr int kPixelatedMaxPx = 64;

// Shared by every chart and grid; no external fonts or images.
constexpr std::string_view kStyle = R"css(
:root{--bg:#f4f5f7;--card:#fff;--ink:#111827;--ink2:#374151;--muted:#6b7280;--line:#e5e7eb;
--accent:#2563eb;--pass:#166534;--passbg:#dcfce7;--fail:#991b1b;--failbg:#fee2e2;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
code{font-family:var(--mono);font-size:12px}
.hero{background:linear-gradient(135deg,#0f172a,#1e293b);color:#f8fafc}
.wrap{max-width:1240px;margin:0 auto;padding:0 32px}
.hero .wrap{padding-top:26px;padding-bottom:24px}
.eyebrow{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#94a3b8}
.hero h1{margin:4px 0 18px;font-size:26px;font-weight:650;line-height:1.25;word-break:break-word}
.hero h1 .on{color:#94a3b8;font-weight:400}
.tag{display:inline-block;vertical-align:middle;margin-left:8px;padding:2px 10px;border-radius:999px;
background:#334155;color:#e2e8f0;font-size:13px;font-weight:500}
.facts{display:flex;flex-wrap:wrap;gap:10px 40px;margin:0}
.facts dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#94a3b8}
.facts dd{margin:0;color:#f1f5f9;font-variant-numeric:tabular-nums;word-break:break-word}
.verdict{display:inline-block;margin-top:18px;padding:5px 14px;border-radius:8px;font-weight:600;font-size:13px}
.verdict.pass{background:#14532d;color:#bbf7d0}
.verdict.fail{background:#7f1d1d;color:#fecaca}
.toc{position:sticky;top:0;z-index:1;background:rgba(255,255,255,.95);border-bottom:1px solid var(--line)}
.toc .wrap{display:flex;gap:2px;overflow-x:auto}
.toc a{padding:10px 12px;color:var(--ink2);text-decoration:none;font-weight:500;font-size:13px;
white-space:nowrap;border-bottom:2px solid transparent}
.toc a:hover{color:var(--accent);border-bottom-color:var(--accent)}
main.wrap{padding-top:24px;padding-bottom:8px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px 24px 24px;
margin-bottom:20px;box-shadow:0 1px 2px rgba(16,24,40,.05)}
.card h2{margin:0;font-size:17px;font-weight:650}
.card .sub{margin:2px 0 18px;color:var(--muted);font-size:13px}
.empty{color:var(--muted);margin:0}
.metrics{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px}
.metric{border:1px solid var(--line);border-radius:10px;padding:14px;background:#fcfcfd;min-width:0}
.metric .name{font-size:11px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.05em;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.metric .value{font-size:26px;font-weight:650;line-height:1.2;margin:4px 0 2px;
font-variant-numeric:tabular-nums;white-space:nowrap}
.metric .note{font-size:12px;color:var(--muted)}
.chip{display:inline-block;margin:8px 4px 0 0;padding:1px 8px;border-radius:999px;font-size:11px;font-weight:600}
.badge{display:inline-block;min-width:48px;text-align:center;padding:2px 8px;border-radius:6px;
font-size:11px;font-weight:700;letter-spacing:.05em}
.pass.badge,.pass.chip{background:var(--passbg);color:var(--pass)}
.fail.badge,.fail.chip{background:var(--failbg);color:var(--fail)}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;
text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:6px 10px;border-bottom:1px solid #f0f1f3;vertical-align:middle}
tbody tr:last-child td{border-bottom:0}
tbody tr:hover td{background:#f9fafb}
.num{text-align:right;white-space:nowrap}
.pos{color:var(--pass)}
.neg{color:var(--fail)}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[data-dir=asc]::after{content:" \25B2"}
table.sortable th[data-dir=desc]::after{content:" \25BC"}
.split{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}
.split>svg,.chart svg{flex:0 1 auto;max-width:100%;height:auto}
.chart{margin:0;flex:0 1 auto}
.chart figcaption{max-width:512px}
.aside{flex:1 1 300px;min-width:280px;max-width:640px}
.aside h3{font-size:12px;margin:0 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.aside h3+*{margin-bottom:20px}
.scale{display:grid;grid-template-columns:auto 1fr;gap:4px 10px;align-items:center;font-size:12px;color:var(--ink2)}
.scale .bar{height:10px;border-radius:3px;min-width:120px}
.scale .ends{grid-column:2;display:flex;justify-content:space-between;color:var(--muted);font-size:11px}
ol.pairs{margin:0;padding:0;list-style:none;font-size:13px}
ol.pairs li{display:flex;justify-content:space-between;gap:12px;padding:5px 0;border-bottom:1px solid #f0f1f3}
ol.pairs li:last-child{border-bottom:0}
.arrow{color:var(--muted);padding:0 4px}
svg text{font-family:inherit;fill:var(--ink2)}
svg .axis-title{font-size:12px;font-weight:600;fill:var(--muted)}
svg .tick{font-size:10px;fill:var(--muted)}
svg .grid{stroke:#e5e7eb;stroke-width:1}
svg .count{pointer-events:none;font-variant-numeric:tabular-nums}
.cell{stroke:#fff;stroke-width:1}
.cell:hover{stroke:#111827;stroke-width:2}
.items{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px}
figure.item{margin:0;border:1px solid var(--line);border-radius:10px;background:#fff;overflow:hidden;
display:flex;flex-direction:column}
.media{position:relative;height:108px;background:#0f172a;display:flex;align-items:center;justify-content:center}
.media.text{background:#f8fafc;align-items:stretch;justify-content:flex-start}
.rank{position:absolute;top:5px;left:8px;font-size:11px;color:#94a3b8}
img.thumb{width:84px;height:84px;object-fit:contain;display:block}
img.thumb.pixelated{image-rendering:pixelated}
.text-item{margin:0;padding:22px 12px 8px;overflow:auto;font-size:12px;line-height:1.4;color:var(--ink2);
white-space:pre-wrap;word-break:break-word;width:100%}
.placeholder{color:#94a3b8;font-size:11px;padding:0 12px;text-align:center;word-break:break-word}
figure.item figcaption{padding:9px 12px 11px;font-size:12px;display:flex;flex-direction:column;gap:5px}
.flow{display:flex;flex-wrap:wrap;align-items:center;gap:2px}
.lbl{display:inline-block;padding:1px 7px;border-radius:6px;font-weight:600;max-width:100%;
overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.lbl.given{background:#f1f5f9;color:#334155}
.lbl.pred{background:#fee2e2;color:#991b1b}
.lbl.sugg{background:#dbeafe;color:#1e40af}
.meta{color:var(--muted);display:flex;justify-content:space-between;gap:6px}
.meter{height:4px;background:#f1f5f9;border-radius:2px;overflow:hidden}
.meter>span{display:block;height:100%;background:#ef4444}
.meter.blue>span{background:#3b82f6}
footer.wrap{color:var(--muted);font-size:12px;padding-bottom:32px}
@media print{.toc{display:none}.card{break-inside:avoid;box-shadow:none}}
)css";

// Makes the per-class table sortable by clicking a header; the report reads
// the same without it. Allowed by its hash in the Content-Security-Policy.
constexpr std::string_view kSortScript =
    "document.querySelectorAll('table.sortable th').forEach((th,i)=>th.addEventListener('click',()=>{"
    "const body=th.closest('table').tBodies[0];const dir=th.dataset.dir==='desc'?'asc':'desc';"
    "th.parentNode.querySelectorAll('th').forEach(h=>delete h.dataset.dir);th.dataset.dir=dir;"
    "const key=r=>{const c=r.cells[i];return c.dataset.v!==undefined?parseFloat(c.dataset.v):"
    "c.textContent.toLowerCase();};"
    "[...body.rows].sort((a,b)=>{const x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*(dir==='asc'?1:-1);})"
    ".forEach(r=>body.appendChild(r));}));";

// ---------------------------------------------------------------------------
// Text, numbers and colours.

// snprintf into a string; for numbers and short fragments (cut at 127 bytes).
std::string Printf(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* format, ...) {
  char buf[128];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return std::string(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

// Appends every part to `out`.
template <typename... Parts>
void Add(std::string& out, const Parts&... parts) {
  (out.append(std::string_view(parts)), ...);
}

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// The first `max_chars` UTF-8 code points of `s`, escaped, with an ellipsis
// when something was cut. Never splits a multi-byte sequence.
std::string EscapeCut(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) == 0x80) continue;
    if (chars++ == max_chars) return Escape(s.substr(0, i)) + "&#8230;";
  }
  return Escape(s);
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (n > 1) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (n > 2) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// "0.9231"; "n/a" for NaN and infinities.
std::string Fixed(double v, int decimals = 4) {
  return std::isfinite(v) ? Printf("%.*f", decimals, v) : "n/a";
}

// A fraction as a percentage: 0.92314 -> "92.31 %".
std::string Percent(double fraction, int decimals = 2) {
  return std::isfinite(fraction) ? Printf("%.*f %%", decimals, 100 * fraction) : "n/a";
}

// An SVG coordinate: at most one decimal, no trailing ".0".
std::string Px(double v) {
  std::string s = Printf("%.1f", v);
  if (s.size() > 2 && s.ends_with(".0")) s.resize(s.size() - 2);
  return s == "-0" ? "0" : s;
}

std::string Duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "n/a";
  if (seconds < 1) return Printf("%.0f ms", seconds * 1000);
  if (seconds < 60) return Printf("%.1f s", seconds);
  const auto s = static_cast<long>(std::lround(seconds));
  if (s < 3600) return Printf("%ldm %02lds", s / 60, s % 60);
  return Printf("%ldh %02ldm", s / 3600, s % 3600 / 60);
}

// A count for a narrow chart label: "987", "12.3k", "4.5M".
std::string CompactCount(uint64_t n) {
  if (n < 10000) return std::to_string(n);
  if (n < 1000000) return Printf("%.1fk", static_cast<double>(n) / 1e3);
  return Printf("%.1fM", static_cast<double>(n) / 1e6);
}

struct Rgb {
  int r, g, b;
};

// The colour a fraction `t` (clamped to [0, 1]) of the way from `a` to `b`.
std::string Mix(Rgb a, Rgb b, double t) {
  t = std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0;
  auto channel = [t](int x, int y) { return static_cast<int>(std::lround(x + (y - x) * t)); };
  return Printf("#%02x%02x%02x", channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b));
}

// Confusion-matrix colour scales: blue for the diagonal (correct), orange off
// it (confusions), both by the row-normalized value.
constexpr Rgb kCorrectLow{239, 246, 255}, kCorrectHigh{30, 64, 175};
constexpr Rgb kConfusedLow{255, 247, 237}, kConfusedHigh{194, 65, 12};
constexpr std::string_view kEmptyCell = "#f8fafc";
// The per-class bars: precision, recall, F1.
constexpr std::string_view kSeriesColours[3] = {"#6366f1", "#14b8a6", "#f59e0b"};
constexpr std::string_view kSeriesNames[3] = {"Precision", "Recall", "F1"};

// Intensity of a cell holding `share` of its row: the square root makes small
// confusions visible while keeping the order.
double Intensity(double share) { return std::sqrt(std::clamp(share, 0.0, 1.0)); }

std::string OpSymbol(std::string_view op) {
  if (op == ">=") return "&#8805;";
  if (op == "<=") return "&#8804;";
  return Escape(op);
}

std::string LabelName(const Metrics& m, size_t i) {
  return i < m.labels.size() ? m.labels[i] : "class " + std::to_string(i);
}

// The estimated width in pixels of the widest of `names`, cut to
// kAxisLabelChars, at `font` pixels (no font metrics: 0.6 em a character).
double AxisLabelWidth(const std::vector<std::string>& names, double font) {
  size_t longest = 1;
  for (const std::string& name : names) longest = std::max(longest, std::min(CodePoints(name), kAxisLabelChars + 1));
  return static_cast<double>(longest) * font * 0.6 + 4;
}

// Width and height of a PNG (IHDR) or baseline/progressive JPEG (SOFn) image,
// read from its header; nullopt when the bytes do not say.
std::optional<std::pair<int, int>> ImageSize(std::string_view media_type, std::string_view b) {
  auto byte = [&b](size_t i) { return static_cast<int>(static_cast<uint8_t>(b[i])); };
  auto be16 = [&byte](size_t i) { return byte(i) << 8 | byte(i + 1); };
  if (media_type == "image/png") {
    if (b.size() < 24 || b.substr(1, 3) != "PNG" || b.substr(12, 4) != "IHDR") return std::nullopt;
    if (byte(16) || byte(17) || byte(20) || byte(21)) return std::nullopt;  // over 65535 pixels
    return std::pair{be16(18), be16(22)};
  }
  if (media_type == "image/jpeg") {
    size_t i = 2;
    while (i + 9 < b.size() && byte(i) == 0xFF) {
      const int marker = byte(i + 1);
      const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) return std::pair{be16(i + 7), be16(i + 5)};
      i += 2 + static_cast<size_t>(be16(i + 2));
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Page frame.

// Opens a report section card; `title` and `note` are trusted markup.
void OpenCard(std::string& out, std::string_view id, std::string_view title, std::string_view note) {
  Add(out, "<section class=\"card\" id=\"", id, "\"><h2>", title, "</h2>");
  if (!note.empty()) Add(out, "<p class=\"sub\">", note, "</p>");
}

void RenderHead(const ReportInput& in, std::string& out) {
  const Digest script_hash = Sha256(kSortScript);
  const std::string script_b64 =
      Base64(std::string_view(reinterpret_cast<const char*>(script_hash.data()), script_hash.size()));
  Add(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
      // Nothing may leave the file: images only from data: URIs, only our script.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
      "style-src 'unsafe-inline'; script-src 'sha256-",
      script_b64, "'; base-uri 'none'; form-action 'none'\">\n");
  Add(out, "<meta name=\"generator\" content=\"fsml\">\n<title>", Escape(in.model), " on ", Escape(in.dataset),
      " &#183; evaluation #", std::to_string(in.evaluation_id), "</title>\n<style>", kStyle, "</style>\n</head>\n");
}

void RenderHeader(const ReportInput& in, std::string& out) {
  const Metrics& m = in.metrics;
  Add(out, "<body>\n<header class=\"hero\"><div class=\"wrap\">",
      "<div class=\"eyebrow\">fsml &#183; evaluation report</div><h1>", Escape(in.model),
      " <span class=\"on\">on</span> ", Escape(in.dataset));
  if (!in.split.empty()) Add(out, "<span class=\"tag\">", Escape(in.split), "</span>");
  out += "</h1>\n<dl class=\"facts\">";
  auto fact = [&out](std::string_view name, const std::string& value_html) {
    Add(out, "<div><dt>", name, "</dt><dd>", value_html, "</dd></div>");
  };
  fact("Evaluation", "#" + std::to_string(in.evaluation_id));
  fact("Model", Escape(in.model));
  fact("Dataset", Escape(in.dataset));
  fact("Split", in.split.empty() ? "&#8212;" : Escape(in.split));
  fact("Created", Escape(in.created_at));
  fact("Items", WithThousands(m.items));
  fact("Classes", std::to_string(m.labels.size()));
  std::string wall = Duration(in.seconds);
  if (m.items > 0 && in.seconds > 0 && std::isfinite(in.seconds)) {
    wall += " (" + Printf("%.2f ms", in.seconds * 1000 / static_cast<double>(m.items)) + " per item)";
  }
  fact("Wall time", wall);
  out += "</dl>";
  if (!in.requirements.empty()) {
    const auto failed = std::count_if(in.requirements.begin(), in.requirements.end(),
                                      [](const RequirementResult& r) { return !r.passed; });
    const std::string total = std::to_string(in.requirements.size());
    if (failed == 0) {
      Add(out, "<div class=\"verdict pass\">&#10003; All ", total, " requirements pass</div>");
    } else {
      Add(out, "<div class=\"verdict fail\">&#10007; ", std::to_string(failed), " of ", total,
          " requirements fail</div>");
    }
  }
  out += "</div></header>\n";
}

void RenderNav(const ReportInput& in, std::string& out) {
  out += "<nav class=\"toc\"><div class=\"wrap\"><a href=\"#summary\">Summary</a>";
  if (!in.requirements.empty()) out += "<a href=\"#requirements\">Requirements</a>";
  out +=
      "<a href=\"#confusion-matrix\">Confusion matrix</a><a href=\"#calibration\">Calibration</a>"
      "<a href=\"#per-class-metrics\">Per class</a><a href=\"#worst-errors\">Worst errors</a>";
  if (!in.label_issues.empty()) out += "<a href=\"#label-issues\">Label issues</a>";
  out += "</div></nav>\n<main class=\"wrap\">\n";
}

void RenderFoot(std::string& out) {
  Add(out, "</main>\n<footer class=\"wrap\">Generated by fsml. A self-contained file: charts are inline SVG, ",
      "images are embedded, nothing is loaded from the network.</footer>\n<script>", kSortScript,
      "</script>\n</body>\n</html>\n");
}

// ---------------------------------------------------------------------------
// Headline metrics and requirements.

// Chips for the whole-set requirements on `metric`, e.g. "target >= 0.90".
std::string RequirementChips(const std::vector<RequirementResult>& results, std::string_view metric) {
  std::string out;
  for (const RequirementResult& r : results) {
    if (r.requirement.metric != metric || !r.requirement.label.empty()) continue;
    Add(out, "<span class=\"chip ", r.passed ? "pass" : "fail", "\" title=\"", Escape(r.requirement.text), "\">",
        r.passed ? "&#10003;" : "&#10007;", " target ", OpSymbol(r.requirement.op), " ",
        Printf("%g", r.requirement.value), "</span>");
  }
  return out;
}

void RenderMetricCards(const ReportInput& in, std::string& out) {
  const Metrics& m = in.metrics;
  uint64_t correct = 0;
  for (size_t i = 0; i < m.confusion.size(); ++i) {
    if (i < m.confusion[i].size()) correct += m.confusion[i][i];
  }
  OpenCard(out, "summary", "Summary", "");
  out += "<div class=\"metrics\">";
  auto card = [&](std::string_view metric, std::string_view name, const std::string& value,
                  const std::string& note_html) {
    Add(out, "<div class=\"metric\" data-metric=\"", metric, "\"><div class=\"name\">", name,
        "</div><div class=\"value\">", value, "</div><div class=\"note\">", note_html, "</div>",
        RequirementChips(in.requirements, metric), "</div>");
  };
  card("accuracy", "Accuracy", Percent(m.accuracy),
       WithThousands(correct) + " of " + WithThousands(m.items) + " correct");
  card("macro_f1", "Macro F1", Fixed(m.macro_f1),
       "precision " + Fixed(m.macro_precision) + " &#183; recall " + Fixed(m.macro_recall));
  card("weighted_f1", "Weighted F1", Fixed(m.weighted_f1), "F1 per class weighted by support");
  for (const auto& [k, accuracy] : m.top_k) {
    if (k == 1) continue;  // the same as accuracy
    const std::string ks = std::to_string(k);
    card("top" + ks + "_accuracy", "Top-" + ks + " accuracy", Percent(accuracy),
         "true label among the " + ks + " most likely");
  }
  card("log_loss", "Log loss", Fixed(m.log_loss), "cross-entropy; lower is better");
  card("ece", "ECE", Fixed(m.ece),
       "calibration error over " + std::to_string(m.calibration.size()) + " bins; lower is better");
  out += "</div></section>\n";
}

void RenderRequirements(const std::vector<RequirementResult>& results, std::string& out) {
  if (results.empty()) return;
  OpenCard(out, "requirements", "Requirements",
           "The project&#39;s acceptance criteria, checked against this evaluation. Headroom is how far "
           "the actual value is on the passing side of the target.");
  out +=
      "<table><thead><tr><th>Status</th><th>Requirement</th><th class=\"num\">Actual</th>"
      "<th class=\"num\">Target</th><th class=\"num\">Headroom</th></tr></thead><tbody>";
  for (const RequirementResult& r : results) {
    const Requirement& q = r.requirement;
    std::string actual = "&#8212;", headroom = "<span class=\"neg\">missing</span>";
    if (r.actual) {
      actual = Fixed(*r.actual);
      const double h = (q.op == ">=" || q.op == ">") ? *r.actual - q.value : q.value - *r.actual;
      headroom = Printf("<span class=\"%s\">%+.4f</span>", h >= 0 ? "pos" : "neg", h);
    }
    Add(out, "<tr><td><span class=\"badge ", r.passed ? "pass\">PASS" : "fail\">FAIL", "</span></td><td><code>",
        Escape(q.text), "</code></td><td class=\"num\">", actual, "</td><td class=\"num\">", OpSymbol(q.op), " ",
        Printf("%g", q.value), "</td><td class=\"num\">", headroom, "</td></tr>");
  }
  out += "</tbody></table></section>\n";
}

// ---------------------------------------------------------------------------
// Confusion matrix.

uint64_t Cell(const Metrics& m, size_t i, size_t j) {
  return j < m.confusion[i].size() ? m.confusion[i][j] : 0;
}

uint64_t RowSum(const Metrics& m, size_t i) {
  uint64_t sum = 0;
  for (uint64_t c : m.confusion[i]) sum += c;
  return sum;
}

std::string ConfusionSvg(const Metrics& m) {
  const size_t k = m.confusion.size();
  const double cell = std::clamp(600.0 / static_cast<double>(k), 8.0, 52.0);
  const double label_font = std::clamp(cell * 0.42, 7.0, 12.0);
  const double count_font = std::clamp(cell * 0.3, 8.0, 13.0);
  std::vector<std::string> names;
  for (size_t i = 0; i < k; ++i) names.push_back(LabelName(m, i));
  const double label_w = AxisLabelWidth(names, label_font);
  const double size = cell * static_cast<double>(k);
  const double left = 30 + label_w, top = 8;
  const double x_labels_h = label_w * 0.71 + label_font;
  const double width = left + size + 12, height = top + size + 8 + x_labels_h + 30;

  std::string out;
  Add(out, "<svg id=\"confusion\" role=\"img\" aria-label=\"Confusion matrix\" width=\"", Px(width), "\" height=\"",
      Px(height), "\" viewBox=\"0 0 ", Px(width), " ", Px(height), "\">");
  for (size_t i = 0; i < k; ++i) {
    const uint64_t row = RowSum(m, i);
    const std::string true_name = Escape(LabelName(m, i));
    for (size_t j = 0; j < k; ++j) {
      const uint64_t count = Cell(m, i, j);
      const double share = row ? static_cast<double>(count) / static_cast<double>(row) : 0.0;
      const double t = Intensity(share);
      const std::string fill = count == 0 ? std::string(kEmptyCell)
                               : i == j   ? Mix(kCorrectLow, kCorrectHigh, t)
                                          : Mix(kConfusedLow, kConfusedHigh, t);
      const double x = left + cell * static_cast<double>(j), y = top + cell * static_cast<double>(i);
      Add(out, "<rect class=\"cell\" x=\"", Px(x), "\" y=\"", Px(y), "\" width=\"", Px(cell), "\" height=\"",
          Px(cell), "\" fill=\"", fill, "\"><title>true ", true_name, " &#8594; predicted ",
          Escape(LabelName(m, j)), ": ", WithThousands(count), " (", Percent(share, 1), " of ",
          WithThousands(row), ")</title></rect>");
      if (k <= kMaxClassesWithCounts && count > 0) {
        Add(out, "<text class=\"count\" x=\"", Px(x + cell / 2), "\" y=\"", Px(y + cell / 2),
            "\" text-anchor=\"middle\" dominant-baseline=\"central\" font-size=\"", Px(count_font), "\"",
            t > 0.6 ? " style=\"fill:#fff\"" : "", ">", CompactCount(count), "</text>");
      }
    }
  }
  // Axis labels, cut to kAxisLabelChars; the full names are in the cell titles.
  for (size_t i = 0; i < k; ++i) {
    const std::string name = EscapeCut(LabelName(m, i), kAxisLabelChars);
    const double mid = cell * (static_cast<double>(i) + 0.5);
    Add(out, "<text x=\"", Px(left - 6), "\" y=\"", Px(top + mid),
        "\" text-anchor=\"end\" dominant-baseline=\"central\" font-size=\"", Px(label_font), "\">", name, "</text>");
    Add(out, "<text transform=\"translate(", Px(left + mid), " ", Px(top + size + 6),
        ") rotate(-45)\" text-anchor=\"end\" dominant-baseline=\"central\" font-size=\"", Px(label_font), "\">",
        name, "</text>");
  }
  Add(out, "<text class=\"axis-title\" x=\"", Px(left + size / 2), "\" y=\"", Px(height - 8),
      "\" text-anchor=\"middle\">Predicted label</text>");
  Add(out, "<text class=\"axis-title\" transform=\"translate(12 ", Px(top + size / 2),
      ") rotate(-90)\" text-anchor=\"middle\" dominant-baseline=\"central\">True label</text></svg>");
  return out;
}

// The colour legend and the most frequent confusions, beside the matrix.
std::string ConfusionAside(const Metrics& m) {
  const size_t k = m.confusion.size();
  std::string out = "<div class=\"aside\"><h3>Colour: share of the true label&#39;s items</h3><div class=\"scale\">";
  auto scale = [&out](std::string_view name, Rgb low, Rgb high) {
    Add(out, "<span>", name, "</span><span class=\"bar\" style=\"background:linear-gradient(90deg,", Mix(low, high, 0),
        ",", Mix(low, high, Intensity(0.25)), ",", Mix(low, high, 1), ")\"></span>");
  };
  scale("Correct", kCorrectLow, kCorrectHigh);
  scale("Confused", kConfusedLow, kConfusedHigh);
  out += "<span class=\"ends\"><span>0 %</span><span>25 %</span><span>100 %</span></span></div>";

  std::vector<std::tuple<uint64_t, size_t, size_t>> pairs;  // (count, true, predicted)
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = 0; j < k; ++j) {
      if (i != j && Cell(m, i, j) > 0) pairs.emplace_back(Cell(m, i, j), i, j);
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
  out += "<h3>Most frequent confusions</h3>";
  if (pairs.empty()) {
    out += "<p class=\"empty\">None: every item was predicted as its label.</p>";
  } else {
    out += "<ol class=\"pairs\">";
    for (size_t p = 0; p < std::min(pairs.size(), kTopConfusions); ++p) {
      const auto [count, i, j] = pairs[p];
      const uint64_t row = RowSum(m, i);
      Add(out, "<li><span>", Escape(LabelName(m, i)), "<span class=\"arrow\">&#8594;</span>",
          Escape(LabelName(m, j)), "</span><span class=\"num\">", WithThousands(count), " &#183; ",
          Percent(static_cast<double>(count) / static_cast<double>(row), 1), "</span></li>");
    }
    out += "</ol>";
  }
  out += "</div>";
  return out;
}

void RenderConfusion(const Metrics& m, std::string& out) {
  OpenCard(out, "confusion-matrix", "Confusion matrix",
           "Rows are the given labels, columns the predictions. Colour is the share of the row; hover a cell "
           "for its count.");
  if (m.confusion.empty()) {
    out += "<p class=\"empty\">No classes.</p></section>\n";
    return;
  }
  Add(out, "<div class=\"split\">", ConfusionSvg(m), ConfusionAside(m), "</div></section>\n");
}

// ---------------------------------------------------------------------------
// Reliability diagram.

std::string ReliabilitySvg(const Metrics& m) {
  constexpr double kLeft = 56, kTop = 14, kPlotW = 440, kPlotH = 300;
  constexpr double kHistTop = kTop + kPlotH + 18, kHistH = 54;
  constexpr double kWidth = kLeft + kPlotW + 16, kHeight = kHistTop + kHistH + 44;
  auto x_of = [](double v) { return kLeft + std::clamp(v, 0.0, 1.0) * kPlotW; };
  auto y_of = [](double v) { return kTop + (1 - std::clamp(v, 0.0, 1.0)) * kPlotH; };

  std::string out;
  Add(out, "<svg id=\"reliability\" role=\"img\" aria-label=\"Reliability diagram\" width=\"", Px(kWidth),
      "\" height=\"", Px(kHeight), "\" viewBox=\"0 0 ", Px(kWidth), " ", Px(kHeight), "\">");
  Add(out, "<rect x=\"", Px(kLeft), "\" y=\"", Px(kTop), "\" width=\"", Px(kPlotW), "\" height=\"", Px(kPlotH),
      "\" fill=\"#fafafa\"/>");
  for (int t = 0; t <= 5; ++t) {
    const double v = t / 5.0;
    const std::string label = Printf("%.1f", v);
    Add(out, "<line class=\"grid\" x1=\"", Px(kLeft), "\" x2=\"", Px(kLeft + kPlotW), "\" y1=\"", Px(y_of(v)),
        "\" y2=\"", Px(y_of(v)), "\"/><line class=\"grid\" x1=\"", Px(x_of(v)), "\" x2=\"", Px(x_of(v)), "\" y1=\"",
        Px(kTop), "\" y2=\"", Px(kHistTop + kHistH), "\"/>");
    Add(out, "<text class=\"tick\" x=\"", Px(kLeft - 6), "\" y=\"", Px(y_of(v)),
        "\" text-anchor=\"end\" dominant-baseline=\"central\">", label, "</text>");
    Add(out, "<text class=\"tick\" x=\"", Px(x_of(v)), "\" y=\"", Px(kHistTop + kHistH + 14),
        "\" text-anchor=\"middle\">", label, "</text>");
  }
  uint64_t max_count = 0;
  for (const CalibrationBin& b : m.calibration) max_count = std::max(max_count, b.count);
  for (const CalibrationBin& b : m.calibration) {
    if (b.count == 0) continue;
    const double x0 = x_of(b.lower) + 1, w = std::max(x_of(b.upper) - x_of(b.lower) - 2, 1.0);
    const double lo = std::min(b.accuracy, b.confidence), hi = std::max(b.accuracy, b.confidence);
    Add(out, "<g><title>confidence ", Fixed(b.lower, 2), "&#8211;", Fixed(b.upper, 2), ": ", WithThousands(b.count),
        " items, accuracy ", Percent(b.accuracy, 1), ", mean confidence ", Percent(b.confidence, 1), "</title>");
    Add(out, "<rect x=\"", Px(x0), "\" y=\"", Px(y_of(b.accuracy)), "\" width=\"", Px(w), "\" height=\"",
        Px(y_of(0) - y_of(b.accuracy)), "\" fill=\"#3b82f6\" fill-opacity=\"0.85\"/>");
    Add(out, "<rect x=\"", Px(x0), "\" y=\"", Px(y_of(hi)), "\" width=\"", Px(w), "\" height=\"",
        Px(y_of(lo) - y_of(hi)), "\" fill=\"#ef4444\" fill-opacity=\"0.3\" stroke=\"#ef4444\" stroke-width=\"1\"/>");
    const double bar_h = kHistH * static_cast<double>(b.count) / static_cast<double>(max_count);
    Add(out, "<rect x=\"", Px(x0), "\" y=\"", Px(kHistTop + kHistH - bar_h), "\" width=\"", Px(w), "\" height=\"",
        Px(bar_h), "\" fill=\"#94a3b8\"/>");
    if (w >= 18) {
      Add(out, "<text class=\"tick\" x=\"", Px(x0 + w / 2), "\" y=\"", Px(kHistTop + kHistH - bar_h - 3),
          "\" text-anchor=\"middle\" font-size=\"9\">", CompactCount(b.count), "</text>");
    }
    out += "</g>";
  }
  Add(out, "<line x1=\"", Px(x_of(0)), "\" y1=\"", Px(y_of(0)), "\" x2=\"", Px(x_of(1)), "\" y2=\"", Px(y_of(1)),
      "\" stroke=\"#334155\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>");
  // Legend, top left of the plot (where a calibrated model leaves room).
  const std::string legend[3][2] = {{"fill=\"#3b82f6\"", "Accuracy per bin"},
                                    {"fill=\"#ef4444\" fill-opacity=\"0.3\" stroke=\"#ef4444\"", "Gap to confidence"},
                                    {"fill=\"#94a3b8\"", "Items per bin (below)"}};
  for (int r = 0; r < 3; ++r) {
    const double y = kTop + 12 + 18 * r;
    Add(out, "<rect x=\"", Px(kLeft + 12), "\" y=\"", Px(y - 5), "\" width=\"12\" height=\"10\" ", legend[r][0],
        "/><text x=\"", Px(kLeft + 30), "\" y=\"", Px(y), "\" dominant-baseline=\"central\" font-size=\"11\">",
        legend[r][1], "</text>");
  }
  const double y = kTop + 12 + 18 * 3;
  Add(out, "<line x1=\"", Px(kLeft + 12), "\" x2=\"", Px(kLeft + 24), "\" y1=\"", Px(y), "\" y2=\"", Px(y),
      "\" stroke=\"#334155\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/><text x=\"", Px(kLeft + 30), "\" y=\"",
      Px(y), "\" dominant-baseline=\"central\" font-size=\"11\">Perfect calibration</text>");
  Add(out, "<text class=\"axis-title\" x=\"", Px(kLeft + kPlotW / 2), "\" y=\"", Px(kHeight - 8),
      "\" text-anchor=\"middle\">Confidence (probability of the predicted label)</text>");
  Add(out, "<text class=\"axis-title\" transform=\"translate(14 ", Px(kTop + kPlotH / 2),
      ") rotate(-90)\" text-anchor=\"middle\" dominant-baseline=\"central\">Accuracy</text>");
  Add(out, "<text class=\"axis-title\" transform=\"translate(14 ", Px(kHistTop + kHistH / 2),
      ") rotate(-90)\" text-anchor=\"middle\" dominant-baseline=\"central\">Items</text></svg>");
  return out;
}

std::string CalibrationTable(const Metrics& m) {
  std::string out =
      "<div class=\"aside\"><h3>Bins with items</h3><table><thead><tr><th>Confidence</th><th class=\"num\">Items</th>"
      "<th class=\"num\">Mean conf.</th><th class=\"num\">Accuracy</th><th class=\"num\">Gap (pts)</th></tr>"
      "</thead><tbody>";
  bool any = false;
  for (const CalibrationBin& b : m.calibration) {
    if (b.count == 0) continue;
    any = true;
    const double gap = b.accuracy - b.confidence;
    Add(out, "<tr><td>", Fixed(b.lower, 2), "&#8211;", Fixed(b.upper, 2), "</td><td class=\"num\">",
        WithThousands(b.count), "</td><td class=\"num\">", Percent(b.confidence, 1), "</td><td class=\"num\">",
        Percent(b.accuracy, 1), "</td><td class=\"num ", std::abs(gap) < 0.05 ? "" : gap < 0 ? "neg" : "pos", "\">",
        Printf("%+.1f", 100 * gap), "</td></tr>");
  }
  if (!any) out += "<tr><td colspan=\"5\" class=\"empty\">No items.</td></tr>";
  out += "</tbody></table></div>";
  return out;
}

void RenderReliability(const Metrics& m, std::string& out) {
  OpenCard(out, "calibration", "Calibration",
           "Reliability diagram: items binned by confidence. A calibrated model&#39;s bars reach the diagonal; "
           "bars below it are over-confident.");
  Add(out, "<div class=\"split\"><figure class=\"chart\">", ReliabilitySvg(m),
      "<figcaption class=\"sub\">Expected calibration error (ECE) <strong>", Fixed(m.ece), "</strong> over ",
      std::to_string(m.calibration.size()),
      " bins: the gap between confidence and accuracy, weighted by the items in each bin.</figcaption></figure>",
      CalibrationTable(m), "</div></section>\n");
}

// ---------------------------------------------------------------------------
// Per-class precision, recall and F1.

std::string PerClassSvg(const Metrics& m) {
  const size_t k = m.per_class.size();
  const double group = k <= 15 ? 30 : k <= 40 ? 21 : 14;
  const double bar = (group - 6) / 3;
  const double font = k <= 40 ? 12 : 10;
  std::vector<std::string> names;
  for (const ClassMetrics& c : m.per_class) names.push_back(c.label);
  const double left = AxisLabelWidth(names, font) + 12, top = 46, plot_w = 400;
  const double width = left + plot_w + 16, height = top + group * static_cast<double>(k) + 6;

  std::string out;
  Add(out, "<svg id=\"per-class\" role=\"img\" aria-label=\"Precision, recall and F1 per class\" width=\"",
      Px(width), "\" height=\"", Px(height), "\" viewBox=\"0 0 ", Px(width), " ", Px(height), "\">");
  for (int s = 0; s < 3; ++s) {
    const double x = left + 96 * s;
    Add(out, "<rect x=\"", Px(x), "\" y=\"4\" width=\"12\" height=\"10\" rx=\"2\" fill=\"", kSeriesColours[s],
        "\"/><text x=\"", Px(x + 17), "\" y=\"9\" dominant-baseline=\"central\" font-size=\"11\">", kSeriesNames[s],
        "</text>");
  }
  for (size_t i = 0; i < k; ++i) {
    if (i % 2 == 1) {
      Add(out, "<rect x=\"0\" y=\"", Px(top + group * static_cast<double>(i)), "\" width=\"", Px(width),
          "\" height=\"", Px(group), "\" fill=\"#f8fafc\"/>");
    }
  }
  for (int t = 0; t <= 4; ++t) {
    const double x = left + plot_w * t / 4;
    Add(out, "<line class=\"grid\" x1=\"", Px(x), "\" x2=\"", Px(x), "\" y1=\"", Px(top - 4), "\" y2=\"",
        Px(height - 4), "\"/><text class=\"tick\" x=\"", Px(x), "\" y=\"", Px(top - 10), "\" text-anchor=\"middle\">",
        Printf("%.2g", t / 4.0), "</text>");
  }
  for (size_t i = 0; i < k; ++i) {
    const ClassMetrics& c = m.per_class[i];
    const double y0 = top + group * static_cast<double>(i);
    const double values[3] = {c.precision, c.recall, c.f1};
    Add(out, "<g><title>", Escape(c.label), ": precision ", Fixed(c.precision), ", recall ", Fixed(c.recall),
        ", F1 ", Fixed(c.f1), ", support ", WithThousands(c.support), "</title>");
    Add(out, "<text x=\"", Px(left - 8), "\" y=\"", Px(y0 + group / 2),
        "\" text-anchor=\"end\" dominant-baseline=\"central\" font-size=\"", Px(font), "\">",
        EscapeCut(c.label, kAxisLabelChars), "</text>");
    for (int s = 0; s < 3; ++s) {
      const double v = std::isfinite(values[s]) ? std::clamp(values[s], 0.0, 1.0) : 0.0;
      Add(out, "<rect x=\"", Px(left), "\" y=\"", Px(y0 + 3 + bar * s), "\" width=\"", Px(plot_w * v), "\" height=\"",
          Px(bar - 1), "\" rx=\"1\" fill=\"", kSeriesColours[s], "\"/>");
    }
    out += "</g>";
  }
  out += "</svg>";
  return out;
}

std::string PerClassTable(const Metrics& m) {
  std::string out =
      "<div class=\"aside\"><table class=\"sortable\"><thead><tr><th>Label</th><th class=\"num\">Precision</th>"
      "<th class=\"num\">Recall</th><th class=\"num\">F1</th><th class=\"num\">Support</th>"
      "<th class=\"num\">Predicted</th></tr></thead><tbody>";
  for (const ClassMetrics& c : m.per_class) {
    auto num = [](const std::string& sort_key, const std::string& shown) {
      return "<td class=\"num\" data-v=\"" + sort_key + "\">" + shown + "</td>";
    };
    Add(out, "<tr><td>", Escape(c.label), "</td>", num(Printf("%.6f", c.precision), Fixed(c.precision)),
        num(Printf("%.6f", c.recall), Fixed(c.recall)), num(Printf("%.6f", c.f1), Fixed(c.f1)),
        num(std::to_string(c.support), WithThousands(c.support)),
        num(std::to_string(c.predicted), WithThousands(c.predicted)), "</tr>");
  }
  out += "</tbody></table></div>";
  return out;
}

void RenderPerClass(const Metrics& m, std::string& out) {
  OpenCard(out, "per-class-metrics", "Per class",
           "Precision: of the items predicted as the class, the share that are. Recall: of the class&#39;s items, "
           "the share found. Click a column to sort the table.");
  Add(out, "<div class=\"split\">", PerClassSvg(m), PerClassTable(m), "</div></section>\n");
}

// ---------------------------------------------------------------------------
// Item grids.

// The image, text or placeholder at the top of an item card.
std::string ItemMedia(const ReportItem& item, size_t rank) {
  const std::string rank_html = "<span class=\"rank\">#" + std::to_string(rank) + "</span>";
  if (item.media_type.empty()) {
    return "<div class=\"media text\">" + rank_html + "<blockquote class=\"text-item\">" +
           EscapeCut(item.content, kTextItemChars) + "</blockquote></div>";
  }
  if (item.media_type != "image/png" && item.media_type != "image/jpeg") {
    return "<div class=\"media\">" + rank_html + "<span class=\"placeholder\">" + Escape(item.media_type) +
           " is not shown</span></div>";
  }
  const auto size = ImageSize(item.media_type, item.content);
  const bool small = size && std::max(size->first, size->second) <= kPixelatedMaxPx;
  const std::string px = std::to_string(kThumbPx);
  std::string out;
  Add(out, "<div class=\"media\">", rank_html, "<img class=\"thumb", small ? " pixelated" : "", "\" width=\"", px,
      "\" height=\"", px, "\" alt=\"item ", Escape(item.item_id.substr(0, kShortIdChars)), "\" src=\"data:",
      item.media_type, ";base64,", Base64(item.content), "\"></div>");
  return out;
}

void RenderItem(const ReportItem& item, size_t rank, bool label_issue, std::string& out) {
  // The bar shows the score of a label issue, the confidence of a mistake.
  const double shown = label_issue ? item.score : item.confidence;
  const double meter = std::isfinite(shown) ? std::clamp(shown, 0.0, 1.0) : 0.0;
  Add(out, "<figure class=\"item\">", ItemMedia(item, rank), "<figcaption><div class=\"flow\">",
      "<span class=\"lbl given\" title=\"given label: ", Escape(item.given), "\">", Escape(item.given),
      "</span><span class=\"arrow\">&#8594;</span><span class=\"lbl ", label_issue ? "sugg" : "pred",
      "\" title=\"", label_issue ? "suggested" : "predicted", " label: ", Escape(item.predicted), "\">",
      Escape(item.predicted), "</span></div>");
  if (label_issue) {
    Add(out, "<div class=\"meta\"><span>score <strong>", Fixed(item.score, 3), "</strong></span><span>conf. ",
        Percent(item.confidence, 1), "</span></div>");
  } else {
    Add(out, "<div class=\"meta\"><span>confidence</span><strong>", Percent(item.confidence, 1), "</strong></div>");
  }
  Add(out, "<div class=\"meter", label_issue ? " blue" : "", "\"><span style=\"width:", Printf("%.1f", 100 * meter),
      "%\"></span></div><div class=\"meta\"><code title=\"", Escape(item.item_id), "\">",
      Escape(item.item_id.substr(0, kShortIdChars)), "</code></div></figcaption></figure>");
}

void RenderItemGrid(std::string_view id, std::string_view title, std::string_view note,
                    const std::vector<ReportItem>& items, bool label_issues, std::string& out) {
  OpenCard(out, id, title, note);
  if (items.empty()) {
    out += "<p class=\"empty\">No mistakes: every item was predicted as its label.</p></section>\n";
    return;
  }
  out += "<div class=\"items\">";
  for (size_t i = 0; i < items.size(); ++i) RenderItem(items[i], i + 1, label_issues, out);
  out += "</div></section>\n";
}

}  // namespace

std::string RenderReport(const ReportInput& input) {
  std::string out;
  RenderHead(input, out);
  RenderHeader(input, out);
  RenderNav(input, out);
  RenderMetricCards(input, out);
  RenderRequirements(input.requirements, out);
  RenderConfusion(input.metrics, out);
  RenderReliability(input.metrics, out);
  RenderPerClass(input.metrics, out);
  RenderItemGrid("worst-errors", "Worst errors",
                 "The most confident mistakes, worst first: given label &#8594; prediction.", input.worst_errors,
                 false, out);
  if (!input.label_issues.empty()) {
    RenderItemGrid("label-issues", "Suspected label errors",
                   "Items whose given label the model finds least plausible, most likely first: given label "
                   "&#8594; suggested label. Check them before trusting the metrics above.",
                   input.label_issues, true, out);
  }
  RenderFoot(out);
  return out;
}

}  // namespace fsml::eval
