// The HTTP listener's certificate and key (config `http.tls_cert`, `http.tls_key`: PEM
// files; the certificate file may carry the chain after the leaf), reloaded when the files
// change so a renewed certificate is served without a restart.
//
// Install() sets a certificate callback on an OpenSSL server context: every handshake
// takes the pair current at that moment, so a reload never touches a context in use and
// connections already open keep theirs. A reload that fails (a file half written, a key
// that does not match the certificate) keeps the pair in use and is logged; the next
// change is tried again.
//
// Ownership: Load() answers the object; it must outlive every context it was installed
// on. Watch() starts a thread that checks the files every `interval`, stopped by the
// destructor. Thread-safe: the pair is swapped under a mutex.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "base/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace jobgate::gate {

class TlsCredentials {
 public:
  // Reads and checks both files (the key must match the certificate).
  static Result<std::unique_ptr<TlsCredentials>> Load(std::string cert_file, std::string key_file);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // Makes `ctx` serve the current pair (TLS 1.2 at least). True on success.
  bool Install(SSL_CTX* ctx);

  // Reloads when either file changed since the last load (its modification time, size or
  // inode). Answers whether a new pair is now served; a failed reload keeps the old one.
  bool ReloadIfChanged();
  void Watch(std::chrono::milliseconds interval = std::chrono::seconds(2));

  // The served certificate's subject, for logs ("CN=gate.example").
  std::string subject() const;

 private:
  struct Pair;
  struct FileStamp {
    time_t mtime_sec = 0;
    long mtime_nsec = 0;
    off_t size = 0;
    ino_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  TlsCredentials(std::string cert_file, std::string key_file);
  static Result<std::shared_ptr<Pair>> Read(const std::string& cert_file,
                                            const std::string& key_file);
  static FileStamp Stamp(const std::string& path);
  static int OnCertificate(SSL* ssl, void* self);
  std::shared_ptr<Pair> current() const;

  const std::string cert_file_;
  const std::string key_file_;
  mutable Mutex mu_;
  std::shared_ptr<Pair> pair_ GUARDED_BY(mu_);
  FileStamp cert_stamp_ GUARDED_BY(mu_);
  FileStamp key_stamp_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  CondVar stop_;
  std::thread watcher_;
};

}  // namespace jobgate::gate
