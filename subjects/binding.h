// Binding a job to where it arrived: the attributes a job is judged by and the attributes
// that route it must be the same ones.
//
// The contract: the topic a job is judged as is the subject it arrived on. A body whose
// `topic` is set and differs is refused (`topic_mismatch`), never judged on the body's
// claim; an empty one is filled from the subject. The tenant comes from the body
// (`tenant_id`, default "default") or, where tenants share a bus, from a subject token
// the publisher cannot forge under least-privilege permissions (`job.<tenant>.…`): then
// a body naming another tenant is refused (`tenant_mismatch`), an empty one is filled.
//
// Pure functions and plain values; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "jobgate/v1/jobgate.pb.h"
#include "base/status.h"

namespace jobgate::subjects {

// Where a job's tenant comes from.
enum class TenantSource {
  kBody,          // the body's tenant_id ("default" when empty)
  kSubjectToken,  // the first token after the job prefix: job.<tenant>.<action...>
};

// Parses "body" / "subject_token"; false for anything else.
bool ParseTenantSource(std::string_view text, TenantSource* out);
std::string_view TenantSourceName(TenantSource source);

struct JobBinding {
  std::string job_prefix = "job";
  TenantSource tenant_from = TenantSource::kBody;
};

// Why BindJob refused a job: a machine-readable reason (missing_job_id, bad_subject,
// topic_mismatch, tenant_mismatch), and for the mismatches the field and both values.
struct BindingRefusal {
  std::string reason;
  std::string field;
  std::string claimed;  // what the body said
  std::string bound;    // what the arrival says
};

// Binds `job` (decoded from a message on `subject`) to its arrival: fills tenant_id and
// topic where empty, and refuses a job whose body contradicts them or that has no job_id.
// On a refusal returns InvalidArgument and, when `refusal` is not null, fills it; the job
// is then left as decoded.
Status BindJob(std::string_view subject, const JobBinding& binding, v1::Job* job,
               BindingRefusal* refusal = nullptr);

}  // namespace jobgate::subjects
