#include "subjects/headers.h"

#include "base/hash.h"

namespace jobgate::subjects {

void MessageIdPrefix(std::string_view tenant_id, std::string_view job_id, std::string* out) {
  unsigned char digest[kSha256Bytes];
  Sha256({tenant_id, "\x1f", job_id}, digest);
  out->clear();
  AppendHex(digest, 16, out);
  out->push_back(':');
}

std::string MessageId(std::string_view tenant_id, std::string_view job_id,
                      std::string_view target) {
  std::string id;
  MessageIdPrefix(tenant_id, job_id, &id);
  id.append(target);
  return id;
}

std::string SubmissionMessageId(std::string_view tenant_id, std::string_view job_id) {
  std::string id(tenant_id);
  id.append(":").append(job_id);
  return id;
}

std::string PlaceholderMessageId(std::string_view msg_id, std::string_view chain,
                                 std::string_view seq) {
  std::string id(msg_id);
  id.append("~").append(chain).append(".").append(seq);
  return id;
}

}  // namespace jobgate::subjects
