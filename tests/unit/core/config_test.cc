#include "core/config.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsml {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Dotted(const ConfigKey& k) { return std::string(k.section) + "." + k.key; }

std::string EnvNameFor(const ConfigKey& k) {
  std::string name = "FSML_";
  for (const char* p : {k.section, "_", k.key})
    for (const char* c = p; *c; ++c) name.push_back(static_cast<char>(std::toupper(*c)));
  return name;
}

// Clears every FSML_<SECTION>_<KEY> variable for the test (so the caller's
// environment cannot leak in) and restores them afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& k : KnownConfigKeys()) {
      std::string name = EnvNameFor(k);
      const char* v = std::getenv(name.c_str());
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name.c_str());
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }

  static Config MustParse(std::string_view toml) {
    Result<Config> c = Config::Parse(toml, "fsml.toml");
    EXPECT_TRUE(c.has_value()) << c.error().message();
    return c ? *c : Config::Defaults();
  }
  static Status ParseError(std::string_view toml) {
    Result<Config> c = Config::Parse(toml, "fsml.toml");
    if (c) return Status::Ok();
    return c.error();
  }

  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(ConfigTest, KnownKeysAreUniqueAndDocumented) {
  std::set<std::string> seen;
  for (const auto& k : KnownConfigKeys()) {
    EXPECT_TRUE(seen.insert(Dotted(k)).second) << Dotted(k);
    EXPECT_STRNE(k.help, "") << Dotted(k);
  }
  EXPECT_EQ(seen.size(), 15u);
}

TEST_F(ConfigTest, DefaultsHaveDocumentedValues) {
  Config c = Config::Defaults();
  EXPECT_EQ(c.Get("store.meta"), "sqlite://.fsml/meta.db");
  EXPECT_EQ(c.Get("store.blobs"), "file://.fsml/objects");
  EXPECT_EQ(c.Get("store.small_object_bytes"), "131072");
  EXPECT_EQ(c.Get("queue.url"), "embedded");
  EXPECT_EQ(c.Get("queue.max_attempts"), "5");
  EXPECT_EQ(c.Get("server.listen"), "127.0.0.1:8080");
  EXPECT_EQ(c.Get("server.workers"), "1");
  EXPECT_EQ(c.Get("server.max_batch"), "32");
  EXPECT_EQ(c.Get("server.max_delay_ms"), "2");
  EXPECT_EQ(c.Get("log.level"), "info");
  EXPECT_EQ(c.Get("user.name"), "");
  for (const auto& k : KnownConfigKeys()) {
    EXPECT_EQ(c.Origin(Dotted(k)), "default") << Dotted(k);
  }
  EXPECT_EQ(c.values().size(), KnownConfigKeys().size());
}

TEST_F(ConfigTest, ParsesValidFileAndKeepsDefaultsForMissingKeys) {
  Config c = MustParse(R"(
# comment
[store]
meta = "sqlite:///var/fsml/meta.db"
small_object_bytes = 4096

[log]
level = "debug"
)");
  EXPECT_EQ(c.Get("store.meta"), "sqlite:///var/fsml/meta.db");
  EXPECT_EQ(c.Origin("store.meta"), "fsml.toml");
  EXPECT_EQ(c.Get("store.small_object_bytes"), "4096");
  EXPECT_EQ(c.Origin("store.small_object_bytes"), "fsml.toml");
  EXPECT_EQ(c.Get("log.level"), "debug");
  EXPECT_EQ(c.Get("store.blobs"), "file://.fsml/objects");
  EXPECT_EQ(c.Origin("store.blobs"), "default");
  EXPECT_EQ(c.Get("server.listen"), "127.0.0.1:8080");
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  Config c = MustParse("");
  EXPECT_EQ(c.values(), Config::Defaults().values());
}

TEST_F(ConfigTest, BooleanValueIsStoredAsTrueOrFalse) {
  Config c = MustParse("[user]\nname = true\n[log]\nlevel = false\n");
  EXPECT_EQ(c.Get("user.name"), "true");
  EXPECT_EQ(c.Get("log.level"), "false");
}

TEST_F(ConfigTest, NegativeIntegerIsStoredAsDecimal) {
  Config c = MustParse("[store]\nsmall_object_bytes = -1\n");
  EXPECT_EQ(c.Get("store.small_object_bytes"), "-1");
}

TEST_F(ConfigTest, EnvironmentOverridesFileValue) {
  ::setenv("FSML_STORE_META", "sqlite:///from/env.db", 1);
  Config c = MustParse("[store]\nmeta = \"sqlite://file.db\"\n");
  EXPECT_EQ(c.Get("store.meta"), "sqlite:///from/env.db");
  EXPECT_EQ(c.Origin("store.meta"), "env FSML_STORE_META");
}

TEST_F(ConfigTest, EnvironmentOverridesDefault) {
  ::setenv("FSML_STORE_SMALL_OBJECT_BYTES", "1024", 1);
  ::setenv("FSML_LOG_LEVEL", "warn", 1);
  Config c = Config::Defaults();
  EXPECT_EQ(c.Get("store.small_object_bytes"), "1024");
  EXPECT_EQ(c.Origin("store.small_object_bytes"), "env FSML_STORE_SMALL_OBJECT_BYTES");
  EXPECT_EQ(c.Get("log.level"), "warn");
  EXPECT_EQ(c.Origin("log.level"), "env FSML_LOG_LEVEL");
  EXPECT_EQ(c.Origin("store.meta"), "default");
}

TEST_F(ConfigTest, EmptyEnvironmentValueStillOverrides) {
  ::setenv("FSML_SERVER_LISTEN", "", 1);
  Config c = MustParse("[server]\nlisten = \"0.0.0.0:80\"\n");
  EXPECT_EQ(c.Get("server.listen"), "");
  EXPECT_EQ(c.Origin("server.listen"), "env FSML_SERVER_LISTEN");
}

TEST_F(ConfigTest, UnrelatedFsmlEnvironmentVariablesAreIgnored) {
  ::setenv("FSML_NOT_A_KEY", "x", 1);
  Config c = Config::Defaults();
  ::unsetenv("FSML_NOT_A_KEY");
  EXPECT_EQ(c.values(), MustParse("").values());
  EXPECT_EQ(c.values().count("not.a_key"), 0u);
}

TEST_F(ConfigTest, UnknownSectionIsErrorNamingTheLine) {
  Status s = ParseError("[store]\nmeta = \"a\"\n\n[stroe]\nblobs = \"b\"\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "fsml.toml: line 4: unknown section [stroe]");
}

TEST_F(ConfigTest, TopLevelScalarIsUnknownSection) {
  Status s = ParseError("\nstore = \"x\"\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "fsml.toml: line 2: unknown section [store]");
}

TEST_F(ConfigTest, UnknownKeyIsErrorNamingTheLineAndSection) {
  Status s = ParseError("[store]\nmeta = \"a\"\nmetaa = \"b\"\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "fsml.toml: line 3: unknown key 'metaa' in [store]");
}

TEST_F(ConfigTest, KeyOfAnotherSectionIsUnknown) {
  Status s = ParseError("[log]\nlevel = \"info\"\nlisten = \"x\"\n");
  EXPECT_EQ(s.message(), "fsml.toml: line 3: unknown key 'listen' in [log]");
}

TEST_F(ConfigTest, SyntaxErrorNamesTheLine) {
  Status s = ParseError("[store]\nmeta = \"a\"\nblobs = \n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith("fsml.toml: line 3: "));
  EXPECT_GT(s.message().size(), std::string("fsml.toml: line 3: ").size());  // the parser's reason
}

TEST_F(ConfigTest, UnterminatedStringNamesTheLine) {
  Status s = ParseError("[log]\nlevel = \"info\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith("fsml.toml: line 2: "));
}

TEST_F(ConfigTest, ArrayValueIsRejected) {
  Status s = ParseError("[store]\n\nmeta = [\"a\", \"b\"]\n");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "fsml.toml: line 3: 'store.meta' must be a string, integer or boolean");
}

TEST_F(ConfigTest, InlineTableValueIsRejected) {
  Status s = ParseError("[server]\nlisten = { host = \"a\" }\n");
  EXPECT_EQ(s.message(), "fsml.toml: line 2: 'server.listen' must be a string, integer or boolean");
}

TEST_F(ConfigTest, FloatValueIsRejected) {
  Status s = ParseError("[store]\nsmall_object_bytes = 1.5\n");
  EXPECT_EQ(s.message(),
            "fsml.toml: line 2: 'store.small_object_bytes' must be a string, integer or boolean");
  Status whole = ParseError("[store]\nsmall_object_bytes = 2.0\n");
  EXPECT_EQ(whole.message(),
            "fsml.toml: line 2: 'store.small_object_bytes' must be a string, integer or boolean");
}

TEST_F(ConfigTest, ErrorsUseTheSourceName) {
  Result<Config> c = Config::Parse("[nope]\n", "/ws/fsml.toml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(), "/ws/fsml.toml: line 1: unknown section [nope]");
}

TEST_F(ConfigTest, DefaultTomlParsesBackToDefaults) {
  std::string text = Config::DefaultToml();
  Config c = MustParse(text);
  EXPECT_EQ(c.values(), Config::Defaults().values());
  // Every key is written out, so every value now comes from the file.
  for (const auto& k : KnownConfigKeys()) EXPECT_EQ(c.Origin(Dotted(k)), "fsml.toml") << Dotted(k);
}

TEST_F(ConfigTest, DefaultTomlDocumentsEveryKey) {
  std::string text = Config::DefaultToml();
  EXPECT_THAT(text, HasSubstr("FSML_STORE_META"));
  for (const auto& k : KnownConfigKeys()) {
    EXPECT_THAT(text, HasSubstr(std::string("# ") + k.help + "\n" + k.key + " = ")) << Dotted(k);
  }
  EXPECT_THAT(text, HasSubstr("small_object_bytes = 131072\n"));  // an integer, not a string
  EXPECT_THAT(text, HasSubstr("name = \"\"\n"));
}

TEST_F(ConfigTest, DefaultTomlWithValuesWritesThemQuotedAndParsesBack) {
  // A value with quotes, backslashes and a newline stays one TOML string.
  const std::string hostile = "s3://b/p?endpoint=http://h:1\"\n[queue]\nurl = \\x";
  std::string text = Config::DefaultToml({{"store.meta", "postgresql://u@h:5432/db"}, {"store.blobs", hostile}});
  Config c = MustParse(text);
  EXPECT_EQ(c.Get("store.meta"), "postgresql://u@h:5432/db");
  EXPECT_EQ(c.Get("store.blobs"), hostile);
  EXPECT_EQ(c.Get("queue.url"), "embedded");  // the injected section did not take
}

TEST_F(ConfigTest, EnvironmentIsAppliedUnlessTurnedOff) {
  ::setenv("FSML_STORE_META", "postgresql://from-env/db", 1);
  Result<Config> with = Config::Parse("[store]\nmeta = \"sqlite://file.db\"\n", "target.toml");
  Result<Config> without = Config::Parse("[store]\nmeta = \"sqlite://file.db\"\n", "target.toml", false);
  ::unsetenv("FSML_STORE_META");
  ASSERT_TRUE(with.has_value());
  ASSERT_TRUE(without.has_value());
  EXPECT_EQ(with->Get("store.meta"), "postgresql://from-env/db");
  EXPECT_EQ(without->Get("store.meta"), "sqlite://file.db");
  EXPECT_EQ(without->Origin("store.meta"), "target.toml");
}

class ConfigFileTest : public ConfigTest {
 protected:
  void SetUp() override {
    ConfigTest::SetUp();
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("fsml_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(std::filesystem::create_directories(dir_));
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    ConfigTest::TearDown();
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, LoadReadsFileAndNamesItInErrors) {
  std::filesystem::path p = dir_ / "fsml.toml";
  {
    std::ofstream out(p);
    out << "[log]\nlevel = \"error\"\n";
  }
  Result<Config> c = Config::Load(p.string());
  ASSERT_TRUE(c.has_value()) << c.error().message();
  EXPECT_EQ(c->Get("log.level"), "error");
  EXPECT_EQ(c->Origin("log.level"), p.string());

  {
    std::ofstream out(p);
    out << "[log]\nlevl = \"error\"\n";
  }
  Result<Config> bad = Config::Load(p.string());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), p.string() + ": line 2: unknown key 'levl' in [log]");
}

TEST_F(ConfigFileTest, LoadOfMissingFileIsNotFound) {
  std::filesystem::path p = dir_ / "fsml.toml";
  Result<Config> c = Config::Load(p.string());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kNotFound);
  EXPECT_EQ(c.error().message(), p.string() + ": no such file");
}

}  // namespace
}  // namespace fsml
