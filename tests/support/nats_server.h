// Test support: a real nats-server with JetStream per test, the jobgate binary as a
// subprocess, and small JetStream inspection helpers.
//
// Every server listens on a free loopback port with its own temporary store directory;
// NatsCluster runs three such servers as one JetStream cluster (deploy/nats/cluster).
// destructors kill what they started and remove what they created. Waiting is always on
// a condition (WaitFor) with a generous deadline, never a bare sleep.
// Not thread-safe: one test thread drives these objects.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::testing {

// A loopback TCP port nobody listens on right now.
int FreePort();

// A fresh directory under $TMPDIR, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string WriteFile(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Polls `condition` every 10 ms until it holds or `timeout` passes; true if it held.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A child process with stdout and stderr going to a log file.
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, std::string log_file);
  ~Subprocess();  // SIGKILL if still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int signal);
  // Waits for exit; returns the exit status (128+signal when killed), or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string Log() const;
  // The port captured by `pattern`'s first group in the log so far; 0 when absent.
  int PortInLog(const std::regex& pattern) const;

 private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
  std::string log_file_;
};

class NatsServer {
 public:
  // `extra_config` is appended to the generated server config (e.g. authorization).
  explicit NatsServer(std::string extra_config = "");
  ~NatsServer();

  // Starts (again, on the same port and store) and waits until it accepts connections.
  // The first start lets the server choose a free port and reads it from its log, so no
  // other process can take the port between its choice and the bind.
  void Start();
  // SIGTERM (clean) or SIGKILL, and wait for exit.
  void Stop(bool kill = false);

  int port() const { return port_; }
  // nats://[user:password@]127.0.0.1:port
  std::string url(const std::string& user = "", const std::string& password = "") const;
  const std::string& store_dir() const { return store_dir_; }

 private:
  TempDir dir_;
  int port_ = 0;
  std::string store_dir_;
  std::string extra_config_;
  std::string config_file_;
  std::unique_ptr<Subprocess> process_;
  int generation_ = 0;
};

// A three-node JetStream cluster on loopback, its configs derived from
// deploy/nats/cluster/node{1,2,3}.conf (so with the deploy users and least-privilege
// permissions): free client and route ports, no monitoring port, temporary stores.
// The constructor starts every node; nodes are then stopped and started one by one.
class NatsCluster {
 public:
  static constexpr int kNodes = 3;
  NatsCluster();
  ~NatsCluster();

  // Starts `node` (again, same ports and store) and waits until it accepts connections.
  void Start(int node);
  // SIGTERM (clean) or SIGKILL, and wait for exit.
  void Stop(int node, bool kill = false);
  bool running(int node) const { return processes_[node] != nullptr; }

  // Every node's client URL, comma separated (clients fail over between them).
  std::string url(const std::string& user = "", const std::string& password = "") const;
  // The node's `server_name` (what JetStream names stream leaders by).
  const std::string& server_name(int node) const { return names_[node]; }
  // The node called `server_name`; -1 when none is.
  int NodeNamed(const std::string& server_name) const;

 private:
  TempDir dir_;
  int ports_[kNodes] = {};
  std::string names_[kNodes];
  std::string config_files_[kNodes];
  std::unique_ptr<Subprocess> processes_[kNodes];
  int generation_ = 0;
};

// One message as stored in a stream.
struct StoredMessage {
  std::string subject;
  std::string data;
  std::map<std::string, std::string> headers;
};

// A test client: publish jobs, read streams, inspect the consumer.
class JetStreamClient {
 public:
  // `url`: one server URL, or several separated by commas.
  explicit JetStreamClient(const std::string& url);
  ~JetStreamClient();
  JetStreamClient(const JetStreamClient&) = delete;
  JetStreamClient& operator=(const JetStreamClient&) = delete;

  // Publishes raw bytes to JetStream (waits for the stream's ack).
  Status Publish(const std::string& subject, const std::string& body,
                 const std::map<std::string, std::string>& headers = {});
  Status PublishJob(const v1::Job& job, bool as_json = false);

  // Messages stored in `stream` (optionally only those on `filter`); -1 on error.
  int64_t Count(const std::string& stream, const std::string& filter = "");
  // The last sequence `stream` assigned: how many messages it ever stored, removed ones
  // included (JetStream never reuses a sequence); -1 on error.
  int64_t LastSequence(const std::string& stream);
  // Every message stored in `stream` matching `filter` (a subject, wildcards allowed),
  // read within `timeout` (what was read by then when it runs out).
  std::vector<StoredMessage> ReadAll(const std::string& stream, const std::string& filter,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // A replicated stream's leader (its server name) and how many of its other replicas
  // are current; leader empty when the stream has none or is not clustered.
  struct StreamCluster {
    std::string leader;
    int current_replicas = 0;
  };
  StreamCluster Cluster(const std::string& stream);
  // Deletes `stream` (a KV bucket is stream KV_<bucket>).
  Status DeleteStream(const std::string& stream);
  // Removes every message of `stream`; its sequence numbers go on from where they were.
  Status PurgeStream(const std::string& stream);

  struct ConsumerState {
    uint64_t num_pending = 0;
    int64_t num_ack_pending = 0;
    int64_t num_redelivered = 0;
    bool ok = false;
  };
  ConsumerState Consumer(const std::string& stream = "JOBS",
                         const std::string& durable = "jobgate");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Starts `jobgate run` with the given extra flags against `nats_url`, HTTP and metrics
// each on a free loopback port.
class GateProcess {
 public:
  GateProcess(const std::string& nats_url, const std::vector<std::string>& flags,
              const TempDir& dir, const std::string& name = "gate");

  Subprocess& process() { return *process_; }
  // The ports the gate bound: it is started with `:0` (so no other process can take a
  // port between its choice and the bind) and logs what it got. The first call waits up
  // to 30 s for those log lines; 0 when they never came (the gate did not start).
  int http_port() const;
  int metrics_port() const;
  // GET http://127.0.0.1:<http_port><path>; status 0 when unreachable.
  int Get(const std::string& path, std::string* body = nullptr) const;
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // Sum of the samples whose series starts with `prefix` (e.g. `jobgate_throttled_total`
  // or `jobgate_decisions_total{decision="ALLOW"`); -1 when /metrics is unreachable.
  double Metric(const std::string& prefix) const;
  // Metric(prefix) once it equals `want`, or the last value read when `timeout` passes
  // first. Counters move after the copies a test can see are stored (the job is acked,
  // then counted), so a test that has seen the copies waits for the count.
  double MetricReaching(const std::string& prefix, double want,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

 private:
  void ResolvePorts() const;

  mutable int http_port_ = 0;
  mutable int metrics_port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace jobgate::testing
