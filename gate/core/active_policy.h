// The policy the gate enforces now: an immutable compiled snapshot behind an atomic
// pointer.
//
// Readers (the dispatcher, once per batch) take a shared_ptr copy without locks and keep
// evaluating with it even if a new snapshot is set meanwhile; the old one is freed when
// its last reader lets go. Set() swaps atomically (the policy lifecycle).
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "policy/policy.h"

namespace jobgate::gate {

class ActivePolicy {
 public:
  std::shared_ptr<const policy::Policy> Get() const {
    return policy_.load(std::memory_order_acquire);
  }
  void Set(std::shared_ptr<const policy::Policy> policy) {
    policy_.store(std::move(policy), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const policy::Policy>> policy_;
};

}  // namespace jobgate::gate
