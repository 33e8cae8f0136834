#include "data/parsers.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace fsml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---------------------------------------------------------------- ParseIdx

TEST(ParseIdxTest, ParsesOneDimensionalLabels) {
  std::string bytes = test::IdxBytes(0x08, {3}, std::string("\x01\x02\x09", 3));
  auto a = ParseIdx(bytes, "labels");
  ASSERT_TRUE(a.has_value()) << a.error().message();
  EXPECT_THAT(a->dims, ElementsAre(3u));
  EXPECT_EQ(a->data, std::string_view("\x01\x02\x09", 3));
  // A view into the input, not a copy.
  EXPECT_EQ(a->data.data(), bytes.data() + 8);
}

TEST(ParseIdxTest, ParsesThreeDimensionalImages) {
  std::string data;
  for (int i = 0; i < 2 * 3 * 4; ++i) data.push_back(static_cast<char>(i));
  std::string bytes = test::IdxBytes(0x08, {2, 3, 4}, data);
  auto a = ParseIdx(bytes, "images");
  ASSERT_TRUE(a.has_value()) << a.error().message();
  EXPECT_THAT(a->dims, ElementsAre(2u, 3u, 4u));
  EXPECT_EQ(a->data, data);
}

TEST(ParseIdxTest, ReadsDimensionsBigEndian) {
  std::string bytes = test::IdxBytes(0x08, {0x00000102, 1}, std::string(0x102, 'x'));
  auto a = ParseIdx(bytes, "f");
  ASSERT_TRUE(a.has_value()) << a.error().message();
  EXPECT_THAT(a->dims, ElementsAre(258u, 1u));
}

TEST(ParseIdxTest, AcceptsEmptyArrayAndRankFour) {
  auto empty = ParseIdx(test::IdxBytes(0x08, {0}, ""), "f");
  ASSERT_TRUE(empty.has_value()) << empty.error().message();
  EXPECT_TRUE(empty->data.empty());
  auto four = ParseIdx(test::IdxBytes(0x08, {1, 2, 1, 2}, "abcd"), "f");
  ASSERT_TRUE(four.has_value()) << four.error().message();
  EXPECT_THAT(four->dims, ElementsAre(1u, 2u, 1u, 2u));
}

TEST(ParseIdxTest, RejectsMalformedFilesNamingThem) {
  struct Case {
    const char* what;
    std::string bytes;
    std::string message;
  };
  std::string rank5 = test::IdxBytes(0x08, {1, 1, 1, 1, 1}, "x");
  const std::vector<Case> cases = {
      {"empty", "", "train-images: too short for an IDX header (0 bytes)"},
      {"3 bytes", std::string("\0\0\x08", 3), "train-images: too short for an IDX header (3 bytes)"},
      {"bad magic byte 0", std::string("\x01\0\x08\x01\0\0\0\0", 8), "train-images: not an IDX file (bad magic)"},
      {"bad magic byte 1", std::string("\0\x01\x08\x01\0\0\0\0", 8), "train-images: not an IDX file (bad magic)"},
      {"png bytes", "\x89PNG\r\n\x1a\n", "train-images: not an IDX file (bad magic)"},
      {"type 0x0D (float)", test::IdxBytes(0x0D, {1}, "abcd"),
       "train-images: IDX data type 0x0D is not supported (only unsigned bytes, 0x08)"},
      {"type 0x09 (signed byte)", test::IdxBytes(0x09, {1}, "a"),
       "train-images: IDX data type 0x09 is not supported (only unsigned bytes, 0x08)"},
      {"type 0xFF", test::IdxBytes(0xFF, {1}, "a"),
       "train-images: IDX data type 0xFF is not supported (only unsigned bytes, 0x08)"},
      {"rank 0", test::IdxBytes(0x08, {}, ""), "train-images: IDX rank 0 is not 1 to 4"},
      {"rank 5", rank5, "train-images: IDX rank 5 is not 1 to 4"},
      {"header cut in the dims", test::IdxBytes(0x08, {2, 2, 2}, "").substr(0, 10),
       "train-images: truncated in the IDX header"},
      {"truncated data", test::IdxBytes(0x08, {2, 2}, "abc"),
       "train-images: truncated: header promises 4 data bytes, file has 3"},
      {"no data at all", test::IdxBytes(0x08, {5}, ""),
       "train-images: truncated: header promises 5 data bytes, file has 0"},
      {"trailing bytes", test::IdxBytes(0x08, {2}, "abc"),
       "train-images: has 1 bytes after the data the header describes"},
      {"huge dims", test::IdxBytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 2}, "x"),
       "train-images: IDX dimensions are implausibly large"},
      // 2^20 * 2^20 * 2^24 = 2^64 wraps to 0 in 64 bits: must not pass as empty.
      {"dims whose product wraps to 0", test::IdxBytes(0x08, {1u << 20, 1u << 20, 1u << 24}, ""),
       "train-images: IDX dimensions are implausibly large"},
      {"just over 2^40", test::IdxBytes(0x08, {1u << 20, (1u << 20) + 1}, ""),
       "train-images: IDX dimensions are implausibly large"},
  };
  for (const Case& c : cases) {
    auto a = ParseIdx(c.bytes, "train-images");
    ASSERT_FALSE(a.has_value()) << c.what << " was accepted";
    EXPECT_EQ(a.error().code(), Code::kInvalidArgument) << c.what;
    EXPECT_EQ(a.error().message(), c.message) << c.what;
  }
}

TEST(ParseIdxTest, NeverReadsPastAnyTruncation) {
  std::string good = test::IdxBytes(0x08, {2, 2, 2}, "abcdefgh");
  for (size_t n = 0; n < good.size(); ++n) {
    auto a = ParseIdx(std::string_view(good).substr(0, n), "f");
    EXPECT_FALSE(a.has_value()) << "truncated to " << n;
  }
}

// ------------------------------------------------------------------- gzip

class GunzipTest : public test::TempDirTest {
 protected:
  std::string Gzip(std::string_view bytes) {
    fs::path f = dir_ / "data.gz";
    test::WriteGzipFile(f, bytes);
    return test::ReadBytes(f);
  }
};

std::string SampleText(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i * 7919 % 1000) + "\n";
  s.resize(n);
  return s;
}

TEST_F(GunzipTest, RoundTripsGzipData) {
  std::string plain = SampleText(300000);
  std::string gz = Gzip(plain);
  ASSERT_LT(gz.size(), plain.size());
  auto out = Gunzip(gz, "data.gz", 1 << 20);
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out, plain);
}

TEST_F(GunzipTest, RoundTripsEmptyPayload) {
  auto out = Gunzip(Gzip(""), "data.gz", 10);
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(*out, "");
}

TEST_F(GunzipTest, AllowsOutputExactlyAtTheLimit) {
  std::string plain = SampleText(5000);
  auto out = Gunzip(Gzip(plain), "data.gz", plain.size());
  ASSERT_TRUE(out.has_value()) << out.error().message();
  EXPECT_EQ(out->size(), plain.size());
}

TEST_F(GunzipTest, RejectsOutputLargerThanTheLimit) {
  std::string plain = SampleText(5000);
  auto out = Gunzip(Gzip(plain), "data.gz", plain.size() - 1);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code(), Code::kInvalidArgument);
  EXPECT_THAT(out.error().message(), StartsWith("data.gz: gzip: decompresses to more than "));
}

TEST_F(GunzipTest, StopsAGzipBombEarly) {
  // 16 MiB of zeros compress to ~16 KiB; the limit stops it at 1 MiB.
  std::string zeros(16u << 20, '\0');
  std::string gz = Gzip(zeros);
  zeros.clear();
  zeros.shrink_to_fit();
  auto out = Gunzip(gz, "bomb.gz", 1 << 20);
  ASSERT_FALSE(out.has_value());
  EXPECT_THAT(out.error().message(), HasSubstr("bomb.gz: gzip: decompresses to more than"));
}

TEST_F(GunzipTest, RejectsTruncatedGzipAtEveryCut) {
  std::string gz = Gzip(SampleText(20000));
  for (size_t cut : {size_t{0}, size_t{5}, size_t{10}, gz.size() / 2, gz.size() - 8, gz.size() - 1}) {
    auto out = Gunzip(std::string_view(gz).substr(0, cut), "data.gz", 1 << 20);
    ASSERT_FALSE(out.has_value()) << "cut at " << cut << " of " << gz.size();
    EXPECT_EQ(out.error().code(), Code::kInvalidArgument);
    EXPECT_THAT(out.error().message(), StartsWith("data.gz: gzip: ")) << "cut at " << cut;
  }
  auto half = Gunzip(std::string_view(gz).substr(0, gz.size() / 2), "data.gz", 1 << 20);
  ASSERT_FALSE(half.has_value());
  EXPECT_EQ(half.error().message(), "data.gz: gzip: truncated");
}

TEST_F(GunzipTest, RejectsCorruptData) {
  std::string gz = Gzip(SampleText(20000));
  gz[gz.size() - 6] ^= 0x55;  // inside the CRC-32 trailer
  auto out = Gunzip(gz, "data.gz", 1 << 20);
  ASSERT_FALSE(out.has_value());
  EXPECT_THAT(out.error().message(), StartsWith("data.gz: gzip: "));
  auto garbage = Gunzip(std::string("\x1f\x8bnot really gzip", 17), "x.gz", 1 << 20);
  ASSERT_FALSE(garbage.has_value());
  EXPECT_THAT(garbage.error().message(), StartsWith("x.gz: gzip: "));
}

TEST_F(GunzipTest, MaybeGunzipDecompressesOnlyGzipData) {
  std::string plain = "not compressed \x1f\x8b";
  auto copy = MaybeGunzip(plain, "plain", 1 << 20);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(*copy, plain);
  auto one = MaybeGunzip("\x1f", "one", 1 << 20);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, "\x1f");
  auto gz = MaybeGunzip(Gzip(plain), "gz", 1 << 20);
  ASSERT_TRUE(gz.has_value()) << gz.error().message();
  EXPECT_EQ(*gz, plain);
  auto bad = MaybeGunzip(std::string("\x1f\x8b", 2), "bad.gz", 1 << 20);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "bad.gz: gzip: truncated");
}

// -------------------------------------------------------------------- CSV

struct CsvRecord {
  uint64_t line;
  std::vector<std::string> fields;
  bool operator==(const CsvRecord&) const = default;
};

void PrintTo(const CsvRecord& r, std::ostream* os) {
  *os << "line " << r.line << ": " << ::testing::PrintToString(r.fields);
}

struct CsvResult {
  Status status;
  std::vector<std::string> header;
  std::vector<CsvRecord> rows;
};

CsvResult Csv(std::string_view text) {
  CsvResult r;
  r.status = ParseCsv(text, "x.csv", &r.header, [&](uint64_t line, const std::vector<std::string>& f) {
    r.rows.push_back({line, f});
    return Status::Ok();
  });
  return r;
}

TEST(ParseCsvTest, ParsesHeaderAndRecords) {
  CsvResult r = Csv("text,label\nhello,a\nworld,b\n");
  FSML_ASSERT_OK(r.status);
  EXPECT_THAT(r.header, ElementsAre("text", "label"));
  EXPECT_THAT(r.rows, ElementsAre(CsvRecord{2, {"hello", "a"}}, CsvRecord{3, {"world", "b"}}));
}

TEST(ParseCsvTest, HandlesQuotingTableDriven) {
  struct Case {
    const char* what;
    std::string text;
    std::vector<CsvRecord> rows;
  };
  const std::vector<Case> cases = {
      {"quoted field with commas", "a,b\n\"x, y, z\",2\n", {{2, {"x, y, z", "2"}}}},
      {"doubled quotes", "a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n", {{2, {"say \"hi\"", "\""}}}},
      {"empty quoted field", "a,b\n\"\",x\n", {{2, {"", "x"}}}},
      {"empty fields", "a,b,c\n,,\n", {{2, {"", "", ""}}}},
      {"embedded newline", "a,b\n\"one\ntwo\",x\nnext,y\n", {{2, {"one\ntwo", "x"}}, {4, {"next", "y"}}}},
      {"two embedded newlines",
       "a,b\n\"1\n2\n3\",x\n\"p\nq\",y\nz,z\n",
       {{2, {"1\n2\n3", "x"}}, {5, {"p\nq", "y"}}, {7, {"z", "z"}}}},
      {"CRLF line ends", "a,b\r\n1,2\r\n3,4\r\n", {{2, {"1", "2"}}, {3, {"3", "4"}}}},
      {"CRLF inside quotes is kept", "a,b\r\n\"x\r\ny\",1\r\nz,2\r\n", {{2, {"x\r\ny", "1"}}, {4, {"z", "2"}}}},
      {"byte order mark",
       "\xEF\xBB\xBF"
       "a,b\n1,2\n",
       {{2, {"1", "2"}}}},
      {"blank lines skipped", "a,b\n\n1,2\n\n\n3,4\n\n", {{3, {"1", "2"}}, {6, {"3", "4"}}}},
      {"blank CRLF lines skipped", "a,b\r\n\r\n1,2\r\n", {{3, {"1", "2"}}}},
      {"no final newline", "a,b\n1,2", {{2, {"1", "2"}}}},
      {"header only", "a,b\n", {}},
      {"spaces kept", "a,b\n x , y \n", {{2, {" x ", " y "}}}},
      {"UTF-8 bytes kept", "a\nnaïve ☃\n", {{2, {"naïve ☃"}}}},
  };
  for (const Case& c : cases) {
    CsvResult r = Csv(c.text);
    EXPECT_TRUE(r.status.ok()) << c.what << ": " << r.status.message();
    EXPECT_EQ(r.rows, c.rows) << c.what;
  }
}

TEST(ParseCsvTest, StripsByteOrderMarkFromFirstHeader) {
  CsvResult r = Csv("\xEF\xBB\xBFtext,label\nx,y\n");
  FSML_ASSERT_OK(r.status);
  EXPECT_THAT(r.header, ElementsAre("text", "label"));
}

TEST(ParseCsvTest, SkipsBlankLinesBeforeTheHeader) {
  CsvResult r = Csv("\n\ntext\nx\n");
  FSML_ASSERT_OK(r.status);
  EXPECT_THAT(r.header, ElementsAre("text"));
  EXPECT_THAT(r.rows, ElementsAre(CsvRecord{4, {"x"}}));
}

TEST(ParseCsvTest, RejectsMalformedInputNamingTheLine) {
  struct Case {
    const char* what;
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"too many fields", "a,b\n1,2\n1,2,3\n", "x.csv: line 3: 3 fields, the header has 2"},
      {"too few fields", "a,b,c\n1,2\n", "x.csv: line 2: 2 fields, the header has 3"},
      {"field count after an embedded newline", "a,b\n\"x\ny\",1\n1,2,3\n",
       "x.csv: line 4: 3 fields, the header has 2"},
      {"unterminated quote", "a,b\n\"oops,2\n3,4\n", "x.csv: line 2: unterminated quoted field"},
      {"unterminated quote in header", "\"a,b\n", "x.csv: line 1: unterminated quoted field"},
      {"stray quote", "a,b\n1,x\"y\n", "x.csv: line 2: a quote inside an unquoted field (quote the whole field)"},
      {"stray quote after embedded newline", "a,b\n\"p\nq\",1\n2,x\"\n",
       "x.csv: line 4: a quote inside an unquoted field (quote the whole field)"},
      {"text after closing quote", "a,b\n\"x\"y,2\n", "x.csv: line 2: unexpected character after a closing quote"},
      {"empty file", "", "x.csv: empty file (no header row)"},
      {"only a byte order mark", "\xEF\xBB\xBF", "x.csv: empty file (no header row)"},
      {"only blank lines", "\n\r\n\n", "x.csv: empty file (no header row)"},
  };
  for (const Case& c : cases) {
    CsvResult r = Csv(c.text);
    ASSERT_FALSE(r.status.ok()) << c.what << " was accepted";
    EXPECT_EQ(r.status.code(), Code::kInvalidArgument) << c.what;
    EXPECT_EQ(r.status.message(), c.message) << c.what;
  }
}

TEST(ParseCsvTest, RejectsRecordsOverOneMebibyte) {
  std::string text = "a\n" + std::string((1 << 20) + 10, 'x') + "\n";
  CsvResult r = Csv(text);
  EXPECT_EQ(r.status.message(), "x.csv: line 2: record longer than 1 MiB");
  EXPECT_TRUE(r.rows.empty());
}

TEST(ParseCsvTest, StopsAtTheFirstCallbackError) {
  std::vector<std::string> header;
  int calls = 0;
  Status s = ParseCsv("a\n1\n2\n3\n", "x.csv", &header, [&](uint64_t line, const std::vector<std::string>&) {
    ++calls;
    return line == 3 ? InvalidArgument("stop at line 3") : Status::Ok();
  });
  EXPECT_EQ(s.message(), "stop at line 3");
  EXPECT_EQ(calls, 2);
}

// ------------------------------------------------------------------ JSONL

struct JsonlResult {
  Status status;
  std::vector<std::pair<uint64_t, nlohmann::json>> objects;
};

JsonlResult Jsonl(std::string_view text) {
  JsonlResult r;
  r.status = ParseJsonl(text, "d.jsonl", [&](uint64_t line, const nlohmann::json& obj) {
    r.objects.emplace_back(line, obj);
    return Status::Ok();
  });
  return r;
}

TEST(ParseJsonlTest, CallsBackWithLineNumbersSkippingBlankLines) {
  JsonlResult r = Jsonl("{\"a\":1}\n\n{\"a\":2}\r\n   \n\t\n{\"a\":3, \"s\": \"x\\ny\"}");
  FSML_ASSERT_OK(r.status);
  ASSERT_EQ(r.objects.size(), 3u);
  EXPECT_EQ(r.objects[0].first, 1u);
  EXPECT_EQ(r.objects[0].second["a"], 1);
  EXPECT_EQ(r.objects[1].first, 3u);
  EXPECT_EQ(r.objects[1].second["a"], 2);
  EXPECT_EQ(r.objects[2].first, 6u);
  EXPECT_EQ(r.objects[2].second["s"], "x\ny");
}

TEST(ParseJsonlTest, AcceptsEmptyInput) {
  for (const char* text : {"", "\n", "\n\n  \n"}) {
    JsonlResult r = Jsonl(text);
    FSML_EXPECT_OK(r.status);
    EXPECT_TRUE(r.objects.empty());
  }
}

TEST(ParseJsonlTest, RejectsBadLinesNamingThem) {
  struct Case {
    const char* what;
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"invalid JSON", "{}\n{bad\n", "d.jsonl: line 2: not valid JSON"},
      {"two objects on a line", "{} {}\n", "d.jsonl: line 1: not valid JSON"},
      {"object split over lines", "{\"a\":\n1}\n", "d.jsonl: line 1: not valid JSON"},
      {"invalid after blank lines", "\n\n{\"a\":1}\n\n[\n", "d.jsonl: line 5: not valid JSON"},
      {"invalid UTF-8", "{\"a\":\"\xff\"}\n", "d.jsonl: line 1: not valid JSON"},
      {"array", "[1,2]\n", "d.jsonl: line 1: expected a JSON object, got array"},
      {"string", "{}\n\"s\"\n", "d.jsonl: line 2: expected a JSON object, got string"},
      {"number", "3", "d.jsonl: line 1: expected a JSON object, got number"},
      {"null", "null", "d.jsonl: line 1: expected a JSON object, got null"},
      {"boolean", "true", "d.jsonl: line 1: expected a JSON object, got boolean"},
  };
  for (const Case& c : cases) {
    JsonlResult r = Jsonl(c.text);
    ASSERT_FALSE(r.status.ok()) << c.what << " was accepted";
    EXPECT_EQ(r.status.code(), Code::kInvalidArgument) << c.what;
    EXPECT_EQ(r.status.message(), c.message) << c.what;
  }
}

TEST(ParseJsonlTest, StopsAtTheFirstCallbackError) {
  int calls = 0;
  Status s = ParseJsonl("{}\n{}\n{}\n", "d.jsonl", [&](uint64_t line, const nlohmann::json&) {
    ++calls;
    return line == 2 ? NotFound("stop") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(calls, 2);
}

// -------------------------------------------------------------- UTF-8

TEST(IsValidUtf8Test, ClassifiesSequencesTableDriven) {
  struct Case {
    const char* what;
    std::string bytes;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"empty", "", true},
      {"ASCII", "hello, world", true},
      {"NUL byte", std::string("a\0b", 3), true},
      {"2-byte é", "\xC3\xA9", true},
      {"3-byte €", "\xE2\x82\xAC", true},
      {"4-byte emoji", "\xF0\x9F\x98\x80", true},
      {"mixed", "naïve ☃ 😀 ok", true},
      {"smallest 2-byte U+0080", "\xC2\x80", true},
      {"smallest 3-byte U+0800", "\xE0\xA0\x80", true},
      {"smallest 4-byte U+10000", "\xF0\x90\x80\x80", true},
      {"U+D7FF before surrogates", "\xED\x9F\xBF", true},
      {"U+E000 after surrogates", "\xEE\x80\x80", true},
      {"U+FFFF", "\xEF\xBF\xBF", true},
      {"U+10FFFF", "\xF4\x8F\xBF\xBF", true},
      {"overlong NUL C0 80", "\xC0\x80", false},
      {"overlong C1 BF", "\xC1\xBF", false},
      {"overlong 3-byte E0 80 80", "\xE0\x80\x80", false},
      {"overlong 3-byte U+07FF", "\xE0\x9F\xBF", false},
      {"overlong 4-byte F0 80 80 80", "\xF0\x80\x80\x80", false},
      {"overlong 4-byte U+FFFF", "\xF0\x8F\xBF\xBF", false},
      {"surrogate U+D800", "\xED\xA0\x80", false},
      {"surrogate U+DFFF", "\xED\xBF\xBF", false},
      {"truncated 2-byte", "\xC3", false},
      {"truncated 3-byte", "\xE2\x82", false},
      {"truncated 4-byte", "\xF0\x9F\x98", false},
      {"truncated at end after text", "abc\xE2\x82", false},
      {"bad continuation", "\xC3\x41", false},
      {"bad continuation in 4-byte", "\xF0\x9F\x41\x80", false},
      {"lone continuation", "\x80", false},
      {"U+110000", "\xF4\x90\x80\x80", false},
      {"F5 lead", "\xF5\x80\x80\x80", false},
      {"F8 lead (5-byte form)", "\xF8\x88\x80\x80\x80", false},
      {"FE", "\xFE", false},
      {"FF", "\xFF", false},
  };
  for (const Case& c : cases) EXPECT_EQ(IsValidUtf8(c.bytes), c.valid) << c.what;
}

}  // namespace
}  // namespace fsml
