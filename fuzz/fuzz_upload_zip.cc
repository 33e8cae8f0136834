// Fuzzes StageUpload with the input as one uploaded .zip: libarchive's zip
// reader, the entry checks (paths, links, limits, nesting, encryption), label
// folders and the items' validation, for an image and a text project.
//
// Invariants:
// - Errors are InvalidArgument and name the upload ("up.zip...") or the
//   upload as a whole ("upload: ...").
// - Nothing is written outside the staging folder, and in it only
//   items/<6 digits>.<png|jpg|jpeg> and upload.jsonl, whatever the entry names.
// - On success the index has one line per staged item, each a JSON object:
//   an image with a "file_name" that starts with "up.zip/", or a text.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/upload.h"
#include "fuzz_util.h"

namespace {

namespace fs = std::filesystem;

fsml::Project MakeProject(fsml::TaskType type, std::vector<std::string> labels) {
  fsml::Project p;
  p.id = 1;
  p.name = "fuzz";
  p.type = type;
  for (size_t i = 0; i < labels.size(); ++i) p.labels.push_back({static_cast<int64_t>(i + 1), labels[i], "", ""});
  return p;
}

const fs::path& Root() {
  static const fs::path root = [] {
    std::string tmpl = (fs::temp_directory_path() / "fsml-fuzz-upload.XXXXXX").string();
    FSML_FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    return fs::path(tmpl);
  }();
  // Registered after `root` is made, so it runs before `root` is destroyed.
  static const int cleanup = std::atexit([] {
    std::error_code ec;
    fs::remove_all(Root(), ec);
  });
  (void)cleanup;
  return root;
}

void Check(const fsml::Project& project, std::string_view zip) {
  const fs::path staging = Root() / "staging";
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging);
  fsml::UploadLimits limits;
  limits.max_files = 200;
  limits.max_total_bytes = 8u << 20;
  limits.max_entry_bytes = 2u << 20;
  auto staged = fsml::StageUpload({{"up.zip", std::string(zip)}}, project, staging, limits);

  static const std::regex kStaged(R"(staging(/items(/[0-9]{6}\.(png|jpg|jpeg))?|/upload\.jsonl)?)");
  for (const auto& e : fs::recursive_directory_iterator(Root())) {
    std::string rel = fs::relative(e.path(), Root()).string();
    if (!std::regex_match(rel, kStaged)) {
      std::fprintf(stderr, "unexpected file: %s\n", rel.c_str());
      FSML_FUZZ_CHECK(false);
    }
  }
  if (!staged) {
    FSML_FUZZ_CHECK(staged.error().code() == fsml::Code::kInvalidArgument);
    const std::string& m = staged.error().message();
    FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(m, "up.zip") || fsml::fuzz::StartsWith(m, "upload: "));
    return;
  }
  FSML_FUZZ_CHECK(staged->format == fsml::ImportFormat::kJsonl);
  std::ifstream in(staged->source);
  std::string line;
  uint64_t lines = 0;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    FSML_FUZZ_CHECK(row.is_object());
    if (project.type == fsml::TaskType::kImageClassification) {
      auto name = row.find("file_name");
      FSML_FUZZ_CHECK(name != row.end() && name->is_string());
      FSML_FUZZ_CHECK(fsml::fuzz::StartsWith(name->get<std::string>(), "up.zip/"));
      FSML_FUZZ_CHECK(row["image"].is_string());
    } else {
      // A .jsonl line keeps its own fields, "file_name" included.
      FSML_FUZZ_CHECK(row["text"].is_string() && !row["text"].get<std::string>().empty());
    }
    ++lines;
  }
  FSML_FUZZ_CHECK(lines == staged->files);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fsml::Project images = MakeProject(fsml::TaskType::kImageClassification, {"cat", "dog"});
  static const fsml::Project texts = MakeProject(fsml::TaskType::kTextClassification, {"pos", "neg"});
  std::string_view zip = fsml::fuzz::AsView(data, size);
  Check(images, zip);
  Check(texts, zip);
  return 0;
}
