// Load generator and meter for the gate bench (bench/gate/run).
//
//   setup   --nats URL [--duplicate-window S]   ensure the gate's streams (default config;
//           with S, that duplicate window)
//   fill    --nats URL --jobs FILE --count N --tag T [--policy FILE]
//           publish N jobs (protobuf) cycling through FILE's templates, ids "T-<i>"
//   drain   --nats URL --count N --tag T --mode gate|relay [--start-file F]
//           count decision records of tag T on audit.decisions.>; prints "ready" once
//           subscribed, then the throughput between the first and the N-th record; with
//           --start-file, between the moment F appears and the N-th record (so the
//           start-up of a second consumer process is not counted)
//   latency --nats URL --jobs FILE --rate R --seconds S --tag T --mode gate|relay [--policy FILE]
//           publish at R jobs/s for S s, time each until its record appears
//   settle  --nats URL --durable D         wait until consumer D has nothing pending
//   streaminfo --nats URL --stream S       messages and bytes in stream S
//   purge   --nats URL --stream S          empty stream S
//
// --policy drops templates the policy would THROTTLE: their redelivery by design would
// measure the rate limit, not the gate; with --decision V as well, only the templates
// the policy decides V are kept. --size B (fill, latency) pads each job's payload with
// text so the serialized job is about B bytes. Output lines are "key value" pairs.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gate/daemon/config.h"
#include "gate/nats/nats_bus.h"
#include "jobgate/v1/jobgate.pb.h"
#include "policy/policy.h"
#include "subjects/codec.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = ::jobgate::v1;

std::map<std::string, std::string> g_flags;

std::string Flag(const std::string& name, const std::string& fallback = "") {
  const auto it = g_flags.find(name);
  return it == g_flags.end() ? fallback : it->second;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "loadgen: %s\n", what.c_str());
  std::exit(1);
}

// With `send_asap` every publish is written at once (nats.c's SendAsap) instead of by
// nats.c's flusher thread after its 1 ms pause: a latency probe must not add that.
natsConnection* Connect(bool send_asap = false) {
  natsConnection* nc = nullptr;
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, Flag("nats", "nats://127.0.0.1:4222").c_str());
  natsOptions_SetSendAsap(opts, send_asap);
  const natsStatus s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) Die(std::string("connect: ") + natsStatus_GetText(s));
  return nc;
}

std::vector<v1::Job> LoadTemplates() {
  std::ifstream in(Flag("jobs"));
  if (!in) Die("cannot read --jobs " + Flag("jobs"));
  std::shared_ptr<const jobgate::policy::Policy> policy;
  if (!Flag("policy").empty()) {
    auto compiled = jobgate::policy::CompileFile(Flag("policy"));
    if (!compiled.ok()) Die(compiled.ErrorText());
    policy = compiled.policy;
  }
  std::vector<v1::Job> jobs;
  std::string line;
  size_t throttled = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    v1::Job job;
    if (!jobgate::subjects::FromJson(line, &job).ok() || job.topic().empty()) continue;
    if (policy != nullptr) {
      const v1::Verdict verdict = policy->Decide(job).decision();
      if (verdict == v1::THROTTLE) {
        ++throttled;
        continue;
      }
      if (!Flag("decision").empty() && jobgate::policy::VerdictName(verdict) != Flag("decision")) {
        continue;
      }
    }
    jobs.push_back(std::move(job));
  }
  const size_t size = std::stoul(Flag("size", "0"));
  for (auto& job : jobs) {
    // job_id grows to about 16 bytes when published ("tag-123456").
    const size_t have = job.ByteSizeLong() + 16 - std::min<size_t>(16, job.job_id().size());
    if (size > have + 4) {
      std::string text;
      while (text.size() < size - have - 4) text += "status report for the deploy pipeline ";
      text.resize(size - have - 4);
      job.set_payload(text);
    }
  }
  if (jobs.empty()) Die("no usable jobs in " + Flag("jobs"));
  std::fprintf(stderr, "loadgen: %zu job templates (%zu THROTTLE ones left out)\n", jobs.size(),
               throttled);
  return jobs;
}

// Index of a job id "T-<i>" of `tag`, or -1.
int64_t IndexOf(const std::string& job_id, const std::string& tag) {
  if (job_id.size() <= tag.size() + 1 || job_id.compare(0, tag.size(), tag) != 0 ||
      job_id[tag.size()] != '-') {
    return -1;
  }
  return std::strtoll(job_id.c_str() + tag.size() + 1, nullptr, 10);
}

// Moves `in` to the payload of length-delimited field `field`, skipping the other fields
// without parsing them, and limits `in` to it; false if absent or not protobuf.
bool EnterField(google::protobuf::io::CodedInputStream* in, uint32_t field) {
  while (const uint32_t tag = in->ReadTag()) {
    if (tag == ((field << 3) | 2)) {
      uint32_t length = 0;
      if (!in->ReadVarint32(&length)) return false;
      in->PushLimit(static_cast<int>(length));
      return true;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(in, tag)) return false;
  }
  return false;
}

// The job id inside a record: DecisionRecord {4: Job {1: job_id}} from the gate, the Job
// {1: job_id} itself from the relay. Only the id is read, so the meter costs the same in
// both modes (a full parse of the gate's larger record would charge the meter's CPU,
// taken from the same cores, to the gate).
std::string RecordJobId(const char* data, int len, bool gate) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(data), len);
  std::string id;
  if (gate && !EnterField(&in, 4)) return id;
  if (EnterField(&in, 1)) in.ReadString(&id, in.BytesUntilLimit());
  return id;
}

void PublishJob(jsCtx* js, v1::Job& job, const std::string& id) {
  job.set_job_id(id);
  const std::string body = job.SerializeAsString();
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MsgId = id.c_str();
  natsStatus s;
  while ((s = js_PublishAsync(js, job.topic().c_str(), body.data(), static_cast<int>(body.size()),
                              &options)) == NATS_TIMEOUT) {
  }
  if (s != NATS_OK) Die(std::string("publish: ") + natsStatus_GetText(s));
}

int Setup() {
  jobgate::gate::NatsConnectOptions options;
  options.servers = {Flag("nats", "nats://127.0.0.1:4222")};
  auto connection = jobgate::gate::NatsConnection::Connect(options, true);
  if (!connection.ok()) Die(connection.status().ToString());
  jobgate::gate::GateConfig config;
  const std::string window = Flag("duplicate-window");
  for (const auto* stream : config.streams()) {
    jobgate::gate::StreamSpec spec = *stream;
    // The bench drains one fill with several durables (the relay's, the gate's): JOBS
    // keeps its jobs for each, where the gate's default work queue would hand each job to
    // one durable only (and refuse the second).
    if (stream == &config.jobs_stream) spec.retention = jobgate::gate::StreamSpec::Retention::kLimits;
    if (!window.empty()) spec.duplicate_window = std::chrono::seconds(std::stoi(window));
    if (auto s = (*connection)->EnsureStream(spec); !s.ok()) Die(s.ToString());
  }
  return 0;
}

int Fill() {
  std::vector<v1::Job> templates = LoadTemplates();
  const int64_t count = std::stoll(Flag("count", "10000"));
  const std::string tag = Flag("tag", "fill");
  natsConnection* nc = Connect();
  jsOptions options;
  jsOptions_Init(&options);
  options.PublishAsync.MaxPending = 16384;
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, &options);
  const auto start = Clock::now();
  for (int64_t i = 0; i < count; ++i) {
    PublishJob(js, templates[static_cast<size_t>(i) % templates.size()],
               tag + "-" + std::to_string(i));
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 60000;
  if (js_PublishAsyncComplete(js, &wait) != NATS_OK) Die("fill: publishes not acknowledged");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  size_t bytes = 0;
  for (const auto& job : templates) bytes += job.ByteSizeLong();
  std::printf("filled %lld\nfill_rate %.0f\njob_bytes %zu\n", static_cast<long long>(count),
              count / seconds, bytes / templates.size());
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}

struct Meter {
  std::string tag;
  bool gate = true;
  int64_t expected = 0;
  std::mutex mu;
  std::vector<Clock::time_point> received;  // by index; time_point{} = not yet
  std::atomic<int64_t> count{0};
  Clock::time_point first, last;
};

void OnRecord(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* meter = static_cast<Meter*>(closure);
  const auto now = Clock::now();
  const std::string id = RecordJobId(natsMsg_GetData(msg), natsMsg_GetDataLength(msg), meter->gate);
  natsMsg_Destroy(msg);
  const int64_t index = IndexOf(id, meter->tag);
  if (index < 0) return;
  std::lock_guard lock(meter->mu);
  if (static_cast<size_t>(index) < meter->received.size()) {
    if (meter->received[index] != Clock::time_point{}) return;  // duplicate
    meter->received[index] = now;
  }
  const int64_t n = ++meter->count;
  if (n == 1) meter->first = now;
  meter->last = now;
}

natsSubscription* SubscribeRecords(natsConnection* nc, Meter* meter) {
  natsSubscription* sub = nullptr;
  if (natsConnection_Subscribe(&sub, nc, "audit.decisions.>", OnRecord, meter) != NATS_OK) {
    Die("subscribe");
  }
  natsSubscription_SetPendingLimits(sub, -1, -1);
  natsConnection_FlushTimeout(nc, 5000);
  return sub;
}

int Drain() {
  Meter meter;
  meter.tag = Flag("tag", "fill");
  meter.gate = Flag("mode", "gate") == "gate";
  meter.expected = std::stoll(Flag("count", "10000"));
  meter.received.assign(static_cast<size_t>(meter.expected), Clock::time_point{});
  natsConnection* nc = Connect();
  natsSubscription* sub = SubscribeRecords(nc, &meter);
  std::printf("ready\n");
  std::fflush(stdout);
  const auto deadline = Clock::now() + std::chrono::seconds(std::stoi(Flag("timeout", "300")));
  const std::string start_file = Flag("start-file");
  int64_t window_start_count = -1;
  Clock::time_point window_start;
  while (meter.count.load() < meter.expected && Clock::now() < deadline) {
    if (!start_file.empty() && window_start_count < 0 && std::ifstream(start_file).good()) {
      window_start = Clock::now();
      window_start_count = meter.count.load();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard lock(meter.mu);
  double seconds = std::chrono::duration<double>(meter.last - meter.first).count();
  int64_t counted = meter.count.load() - 1;
  if (window_start_count >= 0) {
    seconds = std::chrono::duration<double>(meter.last - window_start).count();
    counted = meter.count.load() - window_start_count;
  }
  std::printf("received %lld\nthroughput %.0f\nwindow_records %lld\n",
              static_cast<long long>(meter.count.load()), seconds > 0 ? counted / seconds : 0.0,
              static_cast<long long>(counted));
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  return meter.count.load() == meter.expected ? 0 : 1;
}

int Latency() {
  std::vector<v1::Job> templates = LoadTemplates();
  const double rate = std::stod(Flag("rate", "1000"));
  const double seconds = std::stod(Flag("seconds", "5"));
  const int64_t count = static_cast<int64_t>(rate * seconds);
  Meter meter;
  meter.tag = Flag("tag", "lat");
  meter.gate = Flag("mode", "gate") == "gate";
  meter.expected = count;
  meter.received.assign(static_cast<size_t>(count), Clock::time_point{});
  std::vector<Clock::time_point> sent(static_cast<size_t>(count));

  natsConnection* nc = Connect();
  natsSubscription* sub = SubscribeRecords(nc, &meter);
  natsConnection* pub = Connect(/*send_asap=*/true);
  jsOptions options;
  jsOptions_Init(&options);
  options.PublishAsync.MaxPending = 16384;
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, pub, &options);

  const auto start = Clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  for (int64_t i = 0; i < count; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * i);
    // Sleep, never spin: a spinning publisher would take one of the cores the consumer
    // and nats-server share. A job whose time passed during an oversleep goes at once;
    // each is timed from its actual publish.
    if (Clock::now() < due) std::this_thread::sleep_until(due);
    sent[static_cast<size_t>(i)] = Clock::now();
    PublishJob(js, templates[static_cast<size_t>(i) % templates.size()],
               meter.tag + "-" + std::to_string(i));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (meter.count.load() < count && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<double> micros;
  {
    std::lock_guard lock(meter.mu);
    for (int64_t i = 0; i < count; ++i) {
      if (meter.received[i] == Clock::time_point{}) continue;
      micros.push_back(
          std::chrono::duration<double, std::micro>(meter.received[i] - sent[i]).count());
    }
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) {
    return micros.empty()
               ? 0.0
               : micros[std::min(micros.size() - 1, static_cast<size_t>(p * micros.size()))];
  };
  std::printf(
      "sent %lld\nreceived %zu\np50_us %.0f\np90_us %.0f\np99_us %.0f\np999_us %.0f\nmax_us "
      "%.0f\njob_bytes %zu\n",
      static_cast<long long>(count), micros.size(), pct(0.50), pct(0.90), pct(0.99), pct(0.999),
      micros.empty() ? 0.0 : micros.back(), templates[0].ByteSizeLong());
  jsCtx_Destroy(js);
  natsConnection_Destroy(pub);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
  return 0;
}

int Settle() {
  natsConnection* nc = Connect();
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  const std::string durable = Flag("durable", "jobgate");
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    jsConsumerInfo* ci = nullptr;
    if (js_GetConsumerInfo(&ci, js, "JOBS", durable.c_str(), nullptr, nullptr) == NATS_OK) {
      const bool done = ci->NumPending == 0 && ci->NumAckPending == 0;
      jsConsumerInfo_Destroy(ci);
      if (done) {
        std::printf("settled %s\n", durable.c_str());
        return 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Die("consumer " + durable + " did not settle");
}

int StreamInfo() {
  natsConnection* nc = Connect();
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  jsStreamInfo* si = nullptr;
  const std::string stream = Flag("stream", "JOBS");
  if (js_GetStreamInfo(&si, js, stream.c_str(), nullptr, nullptr) != NATS_OK) {
    Die("no stream " + stream);
  }
  std::printf("msgs %llu\nbytes %llu\n", static_cast<unsigned long long>(si->State.Msgs),
              static_cast<unsigned long long>(si->State.Bytes));
  jsStreamInfo_Destroy(si);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}

// Empties stream S (a missing stream is nothing to empty).
int Purge() {
  natsConnection* nc = Connect();
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, nullptr);
  const std::string stream = Flag("stream", "JOBS");
  jsErrCode error = static_cast<jsErrCode>(0);
  const natsStatus s = js_PurgeStream(js, stream.c_str(), nullptr, &error);
  if (s != NATS_OK && error != JSStreamNotFoundErr) Die("purge " + stream + " failed");
  std::printf("purged %s\n", stream.c_str());
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    Die("usage: jobgate_bench_loadgen setup|fill|drain|latency|settle|streaminfo|purge --flag value...");
  const std::string verb = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0) Die(std::string("unexpected ") + argv[i]);
    g_flags[argv[i] + 2] = argv[i + 1];
  }
  if (verb == "setup") return Setup();
  if (verb == "fill") return Fill();
  if (verb == "drain") return Drain();
  if (verb == "latency") return Latency();
  if (verb == "settle") return Settle();
  if (verb == "streaminfo") return StreamInfo();
  if (verb == "purge") return Purge();
  Die("unknown verb " + verb);
}
