// What the approval sweep costs as the approvals bucket grows: fills a fresh bucket with
// --resolved finished approvals (approved and released, as every resolution ends) and
// --pending ones not yet due, then, as a gate replica starting up would, opens the store
// and runs the sweep (ApprovalService::ExpireDue) --rounds times, and counts the pending
// approvals (what every approve or reject does after its write). Prints, for each step,
// its wall time and the CPU this process used:
//
//   fill_s 12.3
//   first_sweep_ms 850.1 first_sweep_cpu_ms 610.0
//   rss_before_mb 20.1 rss_after_mb 31.2     (around the first sweep)
//   sweep_ms 1.2 sweep_cpu_ms 0.4          (median of the later rounds)
//   count_ms 0.9 count_cpu_ms 0.3          (median)
//   list_ms 40.2 list_cpu_ms 30.1 list_peak_growth_mb 3.2 list_json_mb 0.1
//                                          (GET /api/v1/approvals: the first page as
//                                          the API answers it, JSON included)
//
//   jobgate_bench_sweep --nats URL [--resolved 100000] [--pending 1000] [--rounds 5]
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gate/approvals/approvals.h"
#include "gate/nats/nats_bus.h"
#include "gate/nats/nats_approval_store.h"
#include "subjects/codec.h"

namespace {

using jobgate::gate::ApprovalOptions;
using jobgate::gate::ApprovalPublisher;
using jobgate::gate::ApprovalService;
using jobgate::gate::NatsConnection;
using jobgate::gate::NatsConnectOptions;
using jobgate::gate::NatsKvApprovalStore;
using jobgate::gate::OutboundMessage;
using jobgate::gate::SystemClock;
using Record = jobgate::v1::PendingApproval;

// Nothing is released or expired here: the sweep's reads are what is measured.
class NoPublisher final : public ApprovalPublisher {
 public:
  jobgate::Status Publish(const OutboundMessage&) override { return jobgate::Status::Ok(); }
};

double CpuMillis() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

double WallMillis() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A held migration like the benchmark's: a job with labels and SQL, and its decision.
Record Held(int i, Record::Status status, int64_t expires_at_ms) {
  Record record;
  jobgate::v1::Job* job = record.mutable_job();
  job->set_job_id("sweep-" + std::to_string(i));
  job->set_tenant_id("default");
  job->set_topic("job.db.migrate");
  job->set_environment("prod");
  job->mutable_actor()->set_agent_id("agent-" + std::to_string(i % 97));
  job->mutable_actor()->set_owner("team-data");
  (*job->mutable_labels())["ticket"] = "OPS-" + std::to_string(i);
  (*job->mutable_args()->mutable_fields())["sql"].set_string_value(
      "ALTER TABLE orders ADD COLUMN note_" + std::to_string(i) + " text");
  record.mutable_decision()->set_decision(jobgate::v1::REQUIRE_APPROVAL);
  record.mutable_decision()->set_reason("schema changes in prod need a DBA");
  record.mutable_decision()->set_approver_role("dba");
  record.set_subject("job.db.migrate");
  record.set_status(status);
  record.set_released(status != Record::PENDING);
  record.mutable_approval()->set_outcome(Record::Status_Name(status));
  record.mutable_approval()->set_job_digest(jobgate::gate::JobDigest(*job));
  record.mutable_approval()->mutable_expires_at()->set_seconds(expires_at_ms / 1000);
  return record;
}

// Resident memory, MB: `field` of /proc/self/status (VmRSS now, VmHWM the peak).
double StatusMb(const char* field = "VmRSS") {
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return 0;
  char line[256];
  const std::string format = std::string(field) + ": %lf kB";
  double kb = 0;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    if (std::sscanf(line, format.c_str(), &kb) == 1) break;
  }
  std::fclose(status);
  return kb / 1024;
}
double RssMb() { return StatusMb(); }

// Starts VmHWM over from the current resident size (proc(5), /proc/PID/clear_refs).
void ResetPeakRss() {
  FILE* clear = std::fopen("/proc/self/clear_refs", "w");
  if (clear == nullptr) return;
  std::fputs("5", clear);
  std::fclose(clear);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int resolved = 100000, pending = 1000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--nats")) url = argv[i + 1];
    if (!std::strcmp(argv[i], "--resolved")) resolved = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--pending")) pending = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  if (url.empty()) {
    std::fprintf(stderr, "usage: %s --nats URL [--resolved N] [--pending N] [--rounds N]\n",
                 argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);  // stdout is for the figures
  NatsConnectOptions connect;
  connect.servers = {url};
  auto connection = NatsConnection::Connect(connect, /*wait=*/true);
  if (!connection.ok()) {
    std::fprintf(stderr, "%s\n", connection.status().ToString().c_str());
    return 1;
  }
  SystemClock clock;
  const int64_t far = clock.UnixMillis() + 86'400'000;

  {  // fill, in batches as the dispatcher holds jobs
    auto store = NatsKvApprovalStore::Open(connection->get(), {});
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      return 1;
    }
    const double start = WallMillis();
    const int total = resolved + pending;
    for (int first = 0; first < total; first += 1000) {
      std::vector<Record> batch;
      for (int i = first; i < std::min(total, first + 1000); ++i) {
        batch.push_back(Held(i, i < resolved ? Record::APPROVED : Record::PENDING, far));
      }
      std::vector<const Record*> pointers;
      for (const Record& r : batch) pointers.push_back(&r);
      std::vector<jobgate::Result<uint64_t>> revisions;
      (*store)->CreateMany(pointers, &revisions);
      for (const auto& revision : revisions) {
        if (!revision.ok()) {
          std::fprintf(stderr, "fill: %s\n", revision.status().ToString().c_str());
          return 1;
        }
      }
    }
    std::printf("fill_s %.1f\n", (WallMillis() - start) / 1e3);
  }

  // A replica starting: a fresh store handle, its first sweep, then the periodic ones.
  auto store = NatsKvApprovalStore::Open(connection->get(), {});
  if (!store.ok()) return 1;
  NoPublisher publisher;
  ApprovalService service(store->get(), &publisher, nullptr, &clock, ApprovalOptions{});
  const double rss_before = RssMb();
  double wall = WallMillis(), cpu = CpuMillis();
  auto expired = service.ExpireDue();
  if (!expired.ok()) {
    std::fprintf(stderr, "sweep: %s\n", expired.status().ToString().c_str());
    return 1;
  }
  std::printf("first_sweep_ms %.1f first_sweep_cpu_ms %.1f\n", WallMillis() - wall,
              CpuMillis() - cpu);
  std::printf("rss_before_mb %.1f rss_after_mb %.1f\n", rss_before, RssMb());
  std::vector<double> sweep_wall, sweep_cpu, count_wall, count_cpu;
  for (int r = 0; r < rounds; ++r) {
    wall = WallMillis(), cpu = CpuMillis();
    if (!service.ExpireDue().ok()) return 1;
    sweep_wall.push_back(WallMillis() - wall);
    sweep_cpu.push_back(CpuMillis() - cpu);
    wall = WallMillis(), cpu = CpuMillis();
    auto count = service.CountPending();
    if (!count.ok() || *count != pending) {
      std::fprintf(stderr, "count: %lld, want %d\n",
                   count.ok() ? static_cast<long long>(*count) : -1LL, pending);
      return 1;
    }
    count_wall.push_back(WallMillis() - wall);
    count_cpu.push_back(CpuMillis() - cpu);
  }
  std::printf("sweep_ms %.1f sweep_cpu_ms %.1f\n", Median(sweep_wall), Median(sweep_cpu));
  std::printf("count_ms %.1f count_cpu_ms %.1f\n", Median(count_wall), Median(count_cpu));

  // What an approver's GET /api/v1/approvals costs the gate: the store read, the answer
  // and its JSON.
  ResetPeakRss();
  const double rss_at_list = RssMb();
  wall = WallMillis(), cpu = CpuMillis();
  size_t json_bytes = 0;
  {
    auto list = service.List(jobgate::v1::ListApprovalsRequest());  // the first page
    if (!list.ok()) {
      std::fprintf(stderr, "list: %s\n", list.status().ToString().c_str());
      return 1;
    }
    json_bytes = jobgate::subjects::ToJson(*list, /*pretty=*/true).size();
  }
  std::printf("list_ms %.1f list_cpu_ms %.1f list_peak_growth_mb %.1f list_json_mb %.1f\n",
              WallMillis() - wall, CpuMillis() - cpu, StatusMb("VmHWM") - rss_at_list,
              json_bytes / 1e6);
  return 0;
}
