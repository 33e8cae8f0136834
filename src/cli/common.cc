#include "cli/common.h"

#include <iomanip>
#include <sstream>

#include <cstdio>
#include <iostream>

#include "core/progress.h"

namespace fsml::cli {

Result<std::unique_ptr<Workspace>> OpenWorkspace(const Context& ctx) {
  std::optional<fs::path> root;
  if (ctx.workspace) root = fs::path(*ctx.workspace);
  FSML_ASSIGN_OR_RETURN(fs::path found, Workspace::Locate(root));
  return Workspace::Open(found);
}

void Run(Context& ctx, const std::function<Status()>& body) {
  Progress::SetEnabled(!ctx.quiet);
  Status s = body();
  if (!s.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "fsml: error: %s\n", s.message().c_str());
    ctx.exit_code = 1;
  }
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string Fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

std::string Duration(double s) {
  if (s < 90) return Fixed(s, 1) + " s";
  if (s < 5400) return Fixed(s / 60, 1) + " min";
  return Fixed(s / 3600, 1) + " h";
}

}  // namespace fsml::cli
