// libFuzzer target: JWT parsing and verification (HS256 and RS256 configured).
// A forged token must never verify.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/jwt.h"

namespace {

std::string PublicPem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  std::string pem(p, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

const tokenlog::api::JwtVerifier& Verifier() {
  static std::unique_ptr<tokenlog::api::JwtVerifier> v = [] {
    tokenlog::api::JwtConfig config;
    config.hs256_secret = "fuzz-secret-0123456789abcdef0123";
    config.rs256_public_key_pem = PublicPem();
    return std::move(tokenlog::api::JwtVerifier::Create(config)).value();
  }();
  return *v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto principal = Verifier().Verify(in, 1'795'910'400'000);
  // Without the secret (or the private key) nothing can verify, except a
  // token the fuzzer signed by finding an HMAC collision.
  if (principal.ok()) __builtin_trap();
  return 0;
}
