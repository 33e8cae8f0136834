// AWS Signature V4 against the worked examples AWS publishes for S3 in
// "Signature Calculations for the Authorization Header: Transferring Payload
// in a Single Chunk": one credential, one time, four requests.
#include "store/aws_sigv4.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/sha256.h"

namespace fsml::sigv4 {
namespace {

constexpr char kAccessKeyId[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kAmzDate[] = "20130524T000000Z";
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";

std::string EmptyHash() { return std::string(kEmptyPayloadSha256); }

Request GetObjectExample() {
  Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", kHost},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", EmptyHash()},
               {"x-amz-date", kAmzDate}};
  r.payload_sha256 = EmptyHash();
  return r;
}

std::string SignatureOf(const std::string& authorization) {
  return authorization.substr(authorization.find("Signature=") + 10);
}

TEST(AwsSigV4Test, EmptyPayloadHashIsSha256OfNothing) { EXPECT_EQ(kEmptyPayloadSha256, Sha256Hex("")); }

TEST(AwsSigV4Test, GetObjectExampleCanonicalRequest) {
  EXPECT_EQ(CanonicalRequest(GetObjectExample()),
            "GET\n"
            "/test.txt\n"
            "\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "range:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n"
            "\n"
            "host;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(AwsSigV4Test, GetObjectExampleStringToSign) {
  std::string scope = CredentialScope("20130524", "us-east-1", "s3");
  EXPECT_EQ(scope, "20130524/us-east-1/s3/aws4_request");
  EXPECT_EQ(StringToSign(kAmzDate, scope, CanonicalRequest(GetObjectExample())),
            "AWS4-HMAC-SHA256\n"
            "20130524T000000Z\n"
            "20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
}

TEST(AwsSigV4Test, GetObjectExampleSignatureAndAuthorizationHeader) {
  std::string scope = CredentialScope("20130524", "us-east-1", "s3");
  std::string to_sign = StringToSign(kAmzDate, scope, CanonicalRequest(GetObjectExample()));
  std::string signature = Signature(SigningKey(kSecret, "20130524", "us-east-1", "s3"), to_sign);
  EXPECT_EQ(signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(Authorization(GetObjectExample(), kAccessKeyId, kSecret, kAmzDate, "us-east-1", "s3"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(AwsSigV4Test, PutObjectExampleEncodesTheDollarAndSignsExtraHeaders) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string body_hash = Sha256Hex(body);
  ASSERT_EQ(body_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request r;
  r.method = "PUT";
  r.path = "/test$file.text";
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"Host", kHost},
               {"x-amz-date", kAmzDate},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", body_hash}};
  r.payload_sha256 = body_hash;
  EXPECT_EQ(CanonicalRequest(r),
            "PUT\n"
            "/test%24file.text\n"
            "\n"
            "date:Fri, 24 May 2013 00:00:00 GMT\n"
            "host:examplebucket.s3.amazonaws.com\n"
            "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
            "x-amz-date:20130524T000000Z\n"
            "x-amz-storage-class:REDUCED_REDUNDANCY\n"
            "\n"
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(Authorization(r, kAccessKeyId, kSecret, kAmzDate, "us-east-1", "s3"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(AwsSigV4Test, GetBucketLifecycleExampleSignsABareQueryName) {
  Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"lifecycle", ""}};
  r.headers = {{"Host", kHost}, {"x-amz-date", kAmzDate}, {"x-amz-content-sha256", EmptyHash()}};
  r.payload_sha256 = EmptyHash();
  EXPECT_EQ(CanonicalQueryString(r.query), "lifecycle=");
  EXPECT_EQ(SignatureOf(Authorization(r, kAccessKeyId, kSecret, kAmzDate, "us-east-1", "s3")),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(AwsSigV4Test, ListObjectsExampleSortsTheQuery) {
  Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // given unsorted on purpose
  r.headers = {{"Host", kHost}, {"x-amz-date", kAmzDate}, {"x-amz-content-sha256", EmptyHash()}};
  r.payload_sha256 = EmptyHash();
  EXPECT_EQ(CanonicalQueryString(r.query), "max-keys=2&prefix=J");
  EXPECT_EQ(SignatureOf(Authorization(r, kAccessKeyId, kSecret, kAmzDate, "us-east-1", "s3")),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(AwsSigV4Test, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(UriEncode("a b+c=d/e", false), "a%20b%2Bc%3Dd%2Fe");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UriEncode("\xc3\xa9*", false), "%C3%A9%2A");  // UTF-8 bytes, upper-case hex
}

TEST(AwsSigV4Test, CanonicalUriEncodesEachSegmentAndKeepsSlashes) {
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalUri("/"), "/");
  EXPECT_EQ(CanonicalUri("/bucket/my prefix/objects/ab/ab12"), "/bucket/my%20prefix/objects/ab/ab12");
  EXPECT_EQ(CanonicalUri("/b/a:b@c"), "/b/a%3Ab%40c");
}

TEST(AwsSigV4Test, CanonicalQueryEncodesNamesAndValuesThenSorts) {
  std::vector<std::pair<std::string, std::string>> q = {
      {"uploadId", "a/b+c"}, {"partNumber", "3"}, {"continuation-token", "1==x y"}, {"a", ""}};
  EXPECT_EQ(CanonicalQueryString(q), "a=&continuation-token=1%3D%3Dx%20y&partNumber=3&uploadId=a%2Fb%2Bc");
  EXPECT_EQ(CanonicalQueryString({}), "");
}

TEST(AwsSigV4Test, CanonicalHeadersLowerTrimFoldAndJoinRepeats) {
  std::vector<Header> h = {{"X-Amz-Meta-B", "  two   words  "}, {"Host", "h"}, {"x-amz-meta-b", "more"}};
  CanonicalHeaderList c = CanonicalHeaders(h);
  EXPECT_EQ(c.canonical, "host:h\nx-amz-meta-b:two words,more\n");
  EXPECT_EQ(c.signed_names, "host;x-amz-meta-b");
}

TEST(AwsSigV4Test, AmzDateIsUtcBasicFormat) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1369353600));  // 2013-05-24T00:00:00Z
  EXPECT_EQ(AmzDate(t), "20130524T000000Z");
  EXPECT_EQ(AmzDate(t + std::chrono::hours(13) + std::chrono::minutes(5) + std::chrono::seconds(9)),
            "20130524T130509Z");
}

TEST(AwsSigV4Test, SignatureChangesWithEveryInput) {
  std::string base = Authorization(GetObjectExample(), kAccessKeyId, kSecret, kAmzDate, "us-east-1", "s3");
  Request other_path = GetObjectExample();
  other_path.path = "/test2.txt";
  EXPECT_NE(SignatureOf(Authorization(other_path, kAccessKeyId, kSecret, kAmzDate, "us-east-1", "s3")),
            SignatureOf(base));
  EXPECT_NE(SignatureOf(Authorization(GetObjectExample(), kAccessKeyId, "other", kAmzDate, "us-east-1", "s3")),
            SignatureOf(base));
  EXPECT_NE(SignatureOf(Authorization(GetObjectExample(), kAccessKeyId, kSecret, kAmzDate, "eu-west-1", "s3")),
            SignatureOf(base));
  // The secret never shows in the header.
  EXPECT_EQ(base.find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace fsml::sigv4
