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

std::string RejectionMessageId(std::string_view subject, std::string_view publish_msg_id,
                               uint64_t stream_sequence, std::string_view body_sha256) {
  std::string material(subject);
  material.push_back('\x1f');
  if (publish_msg_id.empty()) {
    material.append("seq:").append(std::to_string(stream_sequence));
  } else {
    material.append("pub:").append(publish_msg_id);
  }
  material.push_back('\x1f');
  material.append(body_sha256);
  return jobgate::Sha256Hex(material).substr(0, 40);
}

std::string PlaceholderMessageId(std::string_view msg_id, std::string_view chain,
                                 std::string_view seq) {
  std::string id(msg_id);
  id.append("~").append(chain).append(".").append(seq);
  return id;
}

}  // namespace jobgate::subjects
