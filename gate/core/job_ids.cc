#include "gate/core/job_ids.h"

#include "base/hash.h"

namespace jobgate::gate {

std::string JobIdKey(std::string_view tenant_id, std::string_view job_id) {
  unsigned char digest[jobgate::kSha256Bytes];
  jobgate::Sha256({tenant_id, "\x1f", job_id}, digest);
  std::string key;
  jobgate::AppendHex(digest, jobgate::kSha256Bytes, &key);
  return key;
}

void InMemoryJobIdStore::set_failure(Status status) {
  MutexLock lock(&mu_);
  failure_ = std::move(status);
}

void InMemoryJobIdStore::ClaimMany(std::span<const JobIdClaim> claims,
                                   std::vector<Result<JobIdAnswer>>* answers) {
  answers->clear();
  answers->reserve(claims.size());
  const auto now = clock_->Now();
  MutexLock lock(&mu_);
  for (const JobIdClaim& claim : claims) {
    if (!failure_.ok()) {
      answers->push_back(failure_);
      continue;
    }
    const std::string key = JobIdKey(claim.tenant_id, claim.job_id);
    auto [it, inserted] = entries_.try_emplace(key);
    if (inserted || it->second.expires <= now) {
      it->second.digest.assign(claim.digest);
      it->second.expires = now + ttl_;
    }
    JobIdAnswer answer;
    answer.first_digest = it->second.digest;
    answer.conflict = it->second.digest != claim.digest;
    answers->push_back(std::move(answer));
  }
}

}  // namespace jobgate::gate
