#include "gate/core/sessions.h"

#include <google/protobuf/util/time_util.h>

namespace jobgate::gate {

using google::protobuf::util::TimeUtil;

std::string SessionStoreKey(std::string_view tenant_id, std::string_view session) {
  std::string key = std::to_string(tenant_id.size());
  key.reserve(key.size() + 1 + tenant_id.size() + session.size());
  key.push_back(':');
  key.append(tenant_id);
  key.append(session);
  return key;
}

policy::SessionRecording RecordingOf(const SessionStoreOptions& options) {
  policy::SessionRecording recording;
  recording.keep_ms = options.keep.count();
  recording.max_events = options.max_events;
  return recording;
}

v1::SessionState NewSessionState(std::string_view tenant_id, std::string_view session,
                                 int64_t now_unix_ms) {
  v1::SessionState state;
  state.set_tenant_id(std::string(tenant_id));
  state.set_session(std::string(session));
  state.set_status(v1::SessionState::ACTIVE);
  *state.mutable_first_seen() = TimeUtil::MillisecondsToTimestamp(now_unix_ms);
  *state.mutable_last_seen() = state.first_seen();
  return state;
}

void SessionCache::Fold(const v1::SessionChange& change, uint64_t revision,
                        const policy::SessionRecording& recording) {
  const std::string key = SessionStoreKey(change.tenant_id(), change.session());
  MutexLock lock(&mu_);
  auto it = states_.find(key);
  if (it == states_.end()) {
    auto fresh = std::make_shared<v1::SessionState>(
        NewSessionState(change.tenant_id(), change.session(), change.at_unix_ms()));
    if (!policy::ApplySessionChange(change, recording, /*known=*/false, fresh.get())) return;
    fresh->set_revision(revision);
    states_.emplace(key, std::move(fresh));
    return;
  }
  SessionPtr& slot = it->second;
  // Held by nobody else (a new holder needs mu_): changed in place, not copied. States
  // are made non-const (make_shared<v1::SessionState>), so the cast is defined.
  if (slot.use_count() == 1) {
    auto* state = const_cast<v1::SessionState*>(slot.get());
    if (policy::ApplySessionChange(change, recording, /*known=*/true, state)) {
      state->set_revision(revision);
    }
    return;
  }
  if (!policy::SessionChangeMatters(change, recording, /*known=*/true, *slot)) return;
  auto next = std::make_shared<v1::SessionState>(*slot);
  policy::ApplySessionChange(change, recording, /*known=*/true, next.get());
  next->set_revision(revision);
  slot = std::move(next);
}

void SessionCache::Erase(const std::string& key) {
  MutexLock lock(&mu_);
  states_.erase(key);
}

SessionPtr SessionCache::Find(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = states_.find(key);
  return it == states_.end() ? nullptr : it->second;
}

std::vector<SessionPtr> SessionCache::List() const {
  MutexLock lock(&mu_);
  std::vector<SessionPtr> out;
  out.reserve(states_.size());
  for (const auto& [key, state] : states_) out.push_back(state);
  return out;
}

size_t SessionCache::Expire(int64_t oldest_unix_ms) {
  MutexLock lock(&mu_);
  return std::erase_if(states_, [oldest_unix_ms](const auto& entry) {
    return TimeUtil::TimestampToMilliseconds(entry.second->last_seen()) < oldest_unix_ms;
  });
}

SessionPtr InMemorySessionStore::FindKey(const std::string& key) const {
  return cache_.Find(key);
}

void InMemorySessionStore::Apply(std::span<const v1::SessionChange> changes,
                                 std::vector<Result<SessionPtr>>* out) {
  MutexLock lock(&mu_);
  out->clear();
  Status failed = !failure_.ok() ? failure_ : write_failure_;
  if (!failed.ok()) {
    out->assign(changes.size(), Result<SessionPtr>(failed));
    return;
  }
  cache_.Expire(clock_->UnixMillis() - options_.idle.count());
  const policy::SessionRecording recording = RecordingOf(options_);
  ++revision_;  // one write: one revision for the whole batch
  for (const v1::SessionChange& change : changes) cache_.Fold(change, revision_, recording);
  out->reserve(changes.size());
  for (const v1::SessionChange& change : changes) {
    out->push_back(cache_.Find(SessionStoreKey(change.tenant_id(), change.session())));
  }
}

std::vector<SessionPtr> InMemorySessionStore::List() const { return cache_.List(); }

Status InMemorySessionStore::Ready() const {
  MutexLock lock(&mu_);
  return failure_;
}

void InMemorySessionStore::set_write_failure(Status status) {
  MutexLock lock(&mu_);
  write_failure_ = std::move(status);
}

void InMemorySessionStore::set_failure(Status status) {
  MutexLock lock(&mu_);
  failure_ = std::move(status);
}

}  // namespace jobgate::gate
