#include "gate/sessions.h"

#include <google/protobuf/util/time_util.h>

#include "base/hash.h"

namespace jobgate::gate {

using google::protobuf::util::TimeUtil;

std::string SessionStoreKey(std::string_view tenant_id, std::string_view session) {
  return jobgate::Sha256Hex(std::string(tenant_id) + '\x1f' + std::string(session));
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

void SessionCache::Apply(const std::string& key, SessionPtr state) {
  MutexLock lock(&mu_);
  SessionPtr& slot = states_[key];
  if (slot == nullptr || slot->revision() <= state->revision()) slot = std::move(state);
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

SessionPtr InMemorySessionStore::Find(std::string_view tenant_id,
                                      std::string_view session) const {
  return cache_.Find(SessionStoreKey(tenant_id, session));
}

Result<SessionPtr> InMemorySessionStore::Update(std::string_view tenant_id,
                                                std::string_view session,
                                                const SessionMutation& mutate) {
  MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  if (!write_failure_.ok()) return write_failure_;
  const int64_t now = clock_->UnixMillis();
  cache_.Expire(now - options_.idle.count());
  const std::string key = SessionStoreKey(tenant_id, session);
  SessionPtr current = cache_.Find(key);
  v1::SessionState next = current != nullptr ? *current : NewSessionState(tenant_id, session, now);
  if (!mutate(&next)) {
    if (current != nullptr) return current;
    return SessionPtr(std::make_shared<const v1::SessionState>(std::move(next)));
  }
  next.set_revision(++revision_);
  auto stored = std::make_shared<const v1::SessionState>(std::move(next));
  cache_.Apply(key, stored);
  return SessionPtr(stored);
}

std::vector<SessionPtr> InMemorySessionStore::List() const { return cache_.List(); }

Status InMemorySessionStore::Ready() const {
  MutexLock lock(&mu_);
  return failure_;
}

void SessionStore::UpdateMany(std::span<const SessionWrite> writes,
                              std::vector<Result<SessionPtr>>* out) {
  out->clear();
  out->reserve(writes.size());
  for (const SessionWrite& write : writes) {
    out->push_back(Update(write.tenant_id, write.session, write.mutate));
  }
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
