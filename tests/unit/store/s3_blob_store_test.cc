// The BlobStore contract on a real S3-compatible server, plus the S3 store's
// own behaviour: URL forms, credentials, faults, interoperability with the
// AWS CLI and boto3.
//
// Needs FSML_TEST_S3_ENDPOINT (e.g. http://127.0.0.1:4566 for a server such
// as `python3 -m moto.server -H 127.0.0.1 -p 4566`); the server tests skip
// without it. The S3ParsersTest and S3UrlTest cases need no server. Each
// server test creates its own bucket. Fault tests put
// tests/integration/s3_fault_proxy.py (FSML_S3_FAULT_PROXY) between the store
// and the server, on a free port.
#include "store/s3_blob_store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/sha256.h"
#include "store/s3_parsers.h"

extern char** environ;

namespace fsml {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The secret the tests use: no message, log line or Describe() may show it.
constexpr char kSecret[] = "fsmlTestSecret/Never+Shown1234";
constexpr char kOtherSecret[] = "fsmlOtherSecret/Also+Hidden5678";

// Deterministic bytes: same (size, seed), same content.
std::string Bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

fs::path MakeTestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / ("fsml_" + std::string(info->test_suite_name()) + "_" +
                                                   info->name() + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Credentials from the environment only, as a CI job would have them.
void UseTestEnvironment(const fs::path& dir) {
  setenv("AWS_ACCESS_KEY_ID", "test", 1);
  setenv("AWS_SECRET_ACCESS_KEY", kSecret, 1);
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("AWS_PROFILE");
  setenv("AWS_REGION", "us-east-1", 1);
  setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", (dir / "no-credentials-file").c_str(), 1);
  setenv("AWS_CONFIG_FILE", (dir / "no-config-file").c_str(), 1);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << p;
}

// Runs `command` with sh; returns its exit status and stdout (stderr goes to
// `stderr_file`).
std::pair<int, std::string> RunCommand(const std::string& command, const fs::path& stderr_file) {
  std::string full = command + " 2>" + stderr_file.string();
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return {-1, ""};
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

size_t AppendToString(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A plain HTTP call to the fault proxy's control paths.
std::string HttpCall(const std::string& method, const std::string& url, const std::string& body) {
  CURL* h = curl_easy_init();
  std::string out;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  EXPECT_EQ(rc, CURLE_OK) << method << " " << url;
  EXPECT_EQ(status, 200) << method << " " << url << ": " << out;
  return out;
}

// tests/integration/s3_fault_proxy.py in front of `upstream`, on a free port,
// for the life of the object.
class FaultProxy {
 public:
  FaultProxy(const std::string& upstream, const std::vector<std::string>& flags, const fs::path& dir) {
    fs::path port_file = dir / ("proxy-port-" + std::to_string(counter_++));
    std::vector<std::string> args = {"/usr/bin/python3", FSML_S3_FAULT_PROXY, "--upstream", upstream,
                                     "--port",           "0",                 "--port-file", port_file.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      ADD_FAILURE() << "cannot start " << FSML_S3_FAULT_PROXY << ": " << std::strerror(rc);
      return;
    }
    for (int i = 0; i < 300 && port_ == 0; ++i) {
      std::ifstream in(port_file);
      if (!(in >> port_)) {
        port_ = 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (port_ == 0) ADD_FAILURE() << "the fault proxy did not start in 15 s";
  }
  ~FaultProxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  bool ok() const { return port_ != 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void SetFaults(const nlohmann::json& faults) { HttpCall("POST", url() + "/__fault", faults.dump()); }
  nlohmann::json Stats() { return nlohmann::json::parse(HttpCall("GET", url() + "/__stats", "")); }
  void ResetStats() { HttpCall("POST", url() + "/__reset_stats", ""); }
  // Requests whose "METHOD /path?query" line contains `needle`.
  int CountLogged(std::string_view needle) {
    nlohmann::json stats = Stats();
    int n = 0;
    for (const auto& line : stats["log"]) n += line.get<std::string>().find(needle) != std::string::npos;
    return n;
  }

 private:
  static inline int counter_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
};

// ------------------------------------------------------------- no server

// URL forms, credentials and Describe(): nothing here sends a request
// except UnreachableEndpointIsUnavailableAfterRetries (to a closed port).
class S3UrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTestDir();
    UseTestEnvironment(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Status OpenError(const std::string& url, const S3Credentials* creds = nullptr) {
    auto r = OpenS3BlobStore(url, creds);
    EXPECT_FALSE(r.has_value()) << url << " opened";
    return r ? Status::Ok() : r.error();
  }
  void ExpectInvalid(const std::string& url, const std::string& message) {
    Status s = OpenError(url);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << url << ": " << s.ToString();
    EXPECT_EQ(s.message(), message);
  }

  fs::path dir_;
};

TEST_F(S3UrlTest, UnknownQueryKeyIsInvalidArgumentNamingIt) {
  ExpectInvalid("s3://bkt/p?endpoint=http://127.0.0.1:9&regoin=us-east-1",
                "store.blobs 's3://bkt/p?endpoint=http://127.0.0.1:9&regoin=us-east-1': unknown option 'regoin' "
                "(known: endpoint, region, style, profile, multipart_mb, timeout_s)");
  ExpectInvalid("s3://bkt?region=a&region=b",
                "store.blobs 's3://bkt?region=a&region=b': option 'region' is given twice");
}

TEST_F(S3UrlTest, BadBucketNamesAreInvalidArgumentNamingTheRule) {
  const std::map<std::string, std::string> cases = {
      {"ab", "it must be 3 to 63 characters long"},
      {std::string(64, 'a'), "it must be 3 to 63 characters long"},
      {"My-Bucket", "only lower-case letters, digits, '.' and '-' are allowed"},
      {"my_bucket", "only lower-case letters, digits, '.' and '-' are allowed"},
      {"-bucket", "it must begin and end with a letter or digit"},
      {"bucket.", "it must begin and end with a letter or digit"},
      {"my..bucket", "it must not have two adjacent periods"},
      {"my.-bucket", "a period must not be next to a hyphen"},
      {"192.168.1.10", "it must not look like an IP address"},
      {"xn--bucket", "it must not start with 'xn--' or 'sthree-'"},
      {"bucket-s3alias", "it must not end with '-s3alias' or '--ol-s3'"},
  };
  for (const auto& [bucket, why] : cases) {
    ExpectInvalid("s3://" + bucket + "/p", "store.blobs 's3://" + bucket + "/p': bucket name '" + bucket +
                                               "' is not valid: " + why);
  }
  ExpectInvalid("s3:///p", "store.blobs 's3:///p': no bucket (expected s3://BUCKET[/PREFIX])");
  ExpectInvalid("s3://", "store.blobs 's3://': no bucket (expected s3://BUCKET[/PREFIX])");
}

TEST_F(S3UrlTest, PrefixWithDotDotOrEmptySegmentIsInvalidArgument) {
  ExpectInvalid("s3://bkt/a/../b", "store.blobs 's3://bkt/a/../b': prefix 'a/../b' has a '..' segment");
  ExpectInvalid("s3://bkt/..", "store.blobs 's3://bkt/..': prefix '..' has a '..' segment");
  ExpectInvalid("s3://bkt/a/./b", "store.blobs 's3://bkt/a/./b': prefix 'a/./b' has a '.' segment");
  ExpectInvalid("s3://bkt/a//b", "store.blobs 's3://bkt/a//b': prefix 'a//b' has an empty segment");
  ExpectInvalid("s3://bkt//a", "store.blobs 's3://bkt//a': prefix '/a' has an empty segment");
}

TEST_F(S3UrlTest, BadOptionValuesAreInvalidArgument) {
  ExpectInvalid("s3://bkt?multipart_mb=4", "store.blobs 's3://bkt?multipart_mb=4': multipart_mb '4' is not a number "
                                           "from 5 to 5120");
  ExpectInvalid("s3://bkt?multipart_mb=x", "store.blobs 's3://bkt?multipart_mb=x': multipart_mb 'x' is not a number "
                                           "from 5 to 5120");
  ExpectInvalid("s3://bkt?timeout_s=0", "store.blobs 's3://bkt?timeout_s=0': timeout_s '0' is not a number from 1 "
                                        "to 3600");
  ExpectInvalid("s3://bkt?style=dns", "store.blobs 's3://bkt?style=dns': style 'dns' is not path or virtual");
  ExpectInvalid("s3://bkt?region=US_EAST", "store.blobs 's3://bkt?region=US_EAST': region 'US_EAST' is not a "
                                           "region name");
  Status s = OpenError("s3://bkt?endpoint=ftp://host");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "store.blobs 's3://bkt?endpoint=ftp://host': endpoint 'ftp://host': the scheme is not "
                         "http or https (expected http://HOST[:PORT] or https://HOST[:PORT])");
  s = OpenError("s3://bkt?endpoint=http://host:1/path");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("it has a path"));
}

TEST_F(S3UrlTest, DescribeNamesBucketPrefixAndEndpoint) {
  auto a = OpenS3BlobStore("s3://bkt/team/data?endpoint=http://127.0.0.1:9", nullptr);
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  EXPECT_EQ((*a)->Describe(), "s3://bkt/team/data at http://127.0.0.1:9");
  auto b = OpenS3BlobStore("s3://bkt/team/", nullptr);  // a trailing slash is dropped
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  EXPECT_EQ((*b)->Describe(), "s3://bkt/team at https://s3.us-east-1.amazonaws.com");
  setenv("AWS_REGION", "eu-west-1", 1);
  auto c = OpenS3BlobStore("s3://bkt", nullptr);
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ((*c)->Describe(), "s3://bkt at https://s3.eu-west-1.amazonaws.com");
  auto d = OpenS3BlobStore("s3://bkt?region=ap-south-1", nullptr);  // the URL wins over the environment
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ((*d)->Describe(), "s3://bkt at https://s3.ap-south-1.amazonaws.com");
}

TEST_F(S3UrlTest, OpenBlobStoreDispatchesS3Urls) {
  auto r = OpenBlobStore("s3://bkt/p?endpoint=http://127.0.0.1:9", dir_.string(), 1024);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ((*r)->Describe(), "s3://bkt/p at http://127.0.0.1:9");
  auto bad = OpenBlobStore("s3://BKT", dir_.string(), 1024);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
}

TEST_F(S3UrlTest, NoCredentialsAnywhereIsFailedPreconditionSayingWhereItLooked) {
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  Status s = OpenError("s3://bkt?endpoint=http://127.0.0.1:9");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "store.blobs 's3://bkt?endpoint=http://127.0.0.1:9': no S3 credentials found. Looked at: "
                         "the configuration (none given); $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY (not set); "
                         "profile 'default' in " +
                             (dir_ / "no-credentials-file").string() +
                             " (cannot be read). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add the "
                             "profile to the credentials file");

  // Without AWS_SHARED_CREDENTIALS_FILE it reads ~/.aws/credentials.
  unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  setenv("HOME", dir_.c_str(), 1);
  setenv("AWS_PROFILE", "ci", 1);
  s = OpenError("s3://bkt");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("profile 'ci' in " + (dir_ / ".aws/credentials").string() + " (cannot be read)"));
}

TEST_F(S3UrlTest, HalfSetEnvironmentCredentialsAreAnError) {
  unsetenv("AWS_SECRET_ACCESS_KEY");
  Status s = OpenError("s3://bkt");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "store.blobs 's3://bkt': AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
}

TEST_F(S3UrlTest, CredentialsFileProfilesAreFoundAndTheirSecretsNeverShown) {
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  fs::path file = dir_ / "credentials";
  WriteFile(file, std::string("# comment\n[default]\naws_access_key_id = def-id\naws_secret_access_key = ") + kSecret +
                      "\n\n[broken]\naws_access_key_id = only-id\n");
  setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  auto ok = OpenS3BlobStore("s3://bkt?endpoint=http://127.0.0.1:9", nullptr);
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_THAT((*ok)->Describe(), Not(HasSubstr(kSecret)));

  Status missing = OpenError("s3://bkt?profile=nope");
  EXPECT_EQ(missing.code(), Code::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("profile 'nope' in " + file.string() + " (no [nope] section)"));
  Status broken = OpenError("s3://bkt?profile=broken");
  EXPECT_EQ(broken.code(), Code::kFailedPrecondition);
  EXPECT_EQ(broken.message(), "store.blobs 's3://bkt?profile=broken': profile 'broken' in " + file.string() +
                                  " lacks aws_access_key_id or aws_secret_access_key");
  for (const Status& s : {missing, broken}) EXPECT_THAT(s.message(), Not(HasSubstr(kSecret)));
}

TEST_F(S3UrlTest, ConfiguredCredentialsWithoutSecretAreAnError) {
  S3Credentials creds{"id-only", "", ""};
  Status s = OpenError("s3://bkt", &creds);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "store.blobs 's3://bkt': the configured S3 credentials have no secret access key");
  S3Credentials secret_only{"", kSecret, ""};
  s = OpenError("s3://bkt", &secret_only);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "store.blobs 's3://bkt': the configured S3 credentials have no access key id");
  S3Credentials empty;  // empty counts as none configured: the environment's are used
  auto r = OpenS3BlobStore("s3://bkt", &empty);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
}

TEST_F(S3UrlTest, MalformedKeysAreInvalidArgumentBeforeAnyRequest) {
  auto r = OpenS3BlobStore("s3://bkt?endpoint=http://127.0.0.1:9", nullptr);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  for (const std::string& key : {std::string("abc"), std::string(64, 'g'), std::string(63, 'a'), std::string()}) {
    auto got = (*r)->Get(key);
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(got.error().message(), "'" + key + "' is not a SHA-256 hex digest (64 hex characters)");
    auto exists = (*r)->Exists(key);
    ASSERT_FALSE(exists.has_value());
    EXPECT_EQ(exists.error().code(), Code::kInvalidArgument);
  }
}

TEST_F(S3UrlTest, UnreachableEndpointIsUnavailableAfterRetries) {
  // Port 9 (discard) on loopback: nothing listens, connections are refused at once.
  auto r = OpenS3BlobStore("s3://bkt/p?endpoint=http://127.0.0.1:9", nullptr);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  auto start = std::chrono::steady_clock::now();
  std::string key = Sha256Hex("x");
  auto got = (*r)->Get(key);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kUnavailable);
  EXPECT_THAT(got.error().message(), StartsWith("GET s3://bkt/p/objects/" + key.substr(0, 2) + "/" + key +
                                                " at http://127.0.0.1:9: "));
  EXPECT_THAT(got.error().message(), HasSubstr("(gave up after 6 attempts)"));
  EXPECT_THAT(got.error().message(), Not(HasSubstr(kSecret)));
  // Five backoffs of at most 100, 200, 400, 800, 1600 ms.
  EXPECT_LT(elapsed, std::chrono::seconds(8));
  EXPECT_GT(elapsed, std::chrono::milliseconds(1500));
}

// ---------------------------------------------------------------- parsers

// The S3 answers and files as the parsers read them (store/s3_parsers.h);
// fuzz/fuzz_s3.cc fuzzes the same functions.
constexpr std::string_view kListWhat = "list s3://bkt/p at http://127.0.0.1:9";

TEST(S3ParsersTest, ListPageHasItsEntriesInOrderAndTheContinuationToken) {
  auto page = s3_internal::ParseListPage(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/1=</NextContinuationToken>"
      "<Contents><Key>p/objects/b&amp;</Key><ETag>&quot;x&quot;</ETag><Size>7</Size></Contents>"
      "<Contents><Key>p/objects/a</Key><Size>18446744073709551615</Size></Contents></ListBucketResult>",
      kListWhat);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].key, "p/objects/b&");
  EXPECT_EQ(page->entries[0].size, 7u);
  EXPECT_EQ(page->entries[1].key, "p/objects/a");
  EXPECT_EQ(page->entries[1].size, UINT64_MAX);
  EXPECT_EQ(page->next_continuation_token, "tok/1=");

  auto last = s3_internal::ParseListPage("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
                                         kListWhat);
  ASSERT_TRUE(last.has_value()) << last.error().ToString();
  EXPECT_TRUE(last->entries.empty());
  EXPECT_EQ(last->next_continuation_token, "");
}

TEST(S3ParsersTest, MalformedListPagesAreCorruptionNamingTheListing) {
  const std::map<std::string, std::string> cases = {
      {"", "the answer is not a ListBucketResult document"},
      {"<ListBucketResult><Contents>", "the answer is not a ListBucketResult document"},
      {"<Error><Code>NoSuchBucket</Code></Error>", "the answer is not a ListBucketResult document"},
      {"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
       "entry 'k' has no valid <Size>"},
      {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
       "a truncated listing has no NextContinuationToken"},
      // Caught by fuzz/fuzz_s3's invariants (seed regress-1-list-entry-without-key.xml):
      // an entry without a key was listed with an empty one.
      {"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "an entry has no <Key>"},
      {"<ListBucketResult><Contents><Key></Key><Size>1</Size></Contents></ListBucketResult>",
       "an entry has no <Key>"},
  };
  for (const auto& [body, why] : cases) {
    auto page = s3_internal::ParseListPage(body, kListWhat);
    ASSERT_FALSE(page.has_value()) << body;
    EXPECT_EQ(page.error().code(), Code::kCorruption) << body;
    EXPECT_EQ(page.error().message(), std::string(kListWhat) + ": " + why) << body;
  }
}

// Caught by fuzz/fuzz_s3's invariants (seed regress-0-error-entity-blowup.xml):
// libxml2 keeps entity references unexpanded while parsing and
// xmlNodeGetContent then expands them without limit, so this 63 KB error
// body read as a 330 MB code.
TEST(S3ParsersTest, BodiesWithADoctypeAreNotXmlSoEntitiesCannotInflateThem) {
  std::string entity = "<!DOCTYPE Error [<!ENTITY a \"" + std::string(30000, 'a') + "\">]>";
  std::string refs;
  for (int i = 0; i < 11000; ++i) refs += "&a;";
  EXPECT_FALSE(s3_internal::ParseErrorBody(entity + "<Error><Code>" + refs + "</Code></Error>").has_value());
  EXPECT_FALSE(s3_internal::ParseErrorBody("<!DOCTYPE Error><Error><Code>SlowDown</Code></Error>").has_value());
  auto page = s3_internal::ParseListPage(
      entity + "<ListBucketResult><Contents><Key>" + refs + "</Key><Size>1</Size></Contents></ListBucketResult>",
      kListWhat);
  ASSERT_FALSE(page.has_value());
  EXPECT_EQ(page.error().message(), std::string(kListWhat) + ": the answer is not a ListBucketResult document");
  EXPECT_EQ(s3_internal::ParseUploadId(entity + "<InitiateMultipartUploadResult><UploadId>" + refs +
                                       "</UploadId></InitiateMultipartUploadResult>"),
            "");
  EXPECT_EQ(s3_internal::ParseCompleteEtag(entity + "<R><ETag>" + refs + "</ETag></R>"), "");

  // Without a DOCTYPE: the predefined entities and character references only.
  auto e = s3_internal::ParseErrorBody("<Error><Code>Slow&amp;Down&#33;</Code><Message>m</Message></Error>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "Slow&Down!");
  EXPECT_EQ(e->message, "m");
  EXPECT_FALSE(s3_internal::ParseErrorBody("<Error><Code>&a;</Code></Error>").has_value());
}

TEST(S3ParsersTest, MultipartAnswersGiveTheUploadIdAndTheUnquotedEtag) {
  EXPECT_EQ(s3_internal::ParseUploadId(
                "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>"
                "<UploadId>up-1</UploadId></InitiateMultipartUploadResult>"),
            "up-1");
  EXPECT_EQ(s3_internal::ParseUploadId("<Error><UploadId>up-1</UploadId></Error>"), "");
  EXPECT_EQ(s3_internal::ParseCompleteEtag("<CompleteMultipartUploadResponse><ETag> &quot;abc-2&quot; </ETag>"
                                           "</CompleteMultipartUploadResponse>"),
            "abc-2");
  EXPECT_EQ(s3_internal::ParseCompleteEtag("<CompleteMultipartUploadResult/>"), "");
}

TEST(S3ParsersTest, CredentialsFileSectionIsFoundByNameOrProfileName) {
  const std::string file =
      "# comment\n[default]\naws_access_key_id = def-id\n\n[profile ci]\r\nAWS_Access_Key_ID=ci-id\r\n"
      "; comment\r\nnot a key\r\naws_session_token =\r\n[ci]\nregion = eu-west-1\naws_access_key_id = ci-id-2";
  using Keys = std::map<std::string, std::string>;
  EXPECT_EQ(s3_internal::ParseIniSection(file, "default"), Keys({{"aws_access_key_id", "def-id"}}));
  // "[profile ci]" and "[ci]" are one section; the later line wins.
  EXPECT_EQ(s3_internal::ParseIniSection(file, "ci"),
            Keys({{"aws_access_key_id", "ci-id-2"}, {"aws_session_token", ""}, {"region", "eu-west-1"}}));
  EXPECT_EQ(s3_internal::ParseIniSection(file, "nope"), std::nullopt);
  EXPECT_EQ(s3_internal::ParseIniSection("", "default"), std::nullopt);
  EXPECT_EQ(s3_internal::ParseIniSection("[default]", "default"), Keys());
}

// ------------------------------------------------------------ with server

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* endpoint = std::getenv("FSML_TEST_S3_ENDPOINT");
    if (!endpoint || !*endpoint) {
      GTEST_SKIP() << "FSML_TEST_S3_ENDPOINT is not set: set it to an S3 server (e.g. "
                      "`python3 -m moto.server -H 127.0.0.1 -p 4566` and http://127.0.0.1:4566) to run the "
                      "S3 contract tests";
    }
    endpoint_ = endpoint;
    dir_ = MakeTestDir();
    UseTestEnvironment(dir_);
    bucket_ = "fsml-test-" + SecureRandomHex(6);
    client_ = MakeClient(endpoint_, "test", kSecret);
    ASSERT_NE(client_, nullptr);
    Status s = client_->CreateBucket(bucket_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  static std::unique_ptr<S3Client> MakeClient(const std::string& endpoint, const std::string& id,
                                              const std::string& secret) {
    S3ClientOptions o;
    o.endpoint = endpoint;
    o.credentials = {id, secret, ""};
    auto c = S3Client::Create(o);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return c ? std::move(*c) : nullptr;
  }

  // "s3://BUCKET/pfx?endpoint=E" plus `options` ("&multipart_mb=5").
  std::string Url(const std::string& options = "", const std::string& endpoint = "") const {
    return "s3://" + bucket_ + "/pfx?endpoint=" + (endpoint.empty() ? endpoint_ : endpoint) + options;
  }
  std::unique_ptr<BlobStore> MustOpen(const std::string& url, const S3Credentials* creds = nullptr,
                                      S3StoreOptionsForTest test_options = {}) {
    auto r = OpenS3BlobStoreForTest(url, creds, test_options);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? std::move(*r) : nullptr;
  }
  std::string MustPut(BlobStore& store, std::string_view bytes) {
    auto r = store.Put(bytes);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? *r : std::string();
  }
  std::string MustGet(BlobStore& store, const std::string& key) {
    auto r = store.Get(key);
    EXPECT_TRUE(r.has_value()) << r.error().ToString();
    return r ? *r : std::string();
  }
  // Compares without printing megabytes of bytes on failure.
  static ::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "got " << got.size() << " bytes (SHA-256 " << Sha256Hex(got)
                                         << "), want " << want.size() << " bytes (SHA-256 " << Sha256Hex(want) << ")";
  }
  static std::string ObjectPath(const std::string& key) { return "pfx/objects/" + key.substr(0, 2) + "/" + key; }
  std::map<std::string, uint64_t> ListAll(BlobStore& store) {
    std::map<std::string, uint64_t> seen;
    Status s = store.ForEach([&](std::string_view key, uint64_t size) {
      EXPECT_TRUE(seen.emplace(std::string(key), size).second) << "listed twice: " << key;
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  }
  std::string Describe() const { return "s3://" + bucket_ + "/pfx at " + endpoint_; }

  std::string endpoint_;
  fs::path dir_;
  std::string bucket_;
  std::unique_ptr<S3Client> client_;  // raw access to the bucket, past the store
};

TEST_F(S3StoreTest, SmallAndEmptyObjectsRoundTripAtTheirKeyPath) {
  auto store = MustOpen(Url());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Describe(), Describe());
  for (const std::string& bytes : {std::string(), std::string("abc"), Bytes(100000, 1)}) {
    SCOPED_TRACE(bytes.size());
    std::string key = MustPut(*store, bytes);
    EXPECT_EQ(key, Sha256Hex(bytes));
    EXPECT_TRUE(SameBytes(MustGet(*store, key), bytes));
    auto raw = client_->HeadObject(bucket_, ObjectPath(key));
    ASSERT_TRUE(raw.has_value()) << raw.error().ToString();
    ASSERT_TRUE(raw->has_value()) << "not at " << ObjectPath(key);
    EXPECT_EQ((*raw)->size, bytes.size());
  }
  EXPECT_EQ(MustPut(*store, "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(S3StoreTest, BucketRootWithoutPrefix) {
  auto store = MustOpen("s3://" + bucket_ + "?endpoint=" + endpoint_);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Describe(), "s3://" + bucket_ + " at " + endpoint_);
  std::string key = MustPut(*store, "at the root");
  auto raw = client_->HeadObject(bucket_, "objects/" + key.substr(0, 2) + "/" + key);
  ASSERT_TRUE(raw.has_value()) << raw.error().ToString();
  EXPECT_TRUE(raw->has_value());
  EXPECT_EQ(ListAll(*store), (std::map<std::string, uint64_t>{{key, 11}}));
}

TEST_F(S3StoreTest, LargeObjectGoesUpInPartsUnderItsSha256) {
  auto store = MustOpen(Url("&multipart_mb=5"));
  ASSERT_NE(store, nullptr);
  std::string bytes = Bytes(12 * (1 << 20), 2);
  std::string key = MustPut(*store, bytes);
  EXPECT_EQ(key, Sha256Hex(bytes));
  EXPECT_TRUE(SameBytes(MustGet(*store, key), bytes));
  auto raw = client_->HeadObject(bucket_, ObjectPath(key));
  ASSERT_TRUE(raw.has_value() && raw->has_value());
  EXPECT_EQ((*raw)->size, bytes.size());
  EXPECT_THAT((*raw)->etag, testing::EndsWith("-2"));  // parts of 8 MiB and 4 MiB
  // Under the default threshold the same bytes are one PUT.
  auto single = MustOpen(Url());
  ASSERT_NE(single, nullptr);
  std::string other = Bytes(6 * (1 << 20), 3);
  std::string other_key = MustPut(*single, other);
  auto other_raw = client_->HeadObject(bucket_, ObjectPath(other_key));
  ASSERT_TRUE(other_raw.has_value() && other_raw->has_value());
  EXPECT_EQ((*other_raw)->etag.find('-'), std::string::npos);
}

TEST_F(S3StoreTest, PutFileStreamsSmallAndMultipartFiles) {
  auto store = MustOpen(Url("&multipart_mb=5"));
  ASSERT_NE(store, nullptr);
  for (size_t size : {size_t{0}, size_t{3000}, size_t{20} << 20}) {
    SCOPED_TRACE(size);
    std::string bytes = Bytes(size, 4 + static_cast<uint32_t>(size));
    fs::path file = dir_ / ("file-" + std::to_string(size));
    WriteFile(file, bytes);
    auto key = store->PutFile(file);
    ASSERT_TRUE(key.has_value()) << key.error().ToString();
    EXPECT_EQ(*key, Sha256Hex(bytes));
    EXPECT_TRUE(SameBytes(MustGet(*store, *key), bytes));
    auto raw = client_->HeadObject(bucket_, ObjectPath(*key));
    ASSERT_TRUE(raw.has_value() && raw->has_value());
    if (size > (5u << 20)) {
      EXPECT_THAT((*raw)->etag, testing::EndsWith("-3"));  // 8 + 8 + 4 MiB
    }
  }
  auto missing = store->PutFile(dir_ / "absent");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_EQ(missing.error().message(), (dir_ / "absent").string() + ": no such file");
}

TEST_F(S3StoreTest, PutManyReturnsKeysInOrderAndUploadsInParallel) {
  FaultProxy proxy(endpoint_, {"--delay-ms", "50"}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::vector<std::string> blobs;
  for (uint32_t i = 0; i < 200; ++i) blobs.push_back(Bytes(100 + i, 1000 + i));
  blobs.push_back(blobs[7]);  // a repeat is stored once and keyed in its place
  std::vector<std::string_view> views(blobs.begin(), blobs.end());
  auto start = std::chrono::steady_clock::now();
  auto keys = store->PutMany(views);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(keys.has_value()) << keys.error().ToString();
  ASSERT_EQ(keys->size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i) EXPECT_EQ((*keys)[i], Sha256Hex(blobs[i])) << i;
  nlohmann::json stats = proxy.Stats();
  EXPECT_EQ(stats["requests"].get<int>(), 200);
  // One at a time, 200 requests delayed 50 ms each would take 10 s.
  EXPECT_GE(stats["max_in_flight"].get<int>(), 8);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  auto direct = MustOpen(Url());
  ASSERT_NE(direct, nullptr);
  EXPECT_EQ(ListAll(*direct).size(), 200u);
  for (size_t i : {size_t{0}, size_t{99}, size_t{199}}) EXPECT_TRUE(SameBytes(MustGet(*direct, (*keys)[i]), blobs[i]));
}

TEST_F(S3StoreTest, ExistsForPresentAndMissingAndUppercaseKeys) {
  auto store = MustOpen(Url());
  ASSERT_NE(store, nullptr);
  std::string key = MustPut(*store, "present");
  for (const std::string& k : {key, Upper(key)}) {
    auto e = store->Exists(k);
    ASSERT_TRUE(e.has_value()) << e.error().ToString();
    EXPECT_TRUE(*e);
  }
  EXPECT_EQ(MustGet(*store, Upper(key)), "present");
  auto missing = store->Exists(Sha256Hex("absent"));
  ASSERT_TRUE(missing.has_value()) << missing.error().ToString();
  EXPECT_FALSE(*missing);
  // Deleted behind the store's back (S3Client::DeleteObject): gone.
  ASSERT_TRUE(client_->DeleteObject(bucket_, ObjectPath(key)).ok());
  EXPECT_FALSE(*store->Exists(key));
  EXPECT_EQ(store->Get(key).error().code(), Code::kNotFound);
  EXPECT_TRUE(client_->DeleteObject(bucket_, ObjectPath(key)).ok());  // deleting twice is fine
}

TEST_F(S3StoreTest, GetMissingIsNotFoundNamingTheKey) {
  auto store = MustOpen(Url());
  ASSERT_NE(store, nullptr);
  std::string key = Sha256Hex("never stored");
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kNotFound);
  EXPECT_EQ(got.error().message(), "object " + key + " is not in " + Describe());
}

TEST_F(S3StoreTest, MissingBucketIsNotFoundNamingTheBucket) {
  std::string bucket = "fsml-absent-" + SecureRandomHex(6);
  auto store = MustOpen("s3://" + bucket + "?endpoint=" + endpoint_);
  ASSERT_NE(store, nullptr);
  auto put = store->Put("x");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), Code::kNotFound);
  EXPECT_THAT(put.error().message(), HasSubstr("bucket '" + bucket + "' does not exist"));
  EXPECT_THAT(put.error().message(), HasSubstr(endpoint_));
  Status list = store->ForEach([](std::string_view, uint64_t) { return Status::Ok(); });
  EXPECT_EQ(list.code(), Code::kNotFound);
  EXPECT_THAT(list.message(), HasSubstr("bucket '" + bucket + "' does not exist"));
}

TEST_F(S3StoreTest, ForEachListsEachObjectOnceWithItsSizeAcrossPages) {
  FaultProxy proxy(endpoint_, {}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("", proxy.url()), nullptr, S3StoreOptionsForTest{.list_page_size = 7});
  ASSERT_NE(store, nullptr);
  std::map<std::string, uint64_t> expected;
  for (uint32_t i = 0; i < 30; ++i) {
    std::string bytes = Bytes(i * 37, 2000 + i);
    expected[MustPut(*store, bytes)] = bytes.size();
  }
  // Keys that are not objects of this store.
  std::string k = Sha256Hex("noise");
  for (const std::string& noise : {std::string("pfx/objects/zz/not-a-key"),
                                   "pfx/objects/" + k.substr(0, 2) + "/" + Upper(k),
                                   "pfx/objects/00/" + k, "pfx/other/" + k, "elsewhere/objects/" + k}) {
    ASSERT_TRUE(client_->PutObject(bucket_, noise, "noise").has_value()) << noise;
  }
  proxy.ResetStats();
  EXPECT_EQ(ListAll(*store), expected);
  // 33 keys under pfx/objects/, 7 a page.
  EXPECT_EQ(proxy.CountLogged("list-type=2"), 5);
  EXPECT_EQ(proxy.CountLogged("continuation-token="), 4);
}

TEST_F(S3StoreTest, ForEachStopsAtCallbackErrorAndReturnsIt) {
  auto store = MustOpen(Url(), nullptr, S3StoreOptionsForTest{.list_page_size = 2});
  ASSERT_NE(store, nullptr);
  for (const char* b : {"a", "b", "c", "d", "e"}) MustPut(*store, b);
  int calls = 0;
  Status s = store->ForEach([&](std::string_view, uint64_t) {
    ++calls;
    return calls == 3 ? Aborted("enough") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(s.message(), "enough");
  EXPECT_EQ(calls, 3);
}

TEST_F(S3StoreTest, ForEachCallbackMayCallGet) {
  auto store = MustOpen(Url());
  ASSERT_NE(store, nullptr);
  MustPut(*store, "small one");
  MustPut(*store, Bytes(3000, 11));
  int checked = 0;
  Status s = store->ForEach([&](std::string_view key, uint64_t size) -> Status {
    FSML_ASSIGN_OR_RETURN(std::string bytes, store->Get(key));
    EXPECT_EQ(bytes.size(), size);
    ++checked;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(checked, 2);
}

TEST_F(S3StoreTest, PrefixesKeepStoresApart) {
  auto a = MustOpen("s3://" + bucket_ + "/team-a?endpoint=" + endpoint_);
  auto b = MustOpen("s3://" + bucket_ + "/team-a/sub?endpoint=" + endpoint_);
  ASSERT_TRUE(a && b);
  std::string ka = MustPut(*a, "for a");
  std::string kb = MustPut(*b, "for b");
  EXPECT_EQ(ListAll(*a), (std::map<std::string, uint64_t>{{ka, 5}}));
  EXPECT_EQ(ListAll(*b), (std::map<std::string, uint64_t>{{kb, 5}}));
  EXPECT_FALSE(*a->Exists(kb));
}

TEST_F(S3StoreTest, OverwrittenObjectIsCorruptionUnlessVerifyIsOff) {
  auto store = MustOpen(Url());
  ASSERT_NE(store, nullptr);
  std::string key = MustPut(*store, "the real bytes");
  ASSERT_TRUE(client_->PutObject(bucket_, ObjectPath(key), "other bytes!!!").has_value());
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
  EXPECT_EQ(got.error().message(),
            "object " + key + " in " + Describe() + " does not match its hash (S3 holds other bytes under its key)");
  auto unverified = store->Get(key, /*verify=*/false);
  ASSERT_TRUE(unverified.has_value()) << unverified.error().ToString();
  EXPECT_EQ(*unverified, "other bytes!!!");
}

TEST_F(S3StoreTest, ConcurrentPutsAndGetsFromEightThreads) {
  auto store = MustOpen(Url("&multipart_mb=5"));
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 8; ++t) {
    threads.emplace_back([&store, t] {
      for (uint32_t i = 0; i < 20; ++i) {
        // Threads share half their objects, so puts of one key also race.
        std::string bytes = Bytes(i % 2 == 0 ? 64 : 5000 + t, i % 2 == 0 ? i : 100 * t + i);
        auto key = store->Put(bytes);
        ASSERT_TRUE(key.has_value()) << key.error().ToString();
        auto got = store->Get(*key);
        ASSERT_TRUE(got.has_value()) << got.error().ToString() << " thread " << t;
        EXPECT_EQ(*got, bytes);
        auto e = store->Exists(*key);
        ASSERT_TRUE(e.has_value() && *e);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ListAll(*store).size(), 10u + 8u * 10u);
}

// --------------------------------------------------------- interoperation

TEST_F(S3StoreTest, AwsCliAndBoto3ReadWhatTheStoreWrote) {
  auto store = MustOpen(Url());
  ASSERT_NE(store, nullptr);
  std::string bytes = Bytes(70000, 5);
  std::string key = MustPut(*store, bytes);
  std::string s3_url = "s3://" + bucket_ + "/" + ObjectPath(key);
  auto [rc, out] = RunCommand("/usr/bin/aws --endpoint-url " + endpoint_ + " s3 cp " + s3_url + " -", dir_ / "aws.err");
  EXPECT_EQ(rc, 0) << ReadFile(dir_ / "aws.err").value_or("");
  EXPECT_TRUE(out == bytes) << "aws s3 cp returned " << out.size() << " bytes";

  std::string py =
      "import sys, boto3; "
      "s3 = boto3.client('s3', endpoint_url=sys.argv[1]); "
      "sys.stdout.buffer.write(s3.get_object(Bucket=sys.argv[2], Key=sys.argv[3])['Body'].read())";
  auto [rc2, out2] = RunCommand("/usr/bin/python3 -c \"" + py + "\" " + endpoint_ + " " + bucket_ + " " +
                                    ObjectPath(key),
                                dir_ / "boto3.err");
  EXPECT_EQ(rc2, 0) << ReadFile(dir_ / "boto3.err").value_or("");
  EXPECT_TRUE(out2 == bytes) << "boto3 returned " << out2.size() << " bytes";
}

TEST_F(S3StoreTest, StoreReadsWhatTheAwsCliWroteAtTheKeyPath) {
  auto store = MustOpen(Url());
  ASSERT_NE(store, nullptr);
  // 9 MiB goes up in parts with the CLI's defaults: an ETag that is not an MD5.
  for (size_t size : {size_t{4096}, size_t{9} << 20}) {
    SCOPED_TRACE(size);
    std::string bytes = Bytes(size, 6);
    std::string key = Sha256Hex(bytes);
    fs::path file = dir_ / "upload";
    WriteFile(file, bytes);
    auto [rc, out] = RunCommand("/usr/bin/aws --endpoint-url " + endpoint_ + " s3 cp " + file.string() + " s3://" +
                                    bucket_ + "/" + ObjectPath(key),
                                dir_ / "aws.err");
    ASSERT_EQ(rc, 0) << ReadFile(dir_ / "aws.err").value_or("") << out;
    EXPECT_TRUE(*store->Exists(key));
    EXPECT_TRUE(SameBytes(MustGet(*store, key), bytes));
    EXPECT_EQ(ListAll(*store)[key], size);
  }
}

// ---------------------------------------------------------- credentials

TEST_F(S3StoreTest, CredentialsComeFromConfigurationThenEnvironmentThenFile) {
  FaultProxy proxy(endpoint_, {"--expect-key-id", "configured-id"}, dir_);
  ASSERT_TRUE(proxy.ok());
  S3Credentials configured{"configured-id", kOtherSecret, ""};
  auto a = MustOpen(Url("", proxy.url()), &configured);  // the environment also has a key: "test"
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->Put("configured").has_value());

  proxy.SetFaults({{"expect_key_id", "test"}});
  auto b = MustOpen(Url("", proxy.url()));
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->Put("environment").has_value());

  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  fs::path file = dir_ / "credentials";
  WriteFile(file, "[default]\naws_access_key_id = default-id\naws_secret_access_key = s1\n"
                  "[ci]\naws_access_key_id=ci-id\naws_secret_access_key=s2\n");
  setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
  proxy.SetFaults({{"expect_key_id", "default-id"}});
  auto c = MustOpen(Url("", proxy.url()));
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->Put("file default").has_value());
  proxy.SetFaults({{"expect_key_id", "ci-id"}});
  auto d = MustOpen(Url("&profile=ci", proxy.url()));
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->Put("file profile").has_value());
  setenv("AWS_PROFILE", "ci", 1);
  auto e = MustOpen(Url("", proxy.url()));
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->Put("AWS_PROFILE").has_value());
  EXPECT_EQ(proxy.Stats()["failed"].get<int>(), 0);
}

TEST_F(S3StoreTest, BadCredentialsNameEndpointAndBucketAndNeverTheSecret) {
  FaultProxy proxy(endpoint_, {"--expect-key-id", "test"}, dir_);
  ASSERT_TRUE(proxy.ok());
  S3Credentials wrong{"wrong-id", kOtherSecret, "session-token-also-secret"};
  auto store = MustOpen(Url("", proxy.url()), &wrong);
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(store->Describe(), Not(HasSubstr(kOtherSecret)));
  std::string key = Sha256Hex("x");
  auto put = store->Put("x");
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), Code::kUnauthenticated);
  EXPECT_EQ(put.error().message(),
            "PUT s3://" + bucket_ + "/" + ObjectPath(key) + " at " + proxy.url() + ": access to bucket '" + bucket_ +
                "' was refused (HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in "
                "our records.); check credentials (access key id 'wrong-id') and the bucket's policy");
  auto get = store->Get(key);
  ASSERT_FALSE(get.has_value());
  EXPECT_EQ(get.error().code(), Code::kUnauthenticated);
  auto exists = store->Exists(key);
  ASSERT_FALSE(exists.has_value());
  EXPECT_EQ(exists.error().code(), Code::kUnauthenticated);
  Status list = store->ForEach([](std::string_view, uint64_t) { return Status::Ok(); });
  EXPECT_EQ(list.code(), Code::kUnauthenticated);
  for (const std::string& m : {put.error().message(), get.error().message(), exists.error().message(),
                               list.message(), store->Describe()}) {
    EXPECT_THAT(m, HasSubstr(bucket_));
    EXPECT_THAT(m, HasSubstr(proxy.url()));
    EXPECT_THAT(m, Not(HasSubstr(kOtherSecret)));
    EXPECT_THAT(m, Not(HasSubstr("session-token-also-secret")));
  }
  // 403 is not retried.
  EXPECT_EQ(proxy.Stats()["requests"].get<int>(), 4);
}

// ----------------------------------------------------------------- faults

TEST_F(S3StoreTest, RetriesSucceedAfterThree503SlowDowns) {
  FaultProxy proxy(endpoint_, {"--fail-next", "3", "--fail-status", "503", "--fail-code", "SlowDown"}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string bytes = Bytes(50000, 7);
  ASSERT_TRUE(log::SetLevel("debug"));
  ::testing::internal::CaptureStderr();
  std::string key = MustPut(*store, bytes);  // the body is sent again, whole, each time
  std::string logged = ::testing::internal::GetCapturedStderr();
  log::SetLevel("info");
  // Each retry is logged, naming the object and the cause, never the secret.
  EXPECT_THAT(logged, HasSubstr("attempt 3/6 failed (HTTP 503 SlowDown: Injected by s3_fault_proxy.); retrying in"));
  EXPECT_THAT(logged, HasSubstr(ObjectPath(key)));
  EXPECT_THAT(logged, Not(HasSubstr(kSecret)));
  nlohmann::json stats = proxy.Stats();
  EXPECT_EQ(stats["failed"].get<int>(), 3);
  EXPECT_EQ(stats["requests"].get<int>(), 4);
  proxy.SetFaults({{"fail_next", 3}, {"fail_status", 500}, {"fail_code", "InternalError"}});
  EXPECT_TRUE(SameBytes(MustGet(*store, key), bytes));
  EXPECT_EQ(proxy.Stats()["failed"].get<int>(), 6);
}

TEST_F(S3StoreTest, MultipartUploadRetriesItsParts) {
  FaultProxy proxy(endpoint_, {}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("&multipart_mb=5", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string bytes = Bytes(12 << 20, 8);
  fs::path file = dir_ / "big";
  WriteFile(file, bytes);
  // Parts 1 and 2 fail twice each, and the completion once.
  proxy.SetFaults({{"fail_next", 4}, {"fail_status", 503}, {"fail_code", "SlowDown"}, {"fail_match", "partNumber="}});
  auto key = store->PutFile(file);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  proxy.SetFaults({{"fail_next", 1}, {"fail_status", 500}, {"fail_code", "InternalError"}, {"fail_match", "POST"}});
  key = store->PutFile(file);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  proxy.SetFaults(
      {{"fail_next", 3}, {"fail_status", 500}, {"fail_code", "InternalError"}, {"fail_match", "partNumber="}});
  auto again = store->Put(bytes);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(*again, *key);
  EXPECT_TRUE(SameBytes(MustGet(*store, *key), bytes));
  EXPECT_EQ(proxy.Stats()["failed"].get<int>(), 8);
}

TEST_F(S3StoreTest, CompletionWhoseAnswerWasLostIsNotAnError) {
  FaultProxy proxy(endpoint_, {}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("&multipart_mb=5", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string bytes = Bytes(11 << 20, 12);
  // CompleteMultipartUpload reaches S3, its answer does not reach the store.
  proxy.SetFaults({{"fail_next", 1}, {"fail_status", 500}, {"fail_code", "InternalError"},
                   {"fail_match", "?uploadId="}, {"fail_after_forward", true}});
  auto key = store->Put(bytes);
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_EQ(proxy.Stats()["failed"].get<int>(), 1);
  EXPECT_TRUE(SameBytes(MustGet(*store, *key), bytes));
}

TEST_F(S3StoreTest, GivesUpWithUnavailableAfterSixAttempts) {
  FaultProxy proxy(endpoint_, {"--fail-next", "1000"}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string key = Sha256Hex("y");
  auto start = std::chrono::steady_clock::now();
  auto put = store->Put("y");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), Code::kUnavailable);
  EXPECT_EQ(put.error().message(), "PUT s3://" + bucket_ + "/" + ObjectPath(key) + " at " + proxy.url() +
                                       ": HTTP 503 SlowDown: Injected by s3_fault_proxy. (gave up after 6 attempts)");
  EXPECT_EQ(proxy.Stats()["requests"].get<int>(), 6);
  EXPECT_LT(elapsed, std::chrono::seconds(8));
}

TEST_F(S3StoreTest, WrongEtagOnPutIsCorruptionNamingTheKey) {
  FaultProxy proxy(endpoint_, {"--corrupt-etag", "put"}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string bytes = "bytes whose ETag comes back wrong";
  std::string key = Sha256Hex(bytes);
  auto put = store->Put(bytes);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), Code::kCorruption);
  EXPECT_THAT(put.error().message(), HasSubstr(key));
  EXPECT_THAT(put.error().message(),
              HasSubstr("S3 answered with ETag '00000000000000000000000000000000', not the MD5"));
}

TEST_F(S3StoreTest, WrongEtagOnAPartAbortsTheMultipartUpload) {
  FaultProxy proxy(endpoint_, {"--corrupt-etag", "put"}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("&multipart_mb=5", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string bytes = Bytes(12 << 20, 9);
  auto put = store->Put(bytes);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code(), Code::kCorruption);
  EXPECT_THAT(put.error().message(), StartsWith("part "));
  EXPECT_THAT(put.error().message(), HasSubstr(Sha256Hex(bytes)));
  EXPECT_EQ(proxy.CountLogged("?uploadId="), 1);  // the abort: DELETE ...?uploadId=
  EXPECT_EQ(proxy.CountLogged("DELETE /" + bucket_ + "/" + ObjectPath(Sha256Hex(bytes)) + "?uploadId="), 1);
  auto exists = store->Exists(Sha256Hex(bytes));
  ASSERT_TRUE(exists.has_value());
  EXPECT_FALSE(*exists);
}

TEST_F(S3StoreTest, CorruptedGetBodyIsCorruption) {
  FaultProxy proxy(endpoint_, {}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string bytes = Bytes(10000, 10);
  std::string key = MustPut(*store, bytes);
  proxy.SetFaults({{"corrupt_get_body", true}});
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
  EXPECT_EQ(got.error().message(), "object " + key + " in s3://" + bucket_ + "/pfx at " + proxy.url() +
                                       " does not match its hash (damaged in transit: the bytes received do not "
                                       "match S3's ETag either)");
  auto unverified = store->Get(key, /*verify=*/false);
  ASSERT_TRUE(unverified.has_value()) << unverified.error().ToString();
  EXPECT_EQ(unverified->size(), bytes.size());
  EXPECT_NE(*unverified, bytes);
}

TEST_F(S3StoreTest, WrongEtagOnGetIsCorruption) {
  FaultProxy proxy(endpoint_, {"--corrupt-etag", "get"}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("", proxy.url()));
  ASSERT_NE(store, nullptr);
  std::string key = MustPut(*store, "fine bytes, wrong ETag");
  auto got = store->Get(key);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
  EXPECT_THAT(got.error().message(), HasSubstr("S3's ETag '00000000000000000000000000000000' is not the MD5"));
  EXPECT_TRUE(store->Get(key, /*verify=*/false).has_value());
}

TEST_F(S3StoreTest, SlowResponsesTimeOutRetryAndEndUnavailableInBoundedTime) {
  FaultProxy proxy(endpoint_, {"--delay-ms", "3000"}, dir_);
  ASSERT_TRUE(proxy.ok());
  auto store = MustOpen(Url("&timeout_s=1", proxy.url()));
  ASSERT_NE(store, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto got = store->Get(Sha256Hex("slow"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), Code::kUnavailable);
  EXPECT_THAT(got.error().message(), HasSubstr("(gave up after 6 attempts)"));
  EXPECT_EQ(proxy.Stats()["requests"].get<int>(), 6);
  // Six attempts of about a second or two, plus at most 3.1 s of backoff.
  EXPECT_LT(elapsed, std::chrono::seconds(20));
  EXPECT_GT(elapsed, std::chrono::seconds(5));
}

}  // namespace
}  // namespace fsml
