#include "subjects/binding.h"

#include "subjects/subjects.h"

namespace jobgate::subjects {
namespace {

constexpr std::string_view kDefaultTenant = "default";

Status Refuse(BindingRefusal* refusal, std::string reason, std::string field,
              std::string_view claimed, std::string_view bound, std::string message) {
  if (refusal != nullptr) {
    refusal->reason = std::move(reason);
    refusal->field = std::move(field);
    refusal->claimed.assign(claimed);
    refusal->bound.assign(bound);
  }
  return InvalidArgument(std::move(message));
}

}  // namespace

bool ParseTenantSource(std::string_view text, TenantSource* out) {
  if (text == "body") {
    *out = TenantSource::kBody;
    return true;
  }
  if (text == "subject_token") {
    *out = TenantSource::kSubjectToken;
    return true;
  }
  return false;
}

std::string_view TenantSourceName(TenantSource source) {
  return source == TenantSource::kSubjectToken ? "subject_token" : "body";
}

Status BindJob(std::string_view subject, const JobBinding& binding, v1::Job* job,
               BindingRefusal* refusal) {
  if (job->job_id().empty()) {
    return Refuse(refusal, "missing_job_id", "job_id", "", "", "job has no job_id");
  }
  // The topic: always the arrival subject, byte for byte.
  if (!job->topic().empty() && job->topic() != subject) {
    return Refuse(refusal, "topic_mismatch", "topic", job->topic(), subject,
                  "the body's topic '" + job->topic() + "' is not the subject '" +
                      std::string(subject) + "' the job arrived on");
  }
  std::string_view tenant = job->tenant_id();
  if (binding.tenant_from == TenantSource::kSubjectToken) {
    const std::string_view rest = RestOf(subject, binding.job_prefix);
    const size_t dot = rest.find('.');
    if (rest.empty() || dot == 0 || dot == std::string_view::npos || dot + 1 == rest.size()) {
      return Refuse(refusal, "bad_subject", "tenant_id", job->tenant_id(), "",
                    "subject '" + std::string(subject) + "' has no <tenant>.<action> after '" +
                        binding.job_prefix + "'");
    }
    const std::string_view bound = rest.substr(0, dot);
    if (!tenant.empty() && tenant != bound) {
      return Refuse(refusal, "tenant_mismatch", "tenant_id", tenant, bound,
                    "the body's tenant_id '" + std::string(tenant) +
                        "' is not the tenant '" + std::string(bound) + "' of subject '" +
                        std::string(subject) + "'");
    }
    tenant = bound;
  } else if (tenant.empty()) {
    tenant = kDefaultTenant;
  }
  if (job->tenant_id() != tenant) job->set_tenant_id(std::string(tenant));
  if (job->topic().empty()) job->set_topic(std::string(subject));
  return Status::Ok();
}

}  // namespace jobgate::subjects
