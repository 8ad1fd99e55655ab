// The secret scanner (see secrets.h): one RE2::Set pass over a text, then each detector
// that fired confirms its match; the redaction markers; and the walk over a job's strings.
// The detectors and the judgments of a candidate value are in secret_catalogue.cc.

#include "policy/analysis/secrets.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <type_traits>
#include <unordered_set>

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <atomic>

#include "base/hash.h"
#include "policy/analysis/secret_catalogue.h"

namespace jobgate::policy {

struct SecretScanner::Detector {
  std::string id;
  std::unique_ptr<RE2> re;
  int secret_group = 0;         // 0: the whole match is the secret
  double min_entropy = 0;       // bits per byte the secret must reach (generic detector)
  bool skip_hash_like = false;  // ignore UUIDs and bare SHA-1/SHA-256 hex (generic)
};

namespace {

constexpr std::string_view kMarkerOpen = "[REDACTED:";

// Length of the redaction marker ("[REDACTED:<detector>:<6 hex>]") at the start of `s`,
// or 0 when `s` does not start with one.
size_t MarkerLength(std::string_view s) {
  if (s.substr(0, kMarkerOpen.size()) != kMarkerOpen) return 0;
  size_t i = kMarkerOpen.size();
  const size_t id_begin = i;
  while (i < s.size() && i - id_begin <= 64 &&
         (std::islower(static_cast<unsigned char>(s[i])) ||
          std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '-')) {
    ++i;
  }
  if (i == id_begin || i >= s.size() || s[i] != ':') return 0;
  ++i;
  for (int k = 0; k < 6; ++k, ++i) {
    if (i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) return 0;
  }
  return i < s.size() && s[i] == ']' ? i + 1 : 0;
}

// Filler for blanked markers: not a word character nor space, so a blanked marker still
// reads as one opaque value to the detectors (`password=<marker>'rest` keeps `rest` out of
// the value, as in the original scan), and a span of it has no entropy.
constexpr char kMarkerFiller = '\x01';

// `text` with every redaction marker blanked to kMarkerFiller (same length, so spans
// carry over), or empty when it holds none. Markers name detectors
// ("database-url-password") and digests, which the detectors would otherwise read as a
// new secret: blanking them makes redaction idempotent (a redacted value scans clean).
std::string BlankMarkers(std::string_view text) {
  std::string out;
  size_t at = text.find(kMarkerOpen);
  while (at != std::string_view::npos) {
    const size_t n = MarkerLength(text.substr(at));
    if (n > 0) {
      if (out.empty()) out.assign(text);
      out.replace(at, n, n, kMarkerFiller);
    }
    at = text.find(kMarkerOpen, at + 1);
  }
  return out;
}

}  // namespace

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<int, 256> counts{};
  for (char c : s) ++counts[static_cast<unsigned char>(c)];
  double h = 0;
  const double n = static_cast<double>(s.size());
  for (int count : counts) {
    if (count == 0) continue;
    const double p = count / n;
    h -= p * std::log2(p);
  }
  return h;
}

SecretScanner::SecretScanner() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(64 << 20);
  set_ = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (const analysis::DetectorSpec& spec : analysis::DetectorCatalogue()) {
    auto d = std::make_unique<Detector>();
    d->id = spec.id;
    d->re = std::make_unique<RE2>(spec.pattern, options);
    d->secret_group = spec.secret_group;
    d->min_entropy = spec.min_entropy;
    d->skip_hash_like = spec.skip_hash_like;
    // The catalogue is code: a pattern that fails to compile is a programming error
    // that the unit tests catch; it is left out rather than crashing the gate.
    if (!d->re->ok()) continue;
    std::string error;
    if (set_->Add(spec.pattern, &error) < 0) continue;
    ids_.push_back(d->id);
    detectors_.push_back(std::move(d));
  }
  set_->Compile();
}

const SecretScanner& SecretScanner::Default() {
  static const SecretScanner* scanner = new SecretScanner();
  return *scanner;
}

int SecretScanner::FindDetector(std::string_view id) const {
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (ids_[i] == id) return static_cast<int>(i);
  }
  return -1;
}

bool SecretScanner::Accept(const Detector& d, std::string_view whole,
                           std::string_view secret) const {
  if (analysis::IsExampleValue(secret) || analysis::IsExampleValue(whole)) return false;
  if (d.min_entropy != 0) {  // negative: placeholders and references only
    if (analysis::IsPlaceholder(secret) || analysis::IsReference(secret)) return false;
    if (d.min_entropy > 0 && ShannonEntropy(secret) < d.min_entropy) return false;
  }
  if (d.skip_hash_like && analysis::IsHashLike(secret)) return false;
  return true;
}

void SecretScanner::Scan(std::string_view original, std::vector<SecretMatch>* out) const {
  std::vector<int> fired;
  if (original.empty() || !set_->Match(original, &fired)) return;
  const std::string blanked = BlankMarkers(original);
  const std::string_view text = blanked.empty() ? original : std::string_view(blanked);
  if (!blanked.empty()) {
    fired.clear();
    if (!set_->Match(text, &fired)) return;
  }
  std::sort(fired.begin(), fired.end());
  const size_t first_new = out->size();
  constexpr int kMaxGroups = 4;
  for (int index : fired) {
    const Detector& d = *detectors_[static_cast<size_t>(index)];
    std::array<re2::StringPiece, kMaxGroups> groups;
    const int ngroups = std::min(kMaxGroups, 1 + d.re->NumberOfCapturingGroups());
    size_t pos = 0;
    while (pos <= text.size() &&
           d.re->Match(text, pos, text.size(), RE2::UNANCHORED, groups.data(), ngroups)) {
      const re2::StringPiece whole = groups[0];
      // The secret is the first group that took part (alternatives capture apart).
      re2::StringPiece secret = groups[static_cast<size_t>(std::min(d.secret_group, ngroups - 1))];
      for (int g = d.secret_group; g > 0 && g < ngroups && secret.data() == nullptr; ++g) {
        secret = groups[static_cast<size_t>(g)];
      }
      const size_t whole_end = static_cast<size_t>(whole.data() - text.data()) + whole.size();
      const bool only_marker =
          !blanked.empty() &&
          std::all_of(secret.begin(), secret.end(), [](char c) { return c == kMarkerFiller; });
      if (!secret.empty() && !only_marker &&
          Accept(d, std::string_view(whole.data(), whole.size()),
                 std::string_view(secret.data(), secret.size()))) {
        const size_t begin = static_cast<size_t>(secret.data() - text.data());
        out->push_back({static_cast<size_t>(index), begin, begin + secret.size()});
      }
      // Advance past this match (at least one byte, so empty matches cannot loop).
      pos = std::max(whole_end, pos + 1);
    }
  }
  // Sort by position; where spans overlap keep the earliest, extended to cover both, and
  // the more specific detector (catalogue order puts the generic one last).
  std::sort(out->begin() + static_cast<long>(first_new), out->end(),
            [](const SecretMatch& a, const SecretMatch& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.detector < b.detector;
            });
  size_t w = first_new;
  for (size_t r = first_new; r < out->size(); ++r) {
    if (w > first_new && (*out)[r].begin < (*out)[w - 1].end) {
      SecretMatch& prev = (*out)[w - 1];
      prev.end = std::max(prev.end, (*out)[r].end);
      prev.detector = std::min(prev.detector, (*out)[r].detector);
      continue;
    }
    (*out)[w++] = (*out)[r];
  }
  out->resize(w);
}

bool SecretScanner::Contains(std::string_view text) const {
  // The set alone answers "nothing here" for almost every string; only a hit needs the
  // per-detector scan and its filters (entropy, examples) to confirm.
  if (text.empty() || !set_->Match(text, nullptr)) return false;
  std::vector<SecretMatch> matches;
  Scan(text, &matches);
  return !matches.empty();
}

namespace {

// The marker key. Keys are never freed: a reader may still hold the previous one.
std::atomic<const std::string*> g_marker_key{nullptr};

const std::string& MarkerKey() {
  const std::string* key = g_marker_key.load(std::memory_order_acquire);
  if (key != nullptr) return *key;
  // No key set: one random key for this process (markers then correlate only within it).
  std::string random(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), 32) != 1) {
    unsigned char fallback[kSha256Bytes];
    Sha256(std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()), fallback);
    random.assign(reinterpret_cast<const char*>(fallback), sizeof(fallback));
  }
  auto* fresh = new std::string(std::move(random));
  const std::string* expected = nullptr;
  if (!g_marker_key.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
    delete fresh;
    return *expected;
  }
  return *fresh;
}

}  // namespace

bool SecretScanner::SetMarkerKey(std::string_view key) {
  if (key.size() < 16) return false;
  g_marker_key.store(new std::string(key), std::memory_order_release);
  return true;
}

std::string SecretScanner::Marker(std::string_view detector, std::string_view secret) {
  const std::string& key = MarkerKey();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  std::string digest;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), mac,
           &mac_size) != nullptr &&
      mac_size >= 3) {
    AppendHex(mac, 3, &digest);
  } else {
    digest = "000000";  // never the plain digest: nothing of the secret when HMAC fails
  }
  return "[REDACTED:" + std::string(detector) + ":" + digest + "]";
}

std::string SecretScanner::Redact(std::string_view text, std::string_view path,
                                  std::vector<v1::Redaction>* redactions) const {
  std::vector<SecretMatch> matches;
  Scan(text, &matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const SecretMatch& m : matches) {
    out.append(text.substr(pos, m.begin - pos));
    out.append(Marker(ids_[m.detector], text.substr(m.begin, m.end - m.begin)));
    pos = m.end;
    if (redactions != nullptr) {
      v1::Redaction* r = &redactions->emplace_back();
      r->set_path(std::string(path));
      r->set_detector(ids_[m.detector]);
    }
  }
  out.append(text.substr(pos));
  return out;
}

namespace {

// Appends `suffix` to `path` when paths are wanted; otherwise builds nothing (scanning
// needs no paths, and this walk runs on every job).
template <bool kWithPaths>
std::string Child(std::string_view path, std::string_view separator, std::string_view key) {
  if constexpr (kWithPaths) {
    std::string out(path);
    out.append(separator).append(key);
    return out;
  } else {
    return {};
  }
}

// Deeper than this, args are not walked: the value counts as a finding of the
// pseudo-detector kTooDeep (fail closed). Decoded jobs never get here (protobuf's
// recursion limit of 100 messages allows about 48 nested lists); jobs built in process
// might.
constexpr int kMaxScanDepth = 64;

// Calls `visit(path, s)` for every string `s` inside `value`, struct keys included (path
// "" unless kWithPaths), and `too_deep(path, value)` for each struct or list nested
// deeper than kMaxScanDepth (whose replacement by a marker string then scans clean).
// In the mutable walk (ValueT not const) `rekey(path, map)` runs on every struct's field
// map before its values are walked, so that child paths are built from rewritten keys.
// ValueT is google::protobuf::Value or const Value: the same walk serves scanning and
// redaction.
template <bool kWithPaths, typename ValueT, typename Visit, typename TooDeep, typename Rekey>
void VisitStrings(ValueT& value, const std::string& path, int depth, Visit& visit,
                  TooDeep& too_deep, Rekey& rekey) {
  if (depth > kMaxScanDepth && value.kind_case() != google::protobuf::Value::kStringValue) {
    too_deep(path, value);  // a container we will not walk into
    return;
  }
  switch (value.kind_case()) {
    case google::protobuf::Value::kStringValue:
      if constexpr (std::is_const_v<ValueT>) {
        visit(path, value.string_value());
      } else {
        visit(path, *value.mutable_string_value());
      }
      break;
    case google::protobuf::Value::kStructValue:
      if constexpr (std::is_const_v<ValueT>) {
        for (const auto& [key, field] : value.struct_value().fields()) {
          visit(path, key);
          VisitStrings<kWithPaths>(field, Child<kWithPaths>(path, ".", key), depth + 1, visit,
                                   too_deep, rekey);
        }
      } else {
        rekey(path, *value.mutable_struct_value()->mutable_fields());
        for (auto& [key, field] : *value.mutable_struct_value()->mutable_fields()) {
          VisitStrings<kWithPaths>(field, Child<kWithPaths>(path, ".", key), depth + 1, visit,
                                   too_deep, rekey);
        }
      }
      break;
    case google::protobuf::Value::kListValue: {
      const int n = value.list_value().values_size();
      for (int i = 0; i < n; ++i) {
        const std::string item_path =
            kWithPaths ? Child<kWithPaths>(path, "[", std::to_string(i) + "]") : std::string();
        if constexpr (std::is_const_v<ValueT>) {
          VisitStrings<kWithPaths>(value.list_value().values(i), item_path, depth + 1, visit,
                                   too_deep, rekey);
        } else {
          VisitStrings<kWithPaths>(*value.mutable_list_value()->mutable_values(i), item_path,
                                   depth + 1, visit, too_deep, rekey);
        }
      }
      break;
    }
    default:
      break;
  }
}

// Every string a job carries: the routing fields (job_id, tenant_id, topic), capability,
// risk_tags, environment, every actor field, labels (keys and values), args (keys and
// values, recursively), and the payload's bytes whatever they are: a binary payload (NUL
// bytes, invalid UTF-8) is scanned too, so a secret next to a NUL byte cannot slip
// through (the detectors are byte-oriented RE2). tests/policy/analysis/secret_fields_test.cc walks
// the schema so that a string field added to Job or Actor cannot be left out here.
template <bool kWithPaths, typename JobT, typename Visit, typename TooDeep, typename Rekey>
void VisitJobStrings(JobT& job, Visit& visit, TooDeep& too_deep, Rekey& rekey) {
  const std::string none;
  auto name = [&](const char* field) { return kWithPaths ? std::string(field) : none; };
  if constexpr (std::is_const_v<JobT>) {
    visit(name("job_id"), job.job_id());
    visit(name("tenant_id"), job.tenant_id());
    visit(name("topic"), job.topic());
    visit(name("capability"), job.capability());
    for (const std::string& tag : job.risk_tags()) visit(name("risk_tags"), tag);
    visit(name("environment"), job.environment());
    if (job.has_actor()) {
      const v1::Actor& actor = job.actor();
      visit(name("actor.agent_id"), actor.agent_id());
      visit(name("actor.session_id"), actor.session_id());
      visit(name("actor.owner"), actor.owner());
      visit(name("actor.team"), actor.team());
      visit(name("actor.type"), actor.type());
    }
    if (job.has_args()) {
      for (const auto& [key, field] : job.args().fields()) {
        visit(name("args"), key);
        VisitStrings<kWithPaths>(field, Child<kWithPaths>("args", ".", key), 1, visit, too_deep,
                                 rekey);
      }
    }
    for (const auto& [key, value] : job.labels()) {
      visit(name("labels"), key);
      visit(kWithPaths ? "labels." + key : none, value);
    }
    if (!job.payload().empty()) visit(name("payload"), job.payload());
  } else {
    visit(name("job_id"), *job.mutable_job_id());
    visit(name("tenant_id"), *job.mutable_tenant_id());
    visit(name("topic"), *job.mutable_topic());
    visit(name("capability"), *job.mutable_capability());
    for (int i = 0; i < job.risk_tags_size(); ++i) {
      visit(kWithPaths ? "risk_tags[" + std::to_string(i) + "]" : none,
            *job.mutable_risk_tags(i));
    }
    visit(name("environment"), *job.mutable_environment());
    if (job.has_actor()) {
      v1::Actor& actor = *job.mutable_actor();
      visit(name("actor.agent_id"), *actor.mutable_agent_id());
      visit(name("actor.session_id"), *actor.mutable_session_id());
      visit(name("actor.owner"), *actor.mutable_owner());
      visit(name("actor.team"), *actor.mutable_team());
      visit(name("actor.type"), *actor.mutable_type());
    }
    if (job.has_args()) {
      rekey(std::string("args"), *job.mutable_args()->mutable_fields());
      for (auto& [key, field] : *job.mutable_args()->mutable_fields()) {
        VisitStrings<kWithPaths>(field, Child<kWithPaths>("args", ".", key), 1, visit, too_deep,
                                 rekey);
      }
    }
    rekey(std::string("labels"), *job.mutable_labels());
    for (auto& [key, value] : *job.mutable_labels()) {
      visit(kWithPaths ? "labels." + key : none, value);
    }
    if (!job.payload().empty()) visit(name("payload"), *job.mutable_payload());
  }
}

// Const walks have no keys to rewrite (they visit keys as strings).
struct NoRekey {
  template <typename MapT>
  void operator()(const std::string&, MapT&) const {}
};

}  // namespace

std::string_view SecretScanner::RoutingFieldWithSecret(const v1::Job& job) const {
  if (Contains(job.job_id())) return "job_id";
  if (Contains(job.tenant_id())) return "tenant_id";
  if (Contains(job.topic())) return "topic";
  return {};
}

int SecretScanner::RedactJob(v1::Job* job, std::vector<v1::Redaction>* redactions) const {
  int found = 0;
  std::vector<v1::Redaction> local;
  auto visit = [&](const std::string& path, std::string& s) {
    if (!Contains(s)) return;  // most strings: no copy, no per-detector scan
    const size_t before = local.size();
    s = Redact(s, path, &local);
    found += static_cast<int>(local.size() - before);
  };
  auto too_deep = [&](const std::string& path, google::protobuf::Value& value) {
    value.set_string_value(Marker(kTooDeepDetector, ""));
    v1::Redaction& r = local.emplace_back();
    r.set_path(path);
    r.set_detector(std::string(kTooDeepDetector));
    ++found;
  };
  // A key holding a secret is replaced by its redacted form; the value moves with it.
  auto rekey = [&](const std::string& path, auto& map) {
    std::vector<std::string> keys;
    for (const auto& entry : map) {
      if (Contains(entry.first)) keys.push_back(entry.first);
    }
    for (const std::string& key : keys) {
      std::vector<v1::Redaction> records;
      std::string new_key = Redact(key, "", &records);
      // Distinct keys cannot collide: a taken name gets a counter until it is free.
      for (int n = 2; map.count(new_key) > 0; ++n) {
        new_key = Redact(key, "", nullptr) + "#" + std::to_string(n);
      }
      auto value = std::move(map.at(key));
      map.erase(key);
      map[new_key] = std::move(value);
      for (v1::Redaction& r : records) {
        r.set_path(path + "." + new_key);
        local.push_back(std::move(r));
        ++found;
      }
    }
  };
  VisitJobStrings</*kWithPaths=*/true>(*job, visit, too_deep, rekey);
  // Map iteration order is unspecified; sort so records are deterministic.
  std::stable_sort(local.begin(), local.end(), [](const v1::Redaction& a, const v1::Redaction& b) {
    return a.path() < b.path();
  });
  if (redactions != nullptr) {
    for (auto& r : local) redactions->push_back(std::move(r));
  }
  return found;
}

std::vector<std::string> SecretScanner::DetectorsIn(const v1::Job& job) const {
  std::vector<std::string> ids;
  std::vector<SecretMatch> matches;
  auto visit = [&](const std::string&, const std::string& s) {
    if (!set_->Match(s, nullptr)) return;  // the common case: one pass, nothing fires
    matches.clear();
    Scan(s, &matches);
    for (const auto& m : matches) ids.push_back(ids_[m.detector]);
  };
  auto too_deep = [&](const std::string&, const google::protobuf::Value&) {
    ids.emplace_back(kTooDeepDetector);
  };
  NoRekey rekey;
  VisitJobStrings</*kWithPaths=*/false>(job, visit, too_deep, rekey);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<std::string> SecretScanner::MarkedDetectorsIn(const v1::Job& job) const {
  std::vector<std::string> ids;
  auto visit = [&](const std::string&, const std::string& s) {
    for (size_t at = s.find(kMarkerOpen); at != std::string::npos;
         at = s.find(kMarkerOpen, at + 1)) {
      const size_t length = MarkerLength(std::string_view(s).substr(at));
      if (length == 0) continue;
      // "[REDACTED:" id ":" 6 hex "]"
      const std::string_view id =
          std::string_view(s).substr(at + kMarkerOpen.size(), length - kMarkerOpen.size() - 8);
      if (FindDetector(id) >= 0 || id == kTooDeepDetector) ids.emplace_back(id);
    }
  };
  auto too_deep = [](const std::string&, const google::protobuf::Value&) {};
  NoRekey rekey;
  VisitJobStrings</*kWithPaths=*/false>(job, visit, too_deep, rekey);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

bool SecretScanner::ContainsSecret(const v1::Job& job) const {
  bool found = false;
  auto visit = [&](const std::string&, const std::string& s) {
    if (!found) found = Contains(s);
  };
  auto too_deep = [&](const std::string&, const google::protobuf::Value&) { found = true; };
  NoRekey rekey;
  VisitJobStrings</*kWithPaths=*/false>(job, visit, too_deep, rekey);
  return found;
}

}  // namespace jobgate::policy
