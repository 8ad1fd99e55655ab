#include "gate/lifecycle/snapshot_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <thread>


namespace jobgate::gate {

void SortNewestFirst(std::vector<v1::PolicySnapshot>* snapshots) {
  std::sort(snapshots->begin(), snapshots->end(),
            [](const v1::PolicySnapshot& a, const v1::PolicySnapshot& b) {
              const auto ta = std::make_pair(a.created_at().seconds(), a.created_at().nanos());
              const auto tb = std::make_pair(b.created_at().seconds(), b.created_at().nanos());
              return ta != tb ? ta > tb : a.name() > b.name();
            });
}

std::string ValidateSnapshotName(const std::string& name) {
  if (name.empty()) return "a snapshot name must not be empty";
  if (name.size() > 64) return "a snapshot name is at most 64 bytes";
  if (name.front() == '.' || name.front() == '-') {
    return "a snapshot name must not start with '.' or '-'";
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return "a snapshot name uses only letters, digits, '_', '.' and '-'";
  }
  return {};
}

// --- InMemorySnapshotStore ----------------------------------------------------------------

class InMemorySnapshotStore::MemoryWatch final : public SnapshotStore::Watch {
 public:
  MemoryWatch(InMemorySnapshotStore* store, uint64_t id) : store_(store), id_(id) {}
  ~MemoryWatch() override {
    MutexLock lock(&store_->mu_);
    store_->watchers_.erase(id_);
  }

 private:
  InMemorySnapshotStore* store_;
  uint64_t id_;
};

Status InMemorySnapshotStore::PutSnapshot(const v1::PolicySnapshot& snapshot) {
  MutexLock lock(&mu_);
  if (!snapshots_.emplace(snapshot.name(), snapshot).second) {
    return Status(StatusCode::kAlreadyExists, "snapshot '" + snapshot.name() + "' exists");
  }
  order_.push_back(snapshot.name());
  return Status::Ok();
}

Result<v1::PolicySnapshot> InMemorySnapshotStore::GetSnapshot(const std::string& name) {
  MutexLock lock(&mu_);
  auto it = snapshots_.find(name);
  if (it == snapshots_.end()) return NotFound("no snapshot '" + name + "'");
  return it->second;
}

Result<std::vector<v1::PolicySnapshot>> InMemorySnapshotStore::ListSnapshots() {
  MutexLock lock(&mu_);
  std::vector<v1::PolicySnapshot> out;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) out.push_back(snapshots_.at(*it));
  return out;
}

Result<v1::ActiveSnapshot> InMemorySnapshotStore::GetActive() {
  MutexLock lock(&mu_);
  if (revision_ == 0) return NotFound("no active snapshot");
  v1::ActiveSnapshot active = active_;
  active.set_revision(revision_);
  return active;
}

Result<uint64_t> InMemorySnapshotStore::SetActive(const v1::ActiveSnapshot& active,
                                                  uint64_t expected_revision) {
  std::vector<std::function<void(const v1::ActiveSnapshot&)>> to_notify;
  v1::ActiveSnapshot notified;
  {
    MutexLock lock(&mu_);
    if (expected_revision != revision_) {
      return Conflict("the active snapshot changed meanwhile (revision " +
                      std::to_string(revision_) + ", expected " +
                      std::to_string(expected_revision) + ")");
    }
    active_ = active;
    ++revision_;
    active_.set_revision(revision_);
    notified = active_;
    for (const auto& [_, fn] : watchers_) to_notify.push_back(fn);
  }
  for (const auto& fn : to_notify) fn(notified);
  return notified.revision();
}

Result<std::unique_ptr<SnapshotStore::Watch>> InMemorySnapshotStore::WatchActive(
    std::function<void(const v1::ActiveSnapshot&)> on_change) {
  uint64_t id;
  std::optional<v1::ActiveSnapshot> current;
  {
    MutexLock lock(&mu_);
    id = next_watch_id_++;
    watchers_[id] = on_change;
    if (revision_ != 0) {
      current = active_;
      current->set_revision(revision_);
    }
  }
  if (current) on_change(*current);
  return std::unique_ptr<Watch>(std::make_unique<MemoryWatch>(this, id));
}

}  // namespace jobgate::gate
