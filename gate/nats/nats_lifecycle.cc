#include "gate/nats/nats_lifecycle.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "gate/core/decisions.h"
#include "gate/nats/nats_util.h"
#include "subjects/codec.h"
#include "subjects/headers.h"

namespace jobgate::gate {

NatsRecentJobs::NatsRecentJobs(NatsConnection* connection, RecentJobsOptions options)
    : connection_(connection), options_(std::move(options)) {}

namespace {

// One decision record's job, and the record's size.
struct RecordedJob {
  size_t bytes = 0;
  v1::Job job;
};

// Appends the jobs of the original decision records stored in [from, through] and no
// earlier than `not_before_ns`; sets *reached_window when a record older than that was
// read.
Status ReadSpan(jsCtx* js, const RecentJobsOptions& options, uint64_t from, uint64_t through,
                int64_t not_before_ns, std::chrono::milliseconds timeout,
                std::vector<RecordedJob>* out, bool* reached_window) {
  // Every message of the span, not only the records' subjects: a consumer filtered on
  // subjects none of the span's messages has may answer "no messages" before it has
  // looked past them (seen with nats-server 2.9.10), which would end the read early.
  StreamReadOptions read;
  read.stream = options.stream;
  read.start_sequence = from;
  read.timeout = timeout;
  const std::string prefix = options.decisions + ".";
  return ReadStream(js, read, through, [&](natsMsg* msg, const jsMsgMetaData& meta) {
    if (meta.Sequence.Stream > through) return;
    if (std::string_view(natsMsg_GetSubject(msg)).substr(0, prefix.size()) != prefix) return;
    if (not_before_ns > 0 && meta.Timestamp < not_before_ns) {
      *reached_window = true;
      return;
    }
    v1::DecisionRecord record;
    const int size = natsMsg_GetDataLength(msg);
    if (!record.ParseFromArray(natsMsg_GetData(msg), size)) return;
    if (record.has_approval() || !record.has_job() || record.job().job_id().empty()) return;
    out->push_back(RecordedJob{static_cast<size_t>(size), std::move(*record.mutable_job())});
  });
}

// The jobs of `spans` (newest span first, each in stream order) oldest first, each job
// once (its first record), the newest `max_jobs` of them within `max_bytes` of records.
std::vector<v1::Job> NewestUnique(std::vector<std::vector<RecordedJob>> spans, size_t max_jobs,
                                  size_t max_bytes) {
  std::vector<RecordedJob*> unique;
  std::unordered_set<std::string> seen;
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    for (RecordedJob& r : *it) {
      if (seen.insert(r.job.tenant_id() + '\x1f' + r.job.job_id()).second) unique.push_back(&r);
    }
  }
  size_t begin = unique.size() > max_jobs ? unique.size() - max_jobs : 0;
  size_t kept_bytes = 0;
  for (size_t i = begin; i < unique.size(); ++i) kept_bytes += unique[i]->bytes;
  while (begin < unique.size() && kept_bytes > max_bytes) kept_bytes -= unique[begin++]->bytes;
  std::vector<v1::Job> jobs;
  jobs.reserve(unique.size() - begin);
  for (size_t i = begin; i < unique.size(); ++i) jobs.push_back(std::move(unique[i]->job));
  return jobs;
}

}  // namespace

Result<std::vector<v1::Job>> NatsRecentJobs::Fetch(size_t max_jobs) {
  if (max_jobs == 0) return std::vector<v1::Job>{};
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  auto js = NewJetStreamContext(connection_->raw(), options_.timeout, "recent jobs");
  if (!js.ok()) return js.status();
  auto info = GetStreamInfo(js->get(), options_.stream);
  if (!info.ok()) return info.status();
  const uint64_t first = std::max<uint64_t>(1, (*info)->State.FirstSeq);
  const uint64_t last = (*info)->State.LastSeq;
  if ((*info)->State.Msgs == 0 || last < first) return std::vector<v1::Job>{};
  const int64_t not_before_ns =
      options_.window.count() > 0
          ? std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch() - options_.window)
                .count()
          : 0;

  // Spans from the end backwards, each twice the one before: the stream also holds denied
  // copies, alerts and policy events, and resolutions share the records' subjects.
  std::vector<std::vector<RecordedJob>> spans;  // newest first, each in stream order
  size_t found = 0;
  size_t bytes = 0;
  uint64_t span = std::max<uint64_t>(1024, 2 * static_cast<uint64_t>(max_jobs));
  uint64_t through = last;
  bool reached_window = false;
  while (true) {
    const uint64_t from = through - first + 1 > span ? through - span + 1 : first;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::vector<RecordedJob> part;
    Status s = left.count() > 0
                   ? ReadSpan(js->get(), options_, from, through, not_before_ns, left, &part,
                              &reached_window)
                   : Status(StatusCode::kDeadlineExceeded, "no time left");
    if (s.code() == StatusCode::kDeadlineExceeded) {
      return Status(StatusCode::kDeadlineExceeded,
                    "read only " + std::to_string(found + part.size()) + " recent jobs from " +
                        options_.stream + " in time");
    }
    if (!s.ok()) return s;
    found += part.size();
    for (const RecordedJob& r : part) bytes += r.bytes;
    spans.push_back(std::move(part));
    if (found >= max_jobs || reached_window || from == first || bytes >= options_.max_bytes) break;
    through = from - 1;
    span *= 2;
  }

  return NewestUnique(std::move(spans), max_jobs, options_.max_bytes);
}

NatsStreamJobs::NatsStreamJobs(NatsConnection* connection, std::string stream,
                               std::chrono::milliseconds timeout, subjects::JobBinding binding)
    : connection_(connection),
      stream_(std::move(stream)),
      timeout_(timeout),
      binding_(std::move(binding)) {}

Result<std::vector<v1::Job>> NatsStreamJobs::Fetch(size_t max_jobs) {
  std::vector<v1::Job> jobs;
  if (max_jobs == 0) return jobs;
  jsCtx* raw_js = nullptr;
  natsStatus s = natsConnection_JetStream(&raw_js, connection_->raw(), nullptr);
  if (s != NATS_OK) return FromNats(s, "JetStream context");
  NatsPtr<jsCtx> js(raw_js);

  auto info = GetStreamInfo(js.get(), stream_);
  if (!info.ok()) return info.status();
  if ((*info)->Config->Retention == js_WorkQueuePolicy) {
    return Status(StatusCode::kFailedPrecondition,
                  "stream " + stream_ +
                      " is a work queue: it keeps no job once judged (the decision records "
                      "on the audit stream do)");
  }
  const uint64_t first = (*info)->State.FirstSeq;
  const uint64_t last = (*info)->State.LastSeq;
  if ((*info)->State.Msgs == 0 || last == 0) return jobs;
  const uint64_t start = std::max<uint64_t>(first, last >= max_jobs ? last - max_jobs + 1 : 1);

  StreamReadOptions read;
  read.stream = stream_;
  read.start_sequence = start;
  read.timeout = timeout_;
  jobs.reserve(static_cast<size_t>(last - start + 1));
  const Status status =
      ReadStream(js.get(), read, last, [&jobs, this](natsMsg* msg, const jsMsgMetaData&) {
        const char* content_type = nullptr;
        natsMsgHeader_Get(msg, "Content-Type", &content_type);
        auto job = subjects::DecodeJob(
            std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))),
            subjects::FormatFromContentType(content_type != nullptr ? content_type : ""));
        if (job.ok() && subjects::BindJob(natsMsg_GetSubject(msg), binding_, &*job).ok()) {
          jobs.push_back(std::move(*job));
        }
      });
  if (status.code() == StatusCode::kDeadlineExceeded) {
    return Status(StatusCode::kDeadlineExceeded, "read only " + std::to_string(jobs.size()) +
                                                     " recent jobs from " + stream_ + " in time");
  }
  if (!status.ok()) return status;
  return jobs;
}

NatsPolicyEventSink::NatsPolicyEventSink(NatsConnection* connection, std::string subject)
    : connection_(connection), subject_(std::move(subject)) {}

void NatsPolicyEventSink::Emit(const v1::PolicyEvent& event) {
  OutboundMessage message;
  message.subject = subject_;
  message.msg_id = "policy-event-" + NewDecisionId();
  message.headers.emplace_back(subjects::kPolicyEventHeader, event.kind());
  message.body = event.SerializeAsString();
  auto ack = connection_->Publish(message, std::chrono::seconds(5));
  if (!ack.ok()) {
    spdlog::error("policy event '{}' ({} -> {}) not recorded on {}: {}", event.kind(),
                  event.from_snapshot(), event.to_snapshot(), subject_, ack.status().message());
  }
}

}  // namespace jobgate::gate
