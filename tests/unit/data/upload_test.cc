#include "data/upload.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/import.h"
#include "data/split.h"
#include "test_util.h"

namespace fsml {
namespace {

using ::testing::HasSubstr;

struct ZipEntry {
  enum Kind { kFile, kDir, kSymlink };
  std::string name;
  std::string body;  // kSymlink: the target
  Kind kind = kFile;
};

// A zip written by libarchive in memory: deflated, or stored.
std::string MakeZip(const std::vector<ZipEntry>& entries, bool store = false) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  if (store) archive_write_set_format_option(a, "zip", "compression", "store");
  // Names in UTF-8 with the zip's UTF-8 flag, as current zip tools write them.
  archive_write_set_format_option(a, "zip", "hdrcharset", "UTF-8");
  archive_write_set_bytes_in_last_block(a, 1);
  auto write = [](archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  EXPECT_EQ(archive_write_open(a, &out, nullptr, write, nullptr), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname_utf8(entry, e.name.c_str());
    archive_entry_set_mtime(entry, 1700000000, 0);
    if (e.kind == ZipEntry::kDir) {
      archive_entry_set_filetype(entry, AE_IFDIR);
      archive_entry_set_perm(entry, 0755);
    } else if (e.kind == ZipEntry::kSymlink) {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_perm(entry, 0777);
      archive_entry_set_symlink(entry, e.body.c_str());
    } else {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_perm(entry, 0644);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.body.size()));
    }
    EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    if (e.kind == ZipEntry::kFile && !e.body.empty()) {
      EXPECT_EQ(archive_write_data(a, e.body.data(), e.body.size()), static_cast<la_ssize_t>(e.body.size()));
    }
    archive_entry_free(entry);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

// Offsets of every `signature` (4 bytes) in `zip`.
std::vector<size_t> FindAll(const std::string& zip, std::string_view signature) {
  std::vector<size_t> at;
  for (size_t p = zip.find(signature); p != std::string::npos; p = zip.find(signature, p + 1)) at.push_back(p);
  return at;
}

void PutLe32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

class UploadTest : public test::WorkspaceTest {
 protected:
  void SetUp() override {
    test::WorkspaceTest::SetUp();
    images_ = MakeProject("imgs", TaskType::kImageClassification, {"cat", "dog", "T-shirt/top"});
    texts_ = MakeProject("texts", TaskType::kTextClassification, {"pos", "neg"});
    staging_ = dir_ / "staging";
    test::WriteBytes(dir_ / "outside.txt", "untouched");
  }

  Result<StagedUpload> Stage(const Project& p, const std::vector<UploadedFile>& files, UploadLimits limits = {}) {
    return StageUpload(files, p, staging_, limits);
  }

  // Stages and imports as the web app does.
  Result<ImportSummary> StageAndImport(const Project& p, const std::vector<UploadedFile>& files) {
    FSML_ASSIGN_OR_RETURN(StagedUpload staged, Stage(p, files));
    ImportOptions opt;
    opt.format = staged.format;
    opt.skip_duplicates = true;
    opt.threads = 2;
    return ImportItems(*ws_, p, staged.source, opt);
  }

  void ExpectRejected(const Project& p, const std::vector<UploadedFile>& files, const std::string& message,
                      UploadLimits limits = {}) {
    auto staged = Stage(p, files, limits);
    ASSERT_FALSE(staged.has_value()) << "staged " << staged->files << " items";
    EXPECT_EQ(staged.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(staged.error().message(), message);
  }

  struct Row {
    std::string label, split;
    nlohmann::json meta;
  };
  // The project's items by their "file_name" metadata.
  std::map<std::string, Row> Items(const Project& p) {
    std::map<std::string, Row> out;
    Status s = meta().Query("SELECT meta, label_id, split FROM project_items WHERE project_id = ?", {p.id},
                            [&](const SqlRow& r) {
                              Row row;
                              row.meta = nlohmann::json::parse(r.Text(0));
                              if (!r.IsNull(1)) row.label = p.FindLabelById(r.Int(1))->name;
                              row.split = SplitName(static_cast<Split>(r.Int(2)));
                              out[row.meta.value("file_name", "?")] = row;
                              return Status::Ok();
                            });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  Project images_, texts_;
  fs::path staging_;
};

TEST_F(UploadTest, BareImagesAreUnlabeledUnderGeneratedNames) {
  auto summary = StageAndImport(images_, {{"holiday.png", test::TestPng(4, 4, 1)}, {"Beach.PNG", test::TestPng(4, 4, 2)}});
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->added, 2u);
  EXPECT_TRUE(fs::exists(staging_ / "items" / "000000.png"));
  EXPECT_TRUE(fs::exists(staging_ / "items" / "000001.png"));
  auto items = Items(images_);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items["holiday.png"].label, "");
  EXPECT_EQ(items["Beach.PNG"].label, "");
}

TEST_F(UploadTest, LabeledZipKeepsItsLabelsAndSplits) {
  std::string zip = MakeZip({{"cat/", "", ZipEntry::kDir},
                             {"cat/a.png", test::TestPng(4, 4, 1)},
                             {"dog/b.png", test::TestPng(4, 4, 2)},
                             {"T-shirt%2Ftop/c.png", test::TestPng(4, 4, 3)},
                             {"train/cat/d.png", test::TestPng(4, 4, 4)},
                             {"validation/dog/e.png", test::TestPng(4, 4, 5)},
                             {"test/f.png", test::TestPng(4, 4, 6)},
                             {"top.png", test::TestPng(4, 4, 7)},
                             {"__MACOSX/cat/._a.png", "resource fork"},
                             {"cat/.DS_Store", "junk"},
                             {"dog/Thumbs.db", "junk"}});
  auto summary = StageAndImport(images_, {{"pets.zip", zip}});
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->added, 7u);
  auto items = Items(images_);
  EXPECT_EQ(items["pets.zip/cat/a.png"].label, "cat");
  EXPECT_EQ(items["pets.zip/dog/b.png"].label, "dog");
  EXPECT_EQ(items["pets.zip/T-shirt%2Ftop/c.png"].label, "T-shirt/top");
  EXPECT_EQ(items["pets.zip/train/cat/d.png"].label, "cat");
  EXPECT_EQ(items["pets.zip/train/cat/d.png"].split, "train");
  EXPECT_EQ(items["pets.zip/validation/dog/e.png"].split, "val");
  EXPECT_EQ(items["pets.zip/test/f.png"].label, "");
  EXPECT_EQ(items["pets.zip/test/f.png"].split, "test");
  EXPECT_EQ(items["pets.zip/top.png"].label, "");
}

TEST_F(UploadTest, LabelFoldersMaySitInOneWrappingFolder) {
  std::string zip = MakeZip({{"dataset/cat/a.png", test::TestPng(4, 4, 1)}, {"dataset/dog/b.png", test::TestPng(4, 4, 2)}});
  ASSERT_TRUE(StageAndImport(images_, {{"wrapped.zip", zip}}));
  auto items = Items(images_);
  EXPECT_EQ(items["wrapped.zip/dataset/cat/a.png"].label, "cat");
  EXPECT_EQ(items["wrapped.zip/dataset/dog/b.png"].label, "dog");
}

TEST_F(UploadTest, NonAsciiNamesSurvive) {
  std::string zip = MakeZip({{"cat/\u00e9t\u00e9.png", test::TestPng(4, 4, 1)}, {"\u732b.png", test::TestPng(4, 4, 2)}});
  ASSERT_EQ(zip[7] & 0x08, 0x08);  // the UTF-8 flag, which libarchive converts names for
  auto summary = StageAndImport(images_, {{"\u00e9t\u00e9.zip", zip}, {"\u00fcber.png", test::TestPng(4, 4, 3)}});
  ASSERT_TRUE(summary) << summary.error().ToString();
  auto items = Items(images_);
  EXPECT_EQ(items["\u00e9t\u00e9.zip/cat/\u00e9t\u00e9.png"].label, "cat");
  EXPECT_EQ(items.count("\u00e9t\u00e9.zip/\u732b.png"), 1u);
  EXPECT_EQ(items.count("\u00fcber.png"), 1u);
}

TEST_F(UploadTest, FoldersOfAZipWithoutLabelFoldersAreUnlabeled) {
  std::string zip = MakeZip({{"photos/2024/a.png", test::TestPng(4, 4, 1)}, {"train/b.png", test::TestPng(4, 4, 2)}});
  ASSERT_TRUE(StageAndImport(images_, {{"photos.zip", zip}}));
  auto items = Items(images_);
  EXPECT_EQ(items["photos.zip/photos/2024/a.png"].label, "");
  EXPECT_EQ(items["photos.zip/train/b.png"].label, "");
  EXPECT_EQ(items["photos.zip/train/b.png"].split, "train");
}

TEST_F(UploadTest, RejectsAnUnknownLabelFolderInALabeledZip) {
  std::string zip = MakeZip({{"cat/a.png", test::TestPng(4, 4, 1)}, {"Sandal/b.png", test::TestPng(4, 4, 2)}});
  ExpectRejected(images_, {{"shoes.zip", zip}},
                 "shoes.zip: entry 'Sandal/b.png': folder 'Sandal' is not one of the project's labels (cat, dog, "
                 "T-shirt/top) while other entries are in label folders; rename the folder, or move its files to the "
                 "top of the zip to import them unlabeled");
}

TEST_F(UploadTest, TextFilesJsonlAndZipsOfText) {
  std::string jsonl =
      "{\"text\": \"great\", \"label\": \"pos\", \"split\": \"test\", \"lang\": \"en\"}\n"
      "\n"
      "{\"text\": \"meh\", \"label\": \"\"}\n";
  std::string zip = MakeZip({{"neg/c.txt", "awful"}, {"d.txt", "fine"}});
  auto summary = StageAndImport(texts_, {{"a.txt", "hello"}, {"more.jsonl", jsonl}, {"texts.zip", zip}});
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->added, 5u);
  auto items = Items(texts_);
  EXPECT_EQ(items["a.txt"].label, "");
  EXPECT_EQ(items["more.jsonl:1"].label, "pos");
  EXPECT_EQ(items["more.jsonl:1"].split, "test");
  EXPECT_EQ(items["more.jsonl:1"].meta["lang"], "en");
  EXPECT_EQ(items["more.jsonl:3"].label, "");
  EXPECT_EQ(items["texts.zip/neg/c.txt"].label, "neg");
  EXPECT_EQ(items["texts.zip/d.txt"].label, "");
}

TEST_F(UploadTest, BadTextNamesTheFileAndLine) {
  ExpectRejected(texts_, {{"a.jsonl", "{\"text\": \"x\", \"label\": \"maybe\"}\n"}},
                 "a.jsonl: line 1: unknown label 'maybe' (project labels: pos, neg)");
  ExpectRejected(texts_, {{"a.jsonl", "{\"text\": \"x\"}\n{\"text\": \"y\", \"split\": \"dev\"}\n"}},
                 "a.jsonl: line 2: unknown split 'dev' (expected train, val or test)");
  ExpectRejected(texts_, {{"a.jsonl", "{\"label\": \"pos\"}\n"}}, "a.jsonl: line 1: missing \"text\"");
  ExpectRejected(texts_, {{"a.jsonl", "{\"text\": \"x\", \"image\": \"/etc/passwd\"}\n"}},
                 "a.jsonl: line 1: uploads cannot refer to files (\"image\"); upload the images themselves");
  ExpectRejected(texts_, {{"latin1.txt", "caf\xe9"}}, "latin1.txt: text is not valid UTF-8");
  ExpectRejected(texts_, {{"empty.txt", ""}}, "empty.txt: empty text file");
}

TEST_F(UploadTest, UnknownTypesListWhatTheProjectTakes) {
  ExpectRejected(images_, {{"cat.gif", "GIF89a"}},
                 "cat.gif: not a file this project takes (image projects take .png, .jpg and .jpeg files, and .zip "
                 "archives of them)");
  ExpectRejected(texts_, {{"cat.png", test::TestPng(4, 4, 1)}},
                 "cat.png: not a file this project takes (text projects take .txt files (one item each), .jsonl "
                 "files, and .zip archives of them)");
  ExpectRejected(images_, {{"a.zip", MakeZip({{"notes.txt", "hi"}})}},
                 "a.zip/notes.txt: not a file this project takes (image projects take .png, .jpg and .jpeg files, "
                 "and .zip archives of them)");
  ExpectRejected(images_, {{"empty.zip", MakeZip({{"cat/", "", ZipEntry::kDir}})}},
                 "upload: no items in it (image projects take .png, .jpg and .jpeg files, and .zip archives of them)");
  ExpectRejected(images_, {}, "upload: no files");
}

TEST_F(UploadTest, RejectsPathsThatLeaveTheArchive) {
  const std::pair<const char*, const char*> cases[] = {
      {"../x.png", "up.zip: entry '../x.png': path leaves the archive"},
      {"/abs.png", "up.zip: entry '/abs.png': path leaves the archive (absolute)"},
      {"a/../../b.png", "up.zip: entry 'a/../../b.png': path leaves the archive"},
      {"x/../../etc/passwd", "up.zip: entry 'x/../../etc/passwd': path leaves the archive"},
      {"bad\x01/../x.png", "up.zip: entry 'bad?/../x.png': path leaves the archive"},
      // libarchive reads backslashes as separators.
      {"..\\win.png", "up.zip: entry '../win.png': path leaves the archive"},
      {"C:\\win.png", "up.zip: entry 'C:/win.png': path leaves the archive (absolute)"},
  };
  for (const auto& [name, message] : cases) {
    SCOPED_TRACE(name);
    std::string zip = MakeZip({{"cat/ok.png", test::TestPng(4, 4, 1)}, {name, test::TestPng(4, 4, 2)}});
    ExpectRejected(images_, {{"up.zip", zip}}, message);
  }
  // A ".." past the 255 bytes that messages show.
  std::string deep = std::string(300, 'd') + "/../../x.png";
  auto staged = Stage(images_, {{"up.zip", MakeZip({{deep, test::TestPng(4, 4, 3)}})}});
  ASSERT_FALSE(staged.has_value());
  EXPECT_THAT(staged.error().message(), ::testing::EndsWith("': path leaves the archive"));
  EXPECT_EQ(test::ReadBytes(dir_ / "outside.txt"), "untouched");
}

TEST_F(UploadTest, UploadedNamesAreNeverPaths) {
  auto staged = Stage(images_, {{"../../outside.txt.png", test::TestPng(4, 4, 1)}, {"/etc/x.png", test::TestPng(4, 4, 2)}});
  ASSERT_TRUE(staged) << staged.error().ToString();
  std::vector<std::string> written;
  for (const auto& e : fs::recursive_directory_iterator(staging_))
    written.push_back(fs::relative(e.path(), staging_).string());
  std::sort(written.begin(), written.end());
  EXPECT_THAT(written, ::testing::ElementsAre("items", "items/000000.png", "items/000001.png", "upload.jsonl"));
  EXPECT_EQ(test::ReadBytes(dir_ / "outside.txt"), "untouched");
}

TEST_F(UploadTest, NamesAreSanitizedForMetadata) {
  std::string long_name = std::string(300, 'a') + ".png";
  std::string odd_name = std::string("bad\x01name\x1b[31m\xff\xe2\x80\xaegnp.png");
  auto summary = StageAndImport(images_, {{long_name, test::TestPng(4, 4, 1)}, {odd_name, test::TestPng(4, 4, 2)}});
  ASSERT_TRUE(summary) << summary.error().ToString();
  auto items = Items(images_);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items.count(std::string(255, 'a')), 1u);  // cut at 255 bytes
  EXPECT_EQ(items.count("bad?name?[31m??gnp.png"), 1u);
}

TEST_F(UploadTest, RejectsLinksAndSpecialEntries) {
  std::string zip = MakeZip({{"cat/a.png", test::TestPng(4, 4, 1)}, {"cat/link.png", "/etc/passwd", ZipEntry::kSymlink}});
  ExpectRejected(images_, {{"links.zip", zip}},
                 "links.zip: entry 'cat/link.png': links, devices and other special entries are not allowed");
}

TEST_F(UploadTest, RejectsAZipBomb) {
  // 32 MiB of zeros deflate to about 32 KB: a ratio near 1000.
  std::string zip = MakeZip({{"cat/bomb.png", std::string(32u << 20, '\0')}});
  ASSERT_LT(zip.size(), 100u << 10);
  ExpectRejected(images_, {{"bomb.zip", zip}}, "bomb.zip: unpacks to more than 200 times its size (a zip bomb?)");
}

TEST_F(UploadTest, EntryLimitHoldsWhateverTheHeadersClaim) {
  UploadLimits limits;
  limits.max_entry_bytes = 1u << 20;
  limits.max_ratio = 1e9;
  std::string zip = MakeZip({{"cat/big.png", std::string(3u << 20, 'x')}});
  ExpectRejected(images_, {{"big.zip", zip}}, "big.zip: entry 'cat/big.png': larger than 1.0 MB uncompressed", limits);
  // The same entry with its central directory claiming 100 bytes.
  std::vector<size_t> central = FindAll(zip, "PK\x01\x02");
  ASSERT_EQ(central.size(), 1u);
  PutLe32(zip, central[0] + 24, 100);
  auto staged = Stage(images_, {{"liar.zip", zip}}, limits);
  ASSERT_FALSE(staged.has_value());
  EXPECT_EQ(staged.error().message(), "liar.zip: entry 'cat/big.png': larger than 1.0 MB uncompressed");
}

TEST_F(UploadTest, EnforcesTheTotalAndFileCountLimits) {
  UploadLimits limits;
  limits.max_total_bytes = 1000;
  ExpectRejected(texts_, {{"a.txt", std::string(600, 'a')}, {"b.txt", std::string(600, 'b')}},
                 "upload: more than 1.0 KB uncompressed in all; split it into smaller uploads", limits);
  ExpectRejected(texts_, {{"t.zip", MakeZip({{"a.txt", std::string(600, 'a')}, {"b.txt", std::string(600, 'b')}})}},
                 "upload: more than 1.0 KB uncompressed in all; split it into smaller uploads", limits);
  limits = {};
  limits.max_files = 3;
  ExpectRejected(texts_, {{"t.zip", MakeZip({{"a.txt", "a"}, {"b.txt", "b"}, {"c.txt", "c"}})}},
                 "upload: more than 3 files (zip entries included); split it into smaller uploads", limits);
  limits.max_entry_bytes = 10;
  ExpectRejected(texts_, {{"long.txt", std::string(11, 'x')}}, "long.txt: larger than 10 B", limits);
}

TEST_F(UploadTest, RejectsBrokenAndNestedArchives) {
  std::string zip = MakeZip({{"cat/a.png", test::TestPng(16, 16, 1)}, {"cat/b.png", test::TestPng(16, 16, 2)}});
  ExpectRejected(images_, {{"cut.zip", zip.substr(0, zip.size() / 2)}},
                 "cut.zip: entry 'cat/b.png': corrupt or truncated (ZIP decompression failed (-5))");
  // Cut anywhere before the central directory, some entry is incomplete.
  // (Cut inside the central directory, every entry is whole and CRC-checked.)
  size_t central = zip.find("PK\x01\x02");
  ASSERT_NE(central, std::string::npos);
  for (size_t cut = 1; cut < central; cut += 17) {
    fs::remove_all(staging_);
    auto truncated = Stage(images_, {{"cut.zip", zip.substr(0, cut)}});
    ASSERT_FALSE(truncated.has_value()) << "cut at " << cut << " of " << zip.size();
    EXPECT_THAT(truncated.error().message(), ::testing::StartsWith("cut.zip")) << "cut at " << cut;
  }

  ExpectRejected(images_, {{"photos.zip", "these are not the bytes of a zip"}},
                 "photos.zip: not a zip archive (Unrecognized archive format)");

  ExpectRejected(images_, {{"outer.zip", MakeZip({{"inner.zip", zip}})}},
                 "outer.zip: entry 'inner.zip': zip archives inside a zip are not allowed; upload them separately");
  ExpectRejected(texts_, {{"outer.zip", MakeZip({{"inner.txt", zip}})}},
                 "outer.zip: entry 'inner.txt': zip archives inside a zip are not allowed; upload them separately");
}

TEST_F(UploadTest, RejectsEncryptedEntries) {
  // A stored zip with the "encrypted" flag (general purpose bit 0) set in
  // its local and central headers: what `zip -e` writes, as far as the
  // reader can tell before it needs the password.
  std::string zip = MakeZip({{"cat/secret.png", test::TestPng(4, 4, 1)}}, /*store=*/true);
  for (size_t at : FindAll(zip, "PK\x03\x04")) zip[at + 6] = static_cast<char>(zip[at + 6] | 1);
  for (size_t at : FindAll(zip, "PK\x01\x02")) zip[at + 8] = static_cast<char>(zip[at + 8] | 1);
  ExpectRejected(images_, {{"locked.zip", zip}},
                 "locked.zip: entry 'cat/secret.png': encrypted entries are not supported; upload the zip without a "
                 "password");
}

TEST_F(UploadTest, NotAnImageNamesTheUploadedFileAndChangesNothing) {
  auto bare = StageAndImport(images_, {{"ok.png", test::TestPng(4, 4, 1)}, {"holiday.png", "just some text"}});
  ASSERT_FALSE(bare.has_value());
  EXPECT_EQ(bare.error().message(), "holiday.png: not a PNG or JPEG image");
  fs::remove_all(staging_);
  std::string zip = MakeZip({{"cat/ok.png", test::TestPng(4, 4, 2)}, {"cat/fake.png", "\x89PNG\r\n\x1a\nthen junk"}});
  auto zipped = StageAndImport(images_, {{"photos.zip", zip}});
  ASSERT_FALSE(zipped.has_value());
  EXPECT_THAT(zipped.error().message(), ::testing::StartsWith("photos.zip/cat/fake.png: "));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM project_items WHERE project_id = ?", {images_.id}), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM items"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM imports"), 0);
}

}  // namespace
}  // namespace fsml
