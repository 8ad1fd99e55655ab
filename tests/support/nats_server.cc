#include "tests/support/nats_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "subjects/codec.h"

namespace jobgate::testing {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/jobgate-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::WriteFile(const std::string& name, const std::string& content) const {
  const std::string file = path_ + "/" + name;
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// ---------------------------------------------------------------------------------------

Subprocess::Subprocess(std::vector<std::string> argv, std::string log_file)
    : log_file_(std::move(log_file)) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    // Signals blocked by the test's threads must not stay blocked in the child.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Subprocess::~Subprocess() {
  if (running()) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

bool Subprocess::running() {
  if (exit_status_ != -1) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

void Subprocess::Signal(int signal) {
  if (running()) kill(pid_, signal);
}

int Subprocess::Wait(std::chrono::milliseconds timeout) {
  if (!WaitFor([this] { return !running(); }, timeout)) return -1;
  return exit_status_;
}

std::string Subprocess::Log() const {
  std::ifstream in(log_file_);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

int Subprocess::PortInLog(const std::regex& pattern) const {
  const std::string log = Log();
  std::smatch match;
  return std::regex_search(log, match, pattern) ? std::stoi(match[1]) : 0;
}

// ---------------------------------------------------------------------------------------

namespace {

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

NatsServer::NatsServer(std::string extra_config) : extra_config_(std::move(extra_config)) {
  store_dir_ = dir_.path() + "/store";
  Start();
}

NatsServer::~NatsServer() { Stop(/*kill=*/true); }

void NatsServer::Start() {
  ++generation_;
  // Port -1: the server picks one. Later starts reuse the port it picked.
  config_file_ = dir_.WriteFile("nats.conf", "host: 127.0.0.1\nport: " +
                                                 std::to_string(port_ == 0 ? -1 : port_) +
                                                 "\njetstream { store_dir: \"" + store_dir_ +
                                                 "\" }\n" + extra_config_ + "\n");
  process_ = std::make_unique<Subprocess>(
      std::vector<std::string>{"nats-server", "-c", config_file_},
      dir_.path() + "/nats-server." + std::to_string(generation_) + ".log");
  static const std::regex kListening(R"(Listening for client connections on 127\.0\.0\.1:(\d+))");
  int listening = 0;
  const bool started = WaitFor(
      [&] {
        listening = process_->PortInLog(kListening);
        return (listening != 0 && Accepts(listening)) || !process_->running();
      },
      std::chrono::seconds(30));
  if (!started || !process_->running()) {
    throw std::runtime_error("nats-server did not start:\n" + process_->Log());
  }
  port_ = listening;
}

void NatsServer::Stop(bool kill) {
  if (process_ == nullptr) return;
  process_->Signal(kill ? SIGKILL : SIGTERM);
  process_->Wait(std::chrono::seconds(30));
  process_.reset();
}

std::string NatsServer::url(const std::string& user, const std::string& password) const {
  const std::string auth = user.empty() ? "" : user + ":" + password + "@";
  return "nats://" + auth + "127.0.0.1:" + std::to_string(port_);
}

// ---------------------------------------------------------------------------------------

namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

NatsCluster::NatsCluster() {
  const std::string deploy = std::string(JOBGATE_SOURCE_DIR) + "/deploy/nats/";
  // nats-server resolves `include` relative to the including file: inline it instead.
  const std::string permissions = ReadText(deploy + "permissions.conf");
  int route_ports[kNodes];
  for (int i = 0; i < kNodes; ++i) {
    ports_[i] = FreePort();
    route_ports[i] = FreePort();
  }
  for (int i = 0; i < kNodes; ++i) {
    std::string conf = ReadText(deploy + "cluster/node" + std::to_string(i + 1) + ".conf");
    std::smatch name;
    if (std::regex_search(conf, name, std::regex(R"(server_name:\s*(\S+))"))) names_[i] = name[1];
    // Client port (the top-level `port:`), no monitoring port, a temporary store.
    conf = std::regex_replace(conf, std::regex(R"((^|\n)port:[ \t]*\d+)"),
                              "$1port: " + std::to_string(ports_[i]));
    conf = std::regex_replace(conf, std::regex(R"(\nhttp_port:\s*\d+)"), "\n");
    const std::string store = dir_.path() + "/store-" + std::to_string(i + 1);
    conf =
        std::regex_replace(conf, std::regex(R"(store_dir:\s*\S+)"), "store_dir: \"" + store + "\"");
    // Route ports: the deploy files use 6222..6224 for nodes 1..3.
    conf = std::regex_replace(conf, std::regex(R"((\n[ \t]+)port:[ \t]*\d+)"),
                              "$1port: " + std::to_string(route_ports[i]));
    for (int j = 0; j < kNodes; ++j) {
      conf = std::regex_replace(conf, std::regex("127\\.0\\.0\\.1:" + std::to_string(6222 + j)),
                                "127.0.0.1:" + std::to_string(route_ports[j]));
    }
    conf = std::regex_replace(conf, std::regex(R"(include\s+\.\./permissions\.conf)"), "");
    config_files_[i] =
        dir_.WriteFile("node" + std::to_string(i + 1) + ".conf", conf + "\n" + permissions);
    if (names_[i].empty()) throw std::runtime_error("no server_name in node config");
  }
  for (int i = 0; i < kNodes; ++i) Start(i);
}

NatsCluster::~NatsCluster() {
  for (int i = 0; i < kNodes; ++i) Stop(i, /*kill=*/true);
}

void NatsCluster::Start(int node) {
  ++generation_;
  processes_[node] = std::make_unique<Subprocess>(
      std::vector<std::string>{"nats-server", "-c", config_files_[node]},
      dir_.path() + "/node" + std::to_string(node + 1) + "." + std::to_string(generation_) +
          ".log");
  Subprocess* process = processes_[node].get();
  const int port = ports_[node];
  if (!WaitFor([&] { return Accepts(port) || !process->running(); }, std::chrono::seconds(30)) ||
      !process->running()) {
    throw std::runtime_error("nats-server node did not start:\n" + process->Log());
  }
}

void NatsCluster::Stop(int node, bool kill) {
  if (processes_[node] == nullptr) return;
  processes_[node]->Signal(kill ? SIGKILL : SIGTERM);
  processes_[node]->Wait(std::chrono::seconds(30));
  processes_[node].reset();
}

std::string NatsCluster::url(const std::string& user, const std::string& password) const {
  const std::string auth = user.empty() ? "" : user + ":" + password + "@";
  std::string out;
  for (int i = 0; i < kNodes; ++i) {
    if (i > 0) out += ",";
    out += "nats://" + auth + "127.0.0.1:" + std::to_string(ports_[i]);
  }
  return out;
}

int NatsCluster::NodeNamed(const std::string& server_name) const {
  for (int i = 0; i < kNodes; ++i) {
    if (names_[i] == server_name) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------

struct JetStreamClient::Impl {
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
};

JetStreamClient::JetStreamClient(const std::string& url) : impl_(std::make_unique<Impl>()) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  // One URL, or several separated by commas (a cluster: NatsCluster::url()).
  std::vector<std::string> servers;
  for (size_t start = 0; start <= url.size();) {
    const size_t comma = std::min(url.find(',', start), url.size());
    servers.push_back(url.substr(start, comma - start));
    start = comma + 1;
  }
  std::vector<const char*> server_ptrs;
  for (const std::string& server : servers) server_ptrs.push_back(server.c_str());
  natsOptions_SetServers(opts, server_ptrs.data(), static_cast<int>(server_ptrs.size()));
  natsOptions_SetMaxReconnect(opts, -1);
  natsOptions_SetReconnectWait(opts, 50);
  const natsStatus s = natsConnection_Connect(&impl_->conn, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK)
    throw std::runtime_error(std::string("test client connect: ") + natsStatus_GetText(s));
  natsConnection_JetStream(&impl_->js, impl_->conn, nullptr);
}

JetStreamClient::~JetStreamClient() {
  jsCtx_Destroy(impl_->js);
  natsConnection_Destroy(impl_->conn);
}

Status JetStreamClient::Publish(const std::string& subject, const std::string& body,
                                const std::map<std::string, std::string>& headers) {
  natsMsg* msg = nullptr;
  natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
  for (const auto& [k, v] : headers) natsMsgHeader_Set(msg, k.c_str(), v.c_str());
  jsPubAck* ack = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = 10000;
  const natsStatus s = js_PublishMsg(&ack, impl_->js, msg, &options, &err);
  jsPubAck_Destroy(ack);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) return Unavailable(std::string("publish: ") + natsStatus_GetText(s));
  return Status::Ok();
}

Status JetStreamClient::PublishJob(const v1::Job& job, bool as_json) {
  if (as_json) {
    return Publish(job.topic(), subjects::ToJson(job), {{"Content-Type", "application/json"}});
  }
  return Publish(job.topic(), job.SerializeAsString());
}

int64_t JetStreamClient::LastSequence(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  if (js_GetStreamInfo(&si, impl_->js, stream.c_str(), nullptr, nullptr) != NATS_OK) return -1;
  const int64_t n = static_cast<int64_t>(si->State.LastSeq);
  jsStreamInfo_Destroy(si);
  return n;
}

int64_t JetStreamClient::Count(const std::string& stream, const std::string& filter) {
  if (filter.empty()) {
    jsStreamInfo* si = nullptr;
    if (js_GetStreamInfo(&si, impl_->js, stream.c_str(), nullptr, nullptr) != NATS_OK) return -1;
    const int64_t n = static_cast<int64_t>(si->State.Msgs);
    jsStreamInfo_Destroy(si);
    return n;
  }
  // Messages on a subject: an ephemeral consumer's pending count.
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Config.AckPolicy = js_AckNone;
  natsSubscription* sub = nullptr;
  if (js_PullSubscribe(&sub, impl_->js, filter.c_str(), nullptr, nullptr, &so, nullptr) !=
      NATS_OK) {
    return -1;
  }
  jsConsumerInfo* ci = nullptr;
  int64_t n = -1;
  if (natsSubscription_GetConsumerInfo(&ci, sub, nullptr, nullptr) == NATS_OK) {
    n = static_cast<int64_t>(ci->NumPending);
    jsConsumerInfo_Destroy(ci);
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  return n;
}

std::vector<StoredMessage> JetStreamClient::ReadAll(const std::string& stream,
                                                    const std::string& filter,
                                                    std::chrono::milliseconds timeout) {
  std::vector<StoredMessage> out;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Config.AckPolicy = js_AckNone;
  natsSubscription* sub = nullptr;
  if (js_PullSubscribe(&sub, impl_->js, filter.c_str(), nullptr, nullptr, &so, nullptr) !=
      NATS_OK) {
    return out;
  }
  jsConsumerInfo* ci = nullptr;
  uint64_t expected = 0;
  if (natsSubscription_GetConsumerInfo(&ci, sub, nullptr, nullptr) == NATS_OK) {
    expected = ci->NumPending;
    jsConsumerInfo_Destroy(ci);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    natsMsgList list{nullptr, 0};
    if (natsSubscription_Fetch(&list, sub, 1024, 1000, nullptr) != NATS_OK) continue;
    for (int i = 0; i < list.Count; ++i) {
      natsMsg* m = list.Msgs[i];
      StoredMessage stored;
      stored.subject = natsMsg_GetSubject(m);
      stored.data.assign(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
      const char** keys = nullptr;
      int count = 0;
      if (natsMsgHeader_Keys(m, &keys, &count) == NATS_OK) {
        for (int k = 0; k < count; ++k) {
          const char* value = nullptr;
          natsMsgHeader_Get(m, keys[k], &value);
          stored.headers[keys[k]] = value != nullptr ? value : "";
        }
        free(keys);
      }
      out.push_back(std::move(stored));
    }
    natsMsgList_Destroy(&list);
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  return out;
}

JetStreamClient::StreamCluster JetStreamClient::Cluster(const std::string& stream) {
  StreamCluster out;
  jsStreamInfo* si = nullptr;
  if (js_GetStreamInfo(&si, impl_->js, stream.c_str(), nullptr, nullptr) != NATS_OK) return out;
  if (si->Cluster != nullptr) {
    if (si->Cluster->Leader != nullptr) out.leader = si->Cluster->Leader;
    for (int i = 0; i < si->Cluster->ReplicasLen; ++i) {
      const jsPeerInfo* peer = si->Cluster->Replicas[i];
      if (peer != nullptr && peer->Current && !peer->Offline) ++out.current_replicas;
    }
  }
  jsStreamInfo_Destroy(si);
  return out;
}

Status JetStreamClient::DeleteStream(const std::string& stream) {
  jsErrCode err = static_cast<jsErrCode>(0);
  const natsStatus s = js_DeleteStream(impl_->js, stream.c_str(), nullptr, &err);
  if (s != NATS_OK) return Unavailable(std::string("delete stream: ") + natsStatus_GetText(s));
  return Status::Ok();
}

Status JetStreamClient::PurgeStream(const std::string& stream) {
  jsErrCode err = static_cast<jsErrCode>(0);
  const natsStatus s = js_PurgeStream(impl_->js, stream.c_str(), nullptr, &err);
  if (s != NATS_OK) return Unavailable(std::string("purge stream: ") + natsStatus_GetText(s));
  return Status::Ok();
}

JetStreamClient::ConsumerState JetStreamClient::Consumer(const std::string& stream,
                                                         const std::string& durable) {
  ConsumerState state;
  jsConsumerInfo* ci = nullptr;
  if (js_GetConsumerInfo(&ci, impl_->js, stream.c_str(), durable.c_str(), nullptr, nullptr) !=
      NATS_OK) {
    return state;
  }
  state.ok = true;
  state.num_pending = ci->NumPending;
  state.num_ack_pending = ci->NumAckPending;
  state.num_redelivered = ci->NumRedelivered;
  jsConsumerInfo_Destroy(ci);
  return state;
}

// ---------------------------------------------------------------------------------------

GateProcess::GateProcess(const std::string& nats_url, const std::vector<std::string>& flags,
                         const TempDir& dir, const std::string& name) {
  std::vector<std::string> argv = {JOBGATE_BINARY, "run",       "--nats",      nats_url,
                                   "--http",       "127.0.0.1:0", "--metrics", "127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  process_ = std::make_unique<Subprocess>(argv, dir.path() + "/" + name + ".log");
}

void GateProcess::ResolvePorts() const {
  if (http_port_ != 0 && metrics_port_ != 0) return;
  static const std::regex kHttp(R"(\] http on 127\.0\.0\.1:(\d+))");
  static const std::regex kMetrics(R"(\] metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  WaitFor(
      [this] {
        if (http_port_ == 0) http_port_ = process_->PortInLog(kHttp);
        if (metrics_port_ == 0) metrics_port_ = process_->PortInLog(kMetrics);
        return (http_port_ != 0 && metrics_port_ != 0) || !process_->running();
      },
      std::chrono::seconds(30));
}

int GateProcess::http_port() const {
  ResolvePorts();
  return http_port_;
}

int GateProcess::metrics_port() const {
  ResolvePorts();
  return metrics_port_;
}

int GateProcess::Get(const std::string& path, std::string* body) const {
  httplib::Client client("127.0.0.1", http_port());
  client.set_connection_timeout(1, 0);
  auto response = client.Get(path.c_str());
  if (!response) return 0;
  if (body != nullptr) *body = response->body;
  return response->status;
}

double GateProcess::Metric(const std::string& prefix) const {
  httplib::Client client("127.0.0.1", metrics_port());
  client.set_connection_timeout(1, 0);
  auto response = client.Get("/metrics");
  if (!response || response->status != 200) return -1;
  double sum = 0;
  std::istringstream lines(response->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t space = line.rfind(' ');
    if (space != std::string::npos) sum += std::stod(line.substr(space + 1));
  }
  return sum;
}

double GateProcess::MetricReaching(const std::string& prefix, double want,
                                   std::chrono::milliseconds timeout) const {
  double last = -1;
  WaitFor(
      [&] {
        last = Metric(prefix);
        return last == want;
      },
      timeout);
  return last;
}

bool GateProcess::WaitReady(std::chrono::milliseconds timeout) const {
  return WaitFor([this] { return Get("/readyz") == 200; }, timeout);
}

}  // namespace jobgate::testing
