#include "gate/core/job_digest.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <optional>

#include "base/hash.h"
#include "subjects/codec.h"

namespace jobgate::gate {

std::string JobDigest(const v1::Job& job) {
  // Unknown fields are not part of the job as shown (JSON drops them), so they are not
  // part of its digest. Decoded jobs have none (the decoder refuses them); a stored
  // record from a gate on another schema may.
  std::optional<v1::Job> canonical;
  if (!subjects::UnknownFieldsPath(job).empty()) {
    canonical.emplace(job);
    canonical->DiscardUnknownFields();
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    (canonical.has_value() ? *canonical : job).SerializeToCodedStream(&coded);
  }  // the coded stream flushes into `bytes` here
  return "sha256:" + jobgate::Sha256Hex(bytes);
}

}  // namespace jobgate::gate
