#include "gate/api/tls_credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace jobgate::gate {

struct TlsCredentials::Pair {
  X509* leaf = nullptr;
  STACK_OF(X509) * chain = nullptr;
  EVP_PKEY* key = nullptr;
  ~Pair() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

namespace {

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no detail";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

struct BioCloser {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioCloser>;

}  // namespace

TlsCredentials::TlsCredentials(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

TlsCredentials::~TlsCredentials() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  stop_.NotifyAll();
  if (watcher_.joinable()) watcher_.join();
}

TlsCredentials::FileStamp TlsCredentials::Stamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  return {st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size, st.st_ino};
}

Result<std::shared_ptr<TlsCredentials::Pair>> TlsCredentials::Read(const std::string& cert_file,
                                                                   const std::string& key_file) {
  auto pair = std::make_shared<Pair>();
  BioPtr cert_bio(BIO_new_file(cert_file.c_str(), "r"));
  if (!cert_bio) return InvalidArgument("cannot read http.tls_cert " + cert_file);
  pair->leaf = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  if (pair->leaf == nullptr) {
    return InvalidArgument("http.tls_cert " + cert_file +
                           " holds no PEM certificate: " + OpenSslError());
  }
  pair->chain = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(pair->chain, extra);
  }
  ERR_clear_error();  // the end of the file reads as an error
  BioPtr key_bio(BIO_new_file(key_file.c_str(), "r"));
  if (!key_bio) return InvalidArgument("cannot read http.tls_key " + key_file);
  pair->key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  if (pair->key == nullptr) {
    return InvalidArgument("http.tls_key " + key_file +
                           " holds no PEM private key: " + OpenSslError());
  }
  if (X509_check_private_key(pair->leaf, pair->key) != 1) {
    ERR_clear_error();
    return InvalidArgument("http.tls_key " + key_file + " does not match the certificate " +
                           cert_file);
  }
  return pair;
}

Result<std::unique_ptr<TlsCredentials>> TlsCredentials::Load(std::string cert_file,
                                                             std::string key_file) {
  std::unique_ptr<TlsCredentials> out(
      new TlsCredentials(std::move(cert_file), std::move(key_file)));
  const FileStamp cert_stamp = Stamp(out->cert_file_);
  const FileStamp key_stamp = Stamp(out->key_file_);
  auto pair = Read(out->cert_file_, out->key_file_);
  if (!pair.ok()) return pair.status();
  {
    MutexLock lock(&out->mu_);  // not shared yet; taken so the analysis sees the writes
    out->pair_ = std::move(*pair);
    out->cert_stamp_ = cert_stamp;
    out->key_stamp_ = key_stamp;
  }
  return out;
}

std::shared_ptr<TlsCredentials::Pair> TlsCredentials::current() const {
  MutexLock lock(&mu_);
  return pair_;
}

int TlsCredentials::OnCertificate(SSL* ssl, void* self) {
  std::shared_ptr<Pair> pair = static_cast<TlsCredentials*>(self)->current();
  // SSL_use_cert_and_key takes its own references: the pair may be replaced right after.
  return SSL_use_cert_and_key(ssl, pair->leaf, pair->key, pair->chain, /*override=*/1) == 1 ? 1 : 0;
}

bool TlsCredentials::Install(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return false;
  SSL_CTX_set_cert_cb(ctx, &TlsCredentials::OnCertificate, this);
  return true;
}

bool TlsCredentials::ReloadIfChanged() {
  const FileStamp cert_stamp = Stamp(cert_file_);
  const FileStamp key_stamp = Stamp(key_file_);
  {
    MutexLock lock(&mu_);
    if (cert_stamp == cert_stamp_ && key_stamp == key_stamp_) return false;
  }
  auto pair = Read(cert_file_, key_file_);
  MutexLock lock(&mu_);
  // Tried once per change: a half-written pair is tried again when the files move on.
  cert_stamp_ = cert_stamp;
  key_stamp_ = key_stamp;
  if (!pair.ok()) {
    spdlog::warn("https: keeping the certificate in use: {}", pair.status().message());
    return false;
  }
  pair_ = std::move(*pair);
  return true;
}

void TlsCredentials::Watch(std::chrono::milliseconds interval) {
  watcher_ = std::thread([this, interval] {
    for (;;) {
      {
        MutexLock lock(&mu_);
        if (stopping_) return;
        stop_.WaitFor(&mu_, interval);  // an early (spurious) wake-up only polls sooner
        if (stopping_) return;
      }
      if (ReloadIfChanged()) spdlog::info("https: serving the reloaded certificate {}", subject());
    }
  });
}

std::string TlsCredentials::subject() const {
  std::shared_ptr<Pair> pair = current();
  char* text = X509_NAME_oneline(X509_get_subject_name(pair->leaf), nullptr, 0);
  std::string out = text != nullptr ? text : "";
  OPENSSL_free(text);
  return out;
}

}  // namespace jobgate::gate
