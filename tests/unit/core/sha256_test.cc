#include "core/sha256.h"

#include <cctype>
#include <string>

#include <gtest/gtest.h>

namespace fsml {
namespace {

constexpr char kEmptyHex[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcHex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// FIPS 180-2 two-block message.
constexpr char kTwoBlockInput[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr char kTwoBlockHex[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), kEmptyHex);
  EXPECT_EQ(Sha256Hex("abc"), kAbcHex);
  EXPECT_EQ(Sha256Hex(kTwoBlockInput), kTwoBlockHex);
}

TEST(Sha256Test, DigestBytesMatchHex) {
  Digest d = Sha256("abc");
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[1], 0x78);
  EXPECT_EQ(d[31], 0xad);
  EXPECT_EQ(ToHex(d), kAbcHex);
}

TEST(Sha256Test, HashesEmbeddedNulBytes) {
  std::string with_nul("a\0b", 3);
  EXPECT_NE(Sha256Hex(with_nul), Sha256Hex("a"));
  EXPECT_EQ(Sha256Hex(with_nul), Sha256Hex(std::string("a\0b", 3)));
}

TEST(Sha256Test, HexRoundTrip) {
  Digest d = Sha256("round trip");
  Result<Digest> back = DigestFromHex(ToHex(d));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, d);
}

TEST(Sha256Test, DigestFromHexAcceptsUppercase) {
  std::string upper = kAbcHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Result<Digest> d = DigestFromHex(upper);
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(ToHex(*d), kAbcHex);  // ToHex always writes lowercase
  EXPECT_TRUE(IsSha256Hex(upper));
}

TEST(Sha256Test, DigestFromHexRejectsWrongLength) {
  std::string short_hex(kAbcHex, 63);
  Result<Digest> d = DigestFromHex(short_hex);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(d.error().message(),
            "'" + short_hex + "' is not a SHA-256 hex digest (64 hex characters)");

  Result<Digest> long_hex = DigestFromHex(std::string(kAbcHex) + "0");
  ASSERT_FALSE(long_hex.has_value());
  EXPECT_EQ(long_hex.error().code(), Code::kInvalidArgument);

  Result<Digest> empty = DigestFromHex("");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message(), "'' is not a SHA-256 hex digest (64 hex characters)");
}

TEST(Sha256Test, DigestFromHexRejectsNonHexCharacter) {
  std::string bad = kAbcHex;
  bad[10] = 'g';
  Result<Digest> d = DigestFromHex(bad);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(d.error().message(), "'" + bad + "' is not a SHA-256 hex digest (64 hex characters)");
  EXPECT_FALSE(IsSha256Hex(bad));
}

TEST(Sha256Test, DigestFromHexQuotesAtMost80Characters) {
  std::string huge(1000, 'z');
  Result<Digest> d = DigestFromHex(huge);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().message(),
            "'" + std::string(80, 'z') + "' is not a SHA-256 hex digest (64 hex characters)");
}

TEST(Sha256Test, IsSha256Hex) {
  EXPECT_TRUE(IsSha256Hex(kEmptyHex));
  EXPECT_FALSE(IsSha256Hex(""));
  EXPECT_FALSE(IsSha256Hex(std::string(kEmptyHex) + " "));
  EXPECT_FALSE(IsSha256Hex(std::string(64, '-')));
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'F')));
}

TEST(Sha256HasherTest, EmptyInputMatchesOneShot) {
  Sha256Hasher h;
  EXPECT_EQ(ToHex(h.Finish()), kEmptyHex);
}

TEST(Sha256HasherTest, ChunkedInputMatchesOneShot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>((i * 131 + 7) % 256));
  const Digest expected = Sha256(data);
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{63}, size_t{64}, size_t{65}, size_t{4096},
                       data.size()}) {
    SCOPED_TRACE(chunk);
    Sha256Hasher h;
    for (size_t pos = 0; pos < data.size(); pos += chunk)
      h.Update(std::string_view(data).substr(pos, chunk));
    EXPECT_EQ(h.Finish(), expected);
  }
}

TEST(Sha256HasherTest, EmptyUpdatesChangeNothing) {
  Sha256Hasher h;
  h.Update("");
  h.Update("a");
  h.Update("");
  h.Update("bc");
  EXPECT_EQ(ToHex(h.Finish()), kAbcHex);
}

}  // namespace
}  // namespace fsml
