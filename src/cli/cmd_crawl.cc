// fsml crawl PROJECT --config crawl.toml [--resume] [--max-pages N]
// fsml crawls PROJECT
#include <iostream>

#include "cli/common.h"
#include "core/fs.h"
#include "core/stop_signals.h"
#include "crawl/crawler.h"
#include "crawl/frontier.h"

namespace fsml::cli {
namespace {

std::string ErrorsText(const std::map<std::string, uint64_t>& counts) {
  std::string out;
  for (const auto& [kind, n] : counts) out += (out.empty() ? "" : ", ") + kind + " " + WithThousands(n);
  return out.empty() ? "none" : out;
}

void PrintSummary(const crawl::CrawlSummary& s) {
  double rate = s.seconds > 0 ? static_cast<double>(s.pages) / s.seconds : 0;
  std::cout << "crawl " << s.crawl_id << " " << s.status << " in " << Duration(s.seconds) << ": "
            << WithThousands(s.pages) << " pages (" << Fixed(rate, 1) << " pages/s), " << WithThousands(s.items)
            << " new items";
  if (s.items_present) std::cout << ", " << WithThousands(s.items_present) << " already in the project";
  std::cout << ", " << WithThousands(s.duplicates) << " duplicate pages, " << WithThousands(s.media) << " media, "
            << HumanBytes(s.bytes) << "\n";
  std::cout << "  requests " << WithThousands(s.requests) << " (retries " << WithThousands(s.retries) << ", redirects "
            << WithThousands(s.redirects) << "), disallowed by robots.txt " << WithThousands(s.disallowed)
            << ", left in the frontier " << WithThousands(s.queued) << "\n";
  std::cout << "  errors: " << ErrorsText(s.errors) << "\n";
  std::string statuses;
  for (const auto& [code, n] : s.statuses) statuses += (statuses.empty() ? "" : ", ") + code + " " + WithThousands(n);
  std::cout << "  HTTP statuses: " << (statuses.empty() ? "none" : statuses) << "\n";
  if (s.labels_unknown)
    std::cout << "  " << WithThousands(s.labels_unknown) << " weak labels name no label of the project (kept in the items' metadata)\n";
  if (s.status == "limited")
    std::cout << "stopped at max_pages with URLs left; continue with: fsml crawl PROJECT --config FILE --resume --max-pages N\n";
  if (s.status == "interrupted") std::cout << "interrupted; continue with --resume\n";
}

}  // namespace

void RegisterCrawlCommands(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("crawl", "crawl a web site into a project's unlabeled items (see docs/crawl.md)");
  auto project = std::make_shared<std::string>();
  auto config_path = std::make_shared<std::string>();
  auto resume = std::make_shared<bool>(false);
  auto max_pages = std::make_shared<int64_t>(0);
  auto json = std::make_shared<bool>(false);
  cmd->add_option("PROJECT", *project, "the project that receives the items")->required();
  cmd->add_option("--config", *config_path, "the crawl.toml: seeds, URL rules, politeness, extraction")->required();
  cmd->add_flag("--resume", *resume, "continue the project's last unfinished crawl (same config)");
  cmd->add_option("--max-pages", *max_pages, "stop after this many pages (replaces [crawl] max_pages)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", *json, "print the summary as JSON");
  cmd->callback([&ctx, project, config_path, resume, max_pages, json] {
    Run(ctx, [&]() -> Status {
      FSML_ASSIGN_OR_RETURN(std::string text, ReadFile(*config_path, 1 << 20));
      std::string name = fs::path(*config_path).filename().string();
      FSML_ASSIGN_OR_RETURN(crawl::CrawlConfig config, crawl::ParseCrawlConfig(text, name));
      FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
      FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), *project));
      crawl::CrawlOptions options;
      options.resume = *resume;
      if (*max_pages > 0) options.max_pages = static_cast<uint64_t>(*max_pages);
      StopSignals signals;
      options.should_stop = [] { return StopSignals::Requested(); };
      FSML_ASSIGN_OR_RETURN(crawl::CrawlSummary summary, crawl::RunCrawl(*ws, p, config, text, options));
      if (*json) PrintJson(summary.ToJson());
      else PrintSummary(summary);
      if (summary.status == "interrupted") ctx.exit_code = 130;
      return Status::Ok();
    });
  });

  auto* list = app.add_subcommand("crawls", "list a project's crawls with their summaries");
  auto list_project = std::make_shared<std::string>();
  auto list_json = std::make_shared<bool>(false);
  list->add_option("PROJECT", *list_project, "the project")->required();
  list->add_flag("--json", *list_json, "print JSON (with each crawl's config)");
  list->callback([&ctx, list_project, list_json] {
    Run(ctx, [&]() -> Status {
      FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
      FSML_ASSIGN_OR_RETURN(Project p, GetProject(ws->meta(), *list_project));
      FSML_ASSIGN_OR_RETURN(auto crawls, crawl::ListCrawls(ws->meta(), p.id));
      if (*list_json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& c : crawls)
          out.push_back({{"id", c.id}, {"status", c.status}, {"started_at", c.started_at}, {"updated_at", c.updated_at},
                         {"ended_at", c.ended_at}, {"host", c.host}, {"import_id", c.import_id}, {"config", c.config},
                         {"stats", c.stats}});
        PrintJson(out);
        return Status::Ok();
      }
      std::vector<std::vector<std::string>> rows = {{"ID", "STATUS", "STARTED", "PAGES", "ITEMS", "DUPLICATES", "ERRORS", "TIME"}};
      for (const auto& c : crawls) {
        auto s = crawl::CrawlSummary::FromJson(c.stats);
        uint64_t errors = 0;
        for (const auto& [k, v] : s.errors) errors += v;
        rows.push_back({std::to_string(c.id), c.status, c.started_at, WithThousands(s.pages), WithThousands(s.items),
                        WithThousands(s.duplicates), WithThousands(errors), Duration(s.seconds)});
      }
      if (crawls.empty()) std::cout << "no crawls in '" << p.name << "' yet: fsml crawl " << p.name << " --config crawl.toml\n";
      else PrintTable(rows);
      return Status::Ok();
    });
  });
}

}  // namespace fsml::cli
