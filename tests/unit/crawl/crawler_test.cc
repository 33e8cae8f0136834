// The crawl engine on a scripted Fetcher and the real embedded stores:
// scheduling, robots.txt, retries, redirects, dedup, budgets, resume.
#include "crawl/crawler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "core/sha256.h"
#include "crawl/frontier.h"
#include "data/workspace.h"
#include "../temp_dir_test.h"

namespace fsml::crawl {
namespace {

// A 2x2 grayscale PNG.
const std::string kPng(
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x02\x00\x00\x00\x02\x08\x00\x00"
    "\x00\x00\x57\xdd\x52\xf8\x00\x00\x00\x0e\x49\x44\x41\x54\x78\x9c\x63\x10\x50\x60\x30\x70\x00\x00\x01\x76\x00"
    "\xa1\xec\x30\x8a\xf4\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82",
    71);

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "text/html";
  std::string location;
  std::string retry_after;
  FetchError error = FetchError::kNone;
};

// Answers from a script: each URL's replies in turn, the last one repeated;
// unknown URLs get a 404. Every transfer finishes at the next Wait().
class ScriptedFetcher final : public Fetcher {
 public:
  void On(const std::string& url, std::vector<Reply> replies) { script_[url] = std::move(replies); }
  void Page(const std::string& url, const std::string& html) { On(url, {Reply{200, html}}); }

  void Start(FetchRequest request) override {
    requested.push_back(request.url);
    pending_.push_back(std::move(request));
  }
  std::vector<FetchResult> Wait(std::chrono::milliseconds max_wait) override {
    std::vector<FetchResult> out;
    if (pending_.empty()) {
      std::this_thread::sleep_for(std::min(max_wait, std::chrono::milliseconds(5)));
      return out;
    }
    for (auto& req : pending_) {
      FetchResult r;
      r.id = req.id;
      r.url = req.url;
      auto it = script_.find(req.url);
      Reply reply;
      if (it == script_.end()) {
        reply.status = 404;
        reply.body = "not found";
      } else {
        size_t& n = served_[req.url];
        reply = it->second[std::min(n, it->second.size() - 1)];
        ++n;
      }
      r.error = reply.error;
      if (reply.error != FetchError::kNone) r.error_message = "scripted " + std::string(FetchErrorName(reply.error));
      r.status = reply.error == FetchError::kNone ? reply.status : 0;
      r.body = reply.body;
      r.content_type = reply.content_type;
      r.location = reply.location;
      r.retry_after = reply.retry_after;
      out.push_back(std::move(r));
    }
    pending_.clear();
    return out;
  }
  size_t InFlight() const override { return pending_.size(); }

  size_t Count(const std::string& url) const { return std::count(requested.begin(), requested.end(), url); }
  std::vector<std::string> requested;

 private:
  std::map<std::string, std::vector<Reply>> script_;
  std::map<std::string, size_t> served_;
  std::vector<FetchRequest> pending_;
};

constexpr const char* kSite = "http://shop.test";

std::string ItemPage(const std::string& title, const std::string& links = "") {
  return "<html><body><h1>" + title + "</h1><img id='product' src='/img/" + title +
         ".png'><span class='category'>b</span>" + links + "</body></html>";
}

class CrawlerTest : public test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto ws = Workspace::Init(dir_ / "ws");
    ASSERT_TRUE(ws) << ws.error().message();
    ws_ = std::move(*ws);
    fetcher_.On(std::string(kSite) + "/robots.txt", {Reply{404, ""}});
  }

  Project MakeProject(TaskType type) {
    ProjectSpec spec;
    spec.name = type == TaskType::kImageClassification ? "images" : "texts";
    spec.type = type;
    spec.labels = {"a", "b"};
    auto p = CreateProject(ws_->meta(), spec, "tester");
    EXPECT_TRUE(p) << p.error().message();
    return *p;
  }

  // A config for kSite: item pages /p/N, the title as text or /img/ as media.
  std::string Config(TaskType type, const std::string& crawl_extra = "", const std::string& extract_extra = "") {
    std::string crawl = crawl_extra;
    if (crawl.find("delay_ms") == std::string::npos) crawl += "delay_ms = 0\n";
    if (crawl.find("retries") == std::string::npos) crawl += "retries = 2\n";
    std::string text = "[crawl]\nseeds = [\"http://shop.test/\"]\n" + crawl +
                       "\n[extract]\nitem_url = \"/p/[0-9]+$\"\nlabel = \"category\"\n" + extract_extra;
    text += type == TaskType::kImageClassification ? "media = \"image\"\n" : "text = \"title\"\n";
    text += "[extract.fields]\ntitle = \"//h1\"\nimage = \"//img[@id='product']/@src\"\ncategory = "
            "\"//span[@class='category']\"\n";
    return text;
  }

  Result<CrawlSummary> Crawl(const Project& project, const std::string& text, CrawlOptions options = {}) {
    auto config = ParseCrawlConfig(text, "crawl.toml");
    if (!config) return Err(config.error());
    config_ = std::move(*config);
    return RunCrawl(*ws_, project, config_, text, options, &fetcher_);
  }

  // source URL -> the item's meta, for the project's items.
  std::map<std::string, nlohmann::json> Items(const Project& p) {
    std::map<std::string, nlohmann::json> out;
    EXPECT_TRUE(ws_->meta()
                    .Query("SELECT source, meta, item_id FROM project_items WHERE project_id = ?", {p.id},
                           [&](const SqlRow& row) {
                             auto meta = nlohmann::json::parse(row.Text(1));
                             meta["item_id"] = row.Text(2);
                             out[std::string(row.Text(0))] = meta;
                             return Status::Ok();
                           })
                    .ok());
    return out;
  }

  std::string UrlState(const std::string& url) {
    std::string state;
    EXPECT_TRUE(ws_->meta()
                    .Query("SELECT state, coalesce(detail, '') FROM crawl_urls WHERE url = ?", {url},
                           [&](const SqlRow& row) {
                             state = std::string(row.Text(0)) + "|" + std::string(row.Text(1));
                             return Status::Ok();
                           })
                    .ok());
    return state;
  }

  std::unique_ptr<Workspace> ws_;
  ScriptedFetcher fetcher_;
  CrawlConfig config_;
};

TEST_F(CrawlerTest, TextItemsFromItemPagesWithProvenance) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a> <a href='p/2#top'>two</a> <a href='/about'>about</a>");
  fetcher_.Page("http://shop.test/p/1", ItemPage("first"));
  fetcher_.Page("http://shop.test/p/2", ItemPage("second", "<a href='/p/1'>again</a>"));
  fetcher_.Page("http://shop.test/about", "<html><body><h1>About us</h1></body></html>");
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->status, "finished");
  EXPECT_EQ(sum->items, 2u);
  EXPECT_EQ(sum->pages, 4u);
  EXPECT_EQ(sum->queued, 0u);
  EXPECT_EQ(fetcher_.requested.front(), "http://shop.test/robots.txt");
  EXPECT_EQ(fetcher_.Count("http://shop.test/p/1"), 1u) << "a URL is fetched once";
  auto items = Items(p);
  ASSERT_EQ(items.size(), 2u);
  const auto& first = items.at("http://shop.test/p/1");
  EXPECT_EQ(first["item_id"], Sha256Hex("first"));
  EXPECT_EQ(first["fields"]["title"], "first");
  EXPECT_EQ(first["source_url"], "http://shop.test/p/1");
  EXPECT_EQ(first["http_status"], 200);
  EXPECT_EQ(first["crawl_id"], sum->crawl_id);
  EXPECT_EQ(first["weak_label"], "b");
  EXPECT_FALSE(first["fetched_at"].get<std::string>().empty());
}

TEST_F(CrawlerTest, ImageItemsAreTheirMediaBytes) {
  Project p = MakeProject(TaskType::kImageClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a>");
  fetcher_.Page("http://shop.test/p/1", ItemPage("first"));
  fetcher_.On("http://shop.test/img/first.png", {Reply{200, kPng, "image/png"}});
  auto sum = Crawl(p, Config(TaskType::kImageClassification, "", "label_as = \"label\"\n"));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->items, 1u);
  EXPECT_EQ(sum->media, 1u);
  auto items = Items(p);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items.begin()->second["item_id"], Sha256Hex(kPng));
  EXPECT_EQ(items.begin()->second["media_url"], "http://shop.test/img/first.png");
  auto object = ws_->blobs().Get(Sha256Hex(kPng));
  ASSERT_TRUE(object) << object.error().message();
  int64_t labeled = 0;
  ASSERT_TRUE(ws_->meta()
                  .Query("SELECT count(*) FROM project_items pi JOIN labels l ON l.id = pi.label_id WHERE l.name = 'b'",
                         {}, [&](const SqlRow& row) { labeled = row.Int(0); return Status::Ok(); })
                  .ok());
  EXPECT_EQ(labeled, 1) << "label_as = \"label\" records the weak label as the item's label";
}

TEST_F(CrawlerTest, MediaThatIsNotAnImageFailsThePage) {
  Project p = MakeProject(TaskType::kImageClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a>");
  fetcher_.Page("http://shop.test/p/1", ItemPage("first"));
  fetcher_.On("http://shop.test/img/first.png", {Reply{200, "<html>oops</html>", "image/png"}});
  auto sum = Crawl(p, Config(TaskType::kImageClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->items, 0u);
  EXPECT_EQ(sum->errors["media_type"], 1u);
  EXPECT_EQ(UrlState("http://shop.test/p/1").substr(0, 7), "failed|");
}

TEST_F(CrawlerTest, RobotsDisallowedUrlsAreNeverRequested) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.On("http://shop.test/robots.txt", {Reply{200, "User-agent: *\nDisallow: /p/2\n", "text/plain"}});
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a> <a href='/p/2'>two</a>");
  fetcher_.Page("http://shop.test/p/1", ItemPage("first"));
  fetcher_.Page("http://shop.test/p/2", ItemPage("second"));
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.Count("http://shop.test/p/2"), 0u);
  EXPECT_EQ(sum->disallowed, 1u);
  EXPECT_EQ(sum->items, 1u);
  EXPECT_EQ(UrlState("http://shop.test/p/2"), "skipped|disallowed by robots.txt");
}

TEST_F(CrawlerTest, UnreachableRobotsMeansNothingIsCrawled) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.On("http://shop.test/robots.txt", {Reply{503, "busy"}});
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a>");
  auto sum = Crawl(p, Config(TaskType::kTextClassification, "retries = 1\n"));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.Count("http://shop.test/robots.txt"), 2u) << "one retry";
  EXPECT_EQ(fetcher_.Count("http://shop.test/"), 0u);
  EXPECT_EQ(sum->errors["http_5xx"], 1u);
}

TEST_F(CrawlerTest, ServerErrorsAreRetriedUpToTheLimit) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a> <a href='/p/2'>two</a>");
  fetcher_.On("http://shop.test/p/1", {Reply{500, "x"}, Reply{503, "x", "text/html", "", "0"}, Reply{200, ItemPage("first")}});
  fetcher_.On("http://shop.test/p/2", {Reply{0, "", "", "", "", FetchError::kTimeout}});
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.Count("http://shop.test/p/1"), 3u);
  EXPECT_EQ(fetcher_.Count("http://shop.test/p/2"), 3u) << "1 + retries = 2";
  EXPECT_EQ(sum->items, 1u);
  EXPECT_EQ(sum->errors["timeout"], 1u);
  EXPECT_EQ(sum->retries, 4u);
  EXPECT_EQ(UrlState("http://shop.test/p/2"), "failed|timeout: scripted timeout");
}

TEST_F(CrawlerTest, NotFoundIsNotRetried) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/9'>gone</a>");
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.Count("http://shop.test/p/9"), 1u);
  EXPECT_EQ(sum->errors["http_4xx"], 1u);
  EXPECT_EQ(sum->statuses["404"], 3u) << "robots.txt, sitemap.xml and the page";
}

TEST_F(CrawlerTest, RedirectsAreFollowedHopByHopAndLoopsEnd) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/old'>old</a> <a href='/loop/a'>loop</a> <a href='/away'>away</a>");
  fetcher_.On("http://shop.test/old", {Reply{301, "", "", "http://shop.test/moved"}});
  fetcher_.On("http://shop.test/moved", {Reply{302, "", "", "http://shop.test/p/1"}});
  fetcher_.Page("http://shop.test/p/1", ItemPage("first"));
  fetcher_.On("http://shop.test/loop/a", {Reply{302, "", "", "http://shop.test/loop/b"}});
  fetcher_.On("http://shop.test/loop/b", {Reply{302, "", "", "http://shop.test/loop/a"}});
  fetcher_.On("http://shop.test/away", {Reply{302, "", "", "http://elsewhere.test/x"}});
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->items, 1u);
  EXPECT_EQ(Items(p).count("http://shop.test/p/1"), 1u);
  EXPECT_EQ(fetcher_.Count("http://shop.test/loop/a"), 1u);
  EXPECT_EQ(fetcher_.Count("http://elsewhere.test/x"), 0u) << "a redirect out of scope is not followed";
  EXPECT_EQ(UrlState("http://shop.test/loop/b"), "done|redirect to an already seen URL http://shop.test/loop/a");
  EXPECT_EQ(UrlState("http://shop.test/away"), "done|redirect out of scope to http://elsewhere.test/x");
  EXPECT_EQ(sum->redirects, 5u);
}

TEST_F(CrawlerTest, RedirectChainsLongerThanTheLimitFail) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/r/0'>r</a>");
  for (int i = 0; i < 5; ++i)
    fetcher_.On("http://shop.test/r/" + std::to_string(i),
                {Reply{302, "", "", "http://shop.test/r/" + std::to_string(i + 1)}});
  auto sum = Crawl(p, Config(TaskType::kTextClassification, "max_redirects = 3\n"));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.Count("http://shop.test/r/4"), 0u);
  EXPECT_EQ(sum->errors["redirect"], 1u);
}

TEST_F(CrawlerTest, DuplicateContentIsRecordedNotStoredTwice) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a> <a href='/p/2'>two</a> <a href='/p/3'>three</a>");
  fetcher_.Page("http://shop.test/p/1", ItemPage("same"));
  fetcher_.Page("http://shop.test/p/2", ItemPage("same"));  // byte-identical page
  fetcher_.Page("http://shop.test/p/3", ItemPage("same", "<!-- other bytes -->"));  // same item, other page
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->duplicates, 1u);
  EXPECT_EQ(sum->items, 1u);
  EXPECT_EQ(sum->items_present, 1u);
  EXPECT_EQ(Items(p).size(), 1u);
}

TEST_F(CrawlerTest, ScopeDenyDepthAndFollowRulesBoundTheCrawl) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/",
                "<a href='http://other.test/p/1'>x</a> <a href='/cart'>cart</a> <a href='/d1'>deep</a>"
                "<a href='javascript:void(0)'>js</a> <a href='mailto:a@b.c'>mail</a>");
  fetcher_.Page("http://shop.test/d1", "<a href='/d2'>deeper</a>");
  fetcher_.Page("http://shop.test/d2", "<a href='/p/1'>too deep</a>");
  auto sum = Crawl(p, Config(TaskType::kTextClassification, "deny = [\"/cart\"]\nmax_depth = 2\n"));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.Count("http://other.test/p/1"), 0u);
  EXPECT_EQ(fetcher_.Count("http://shop.test/cart"), 0u);
  EXPECT_EQ(fetcher_.Count("http://shop.test/d2"), 1u);
  EXPECT_EQ(fetcher_.Count("http://shop.test/p/1"), 0u) << "depth 3 is over max_depth";
}

TEST_F(CrawlerTest, SitemapUrlsAreCrawled) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.On("http://shop.test/robots.txt",
              {Reply{200, "User-agent: *\nAllow: /\nSitemap: http://shop.test/map.xml\n", "text/plain"}});
  fetcher_.On("http://shop.test/map.xml",
              {Reply{200,
                     "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                     "<url><loc>http://shop.test/p/7</loc></url></urlset>",
                     "application/xml"}});
  fetcher_.Page("http://shop.test/", "nothing linked");
  fetcher_.Page("http://shop.test/p/7", ItemPage("seven"));
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.Count("http://shop.test/sitemap.xml"), 0u) << "robots.txt named the sitemap";
  EXPECT_EQ(sum->items, 1u);
}

TEST_F(CrawlerTest, NonHtmlPagesAreNotParsed) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a> <a href='/p/2'>two</a>");
  fetcher_.On("http://shop.test/p/1", {Reply{200, ItemPage("first"), "text/plain"}});
  fetcher_.On("http://shop.test/p/2", {Reply{200, ItemPage("second"), ""}});  // sniffed
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->errors["content_type"], 1u);
  EXPECT_EQ(sum->items, 1u);
  EXPECT_EQ(Items(p).count("http://shop.test/p/2"), 1u);
}

TEST_F(CrawlerTest, MaxPagesLimitsAndResumeFinishesWithoutRefetching) {
  Project p = MakeProject(TaskType::kTextClassification);
  std::string links;
  for (int i = 1; i <= 6; ++i) {
    links += "<a href='/p/" + std::to_string(i) + "'>x</a>";
    fetcher_.Page("http://shop.test/p/" + std::to_string(i), ItemPage("item" + std::to_string(i)));
  }
  fetcher_.Page("http://shop.test/", links);
  CrawlOptions limited;
  limited.max_pages = 3;
  std::string config = Config(TaskType::kTextClassification);
  auto first = Crawl(p, config, limited);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->status, "limited");
  EXPECT_EQ(first->pages, 3u);
  EXPECT_EQ(first->queued, 4u);
  std::vector<std::string> before = fetcher_.requested;

  auto other = Crawl(p, Config(TaskType::kTextClassification, "delay_ms = 1\n"), CrawlOptions{.resume = true});
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("ran with another config"), std::string::npos) << other.error().message();

  auto second = Crawl(p, config, CrawlOptions{.resume = true});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->status, "finished");
  EXPECT_EQ(second->crawl_id, first->crawl_id);
  EXPECT_EQ(second->items, 6u) << "totals cover both sessions";
  EXPECT_EQ(Items(p).size(), 6u);
  for (size_t i = before.size(); i < fetcher_.requested.size(); ++i) {
    const std::string& url = fetcher_.requested[i];
    if (url.ends_with("/robots.txt") || url.ends_with("/sitemap.xml")) continue;
    EXPECT_EQ(std::count(before.begin(), before.end(), url), 0) << url << " was fetched again after resume";
  }
  auto nothing = Crawl(p, config, CrawlOptions{.resume = true});
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().code(), Code::kNotFound);
}

TEST_F(CrawlerTest, StopRequestEndsAsInterruptedAndResumes) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a> <a href='/p/2'>two</a>");
  fetcher_.Page("http://shop.test/p/1", ItemPage("first"));
  fetcher_.Page("http://shop.test/p/2", ItemPage("second"));
  std::string config = Config(TaskType::kTextClassification);
  CrawlOptions stop_soon;
  int polls = 0;
  stop_soon.should_stop = [&] { return ++polls > 3; };
  auto first = Crawl(p, config, stop_soon);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->status, "interrupted");
  auto second = Crawl(p, config, CrawlOptions{.resume = true});
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->status, "finished");
  EXPECT_EQ(Items(p).size(), 2u);
}

TEST_F(CrawlerTest, ProjectTypeMustMatchTheExtraction) {
  Project p = MakeProject(TaskType::kImageClassification);
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_FALSE(sum);
  EXPECT_EQ(sum.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(sum.error().message().find("is an image project"), std::string::npos) << sum.error().message();
}

TEST_F(CrawlerTest, BlockedAddressesAreReportedAsSuch) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.On("http://shop.test/robots.txt", {Reply{0, "", "", "", "", FetchError::kBlocked}});
  auto sum = Crawl(p, Config(TaskType::kTextClassification, "retries = 3\n"));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(fetcher_.requested.size(), 1u) << "a blocked address is not retried";
  EXPECT_EQ(sum->errors["blocked"], 1u);
  EXPECT_EQ(sum->items, 0u);
}

TEST_F(CrawlerTest, SummaryIsStoredWithTheCrawl) {
  Project p = MakeProject(TaskType::kTextClassification);
  fetcher_.Page("http://shop.test/", "<a href='/p/1'>one</a>");
  fetcher_.Page("http://shop.test/p/1", ItemPage("first"));
  auto sum = Crawl(p, Config(TaskType::kTextClassification));
  ASSERT_TRUE(sum) << sum.error().message();
  auto crawls = ListCrawls(ws_->meta(), p.id);
  ASSERT_TRUE(crawls) << crawls.error().message();
  ASSERT_EQ(crawls->size(), 1u);
  EXPECT_EQ(crawls->front().status, "finished");
  EXPECT_FALSE(crawls->front().ended_at.empty());
  CrawlSummary stored = CrawlSummary::FromJson(crawls->front().stats);
  EXPECT_EQ(stored.items, 1u);
  EXPECT_EQ(stored.pages, sum->pages);
  EXPECT_EQ(stored.ToJson(), sum->ToJson());
}

}  // namespace
}  // namespace fsml::crawl
