#include "store/aws_sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "core/sha256.h"
#include "core/text.h"

namespace fsml::sigv4 {
namespace {

// Trims the ends and folds each run of spaces or tabs into one space.
std::string FoldSpaces(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::string Hex(const uint8_t* p, size_t n) { return HexEncode(p, n); }

std::string_view AsView(const Key& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    if (IsUriUnreserved(ch) || (keep_slash && ch == '/')) out.push_back(ch);
    else AppendPercentEscape(out, static_cast<unsigned char>(ch));
  }
  return out;
}

std::string CanonicalUri(std::string_view path) {
  if (path.empty()) return "/";
  return UriEncode(path, /*keep_slash=*/true);
}

std::string CanonicalQueryString(std::span<const std::pair<std::string, std::string>> query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

CanonicalHeaderList CanonicalHeaders(std::span<const Header> headers) {
  std::vector<std::pair<std::string, std::string>> lowered;
  lowered.reserve(headers.size());
  for (const Header& h : headers) lowered.emplace_back(AsciiLower(FoldSpaces(h.name)), FoldSpaces(h.value));
  // Stable: values of a repeated name keep the order they were given in.
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaderList out;
  for (size_t i = 0; i < lowered.size(); ++i) {
    if (i > 0 && lowered[i].first == lowered[i - 1].first) {
      out.canonical.pop_back();  // the '\n' of the previous value
      out.canonical += "," + lowered[i].second + "\n";
      continue;
    }
    if (!out.signed_names.empty()) out.signed_names.push_back(';');
    out.signed_names += lowered[i].first;
    out.canonical += lowered[i].first + ":" + lowered[i].second + "\n";
  }
  return out;
}

std::string CanonicalRequest(const Request& request) {
  CanonicalHeaderList headers = CanonicalHeaders(request.headers);
  std::string out;
  out.reserve(256 + headers.canonical.size());
  out += request.method;
  out += '\n';
  out += CanonicalUri(request.path);
  out += '\n';
  out += CanonicalQueryString(request.query);
  out += '\n';
  out += headers.canonical;
  out += '\n';
  out += headers.signed_names;
  out += '\n';
  out += request.payload_sha256;
  return out;
}

std::string CredentialScope(std::string_view date, std::string_view region, std::string_view service) {
  std::string out;
  out.reserve(64);
  out.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out += Sha256Hex(canonical_request);
  return out;
}

Key HmacSha256(std::string_view key, std::string_view data) {
  Key out{};
  unsigned int len = 0;
  // HMAC with the built-in SHA-256 over in-memory buffers cannot fail.
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

Key SigningKey(std::string_view secret_access_key, std::string_view date, std::string_view region,
               std::string_view service) {
  std::string k_secret = "AWS4";
  k_secret.append(secret_access_key);
  Key k_date = HmacSha256(k_secret, date);
  // Overwrite the copy of the secret before the memory is released.
  std::fill(k_secret.begin(), k_secret.end(), '\0');
  Key k_region = HmacSha256(AsView(k_date), region);
  Key k_service = HmacSha256(AsView(k_region), service);
  return HmacSha256(AsView(k_service), "aws4_request");
}

std::string Signature(const Key& signing_key, std::string_view string_to_sign) {
  Key mac = HmacSha256(AsView(signing_key), string_to_sign);
  return Hex(mac.data(), mac.size());
}

std::string AuthorizationHeader(std::string_view access_key_id, std::string_view scope,
                                std::string_view signed_names, std::string_view signature) {
  std::string out(kAlgorithm);
  out.append(" Credential=").append(access_key_id).append("/").append(scope);
  out.append(",SignedHeaders=").append(signed_names);
  out.append(",Signature=").append(signature);
  return out;
}

std::string Authorization(const Request& request, std::string_view access_key_id,
                          std::string_view secret_access_key, std::string_view amz_date,
                          std::string_view region, std::string_view service) {
  std::string_view date = amz_date.substr(0, 8);
  std::string scope = CredentialScope(date, region, service);
  std::string canonical = CanonicalRequest(request);
  std::string to_sign = StringToSign(amz_date, scope, canonical);
  std::string signature = Signature(SigningKey(secret_access_key, date, region, service), to_sign);
  return AuthorizationHeader(access_key_id, scope, CanonicalHeaders(request.headers).signed_names, signature);
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace fsml::sigv4
