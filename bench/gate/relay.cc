// The baseline for the gate bench: the smallest JetStream relay written with nats.c.
//
// Pull-fetches batches from a durable on JOBS, republishes every message unchanged to
// `worker.<rest>` (and, with --copies 2, to `audit.decisions.<rest>`, matching the two
// publishes per job the gate makes), waits for JetStream's acks, then acks the batch.
// Same client library, fetch, batch size, async publish and ack discipline as the gate; no
// decoding, no policy. Stops on SIGINT/SIGTERM after the batch in flight.
//
// Like the gate, it writes each batch's publishes at once (a flush) instead of leaving
// them to nats.c's flusher thread; --send-asap 1 writes every message as it is made, as
// the gate's nats.send_asap does. --lock-spin sets nats.c's mutex spin count as the
// gate's nats.lock_spin_count does (-1: nats.c's default; bench/gate/run gives both 0).
//
//   jobgate_bench_relay --nats URL [--durable relay] [--batch 256] [--copies 2]
//                       [--send-asap 0] [--lock-spin -1]
#include <nats/nats.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_publish_failed{false};

// Same discipline as the gate: a batch is acked only if no publish failed.
void OnPublishError(jsCtx*, jsPubAckErr*, void*) { g_publish_failed.store(true); }

void OnSignal(int) { g_stop.store(true); }

natsStatus FetchRequest(natsSubscription* sub, int batch, bool no_wait, natsMsgList* list) {
  jsFetchRequest request;
  jsFetchRequest_Init(&request);
  request.Batch = batch;
  request.NoWait = no_wait;
  request.Expires = 500LL * 1000 * 1000;  // nanoseconds
  return natsSubscription_FetchRequest(list, sub, &request);
}

// The gate's fetch (NatsBus::Fetch): what is there now; if nothing is, wait for one
// message, then take what arrived with it. (natsSubscription_Fetch would wait for a full
// batch once the consumer runs dry, which at a moderate rate is latency, not work.)
// Appends the messages, now owned by the caller, to `out`.
void Fetch(natsSubscription* sub, int batch, std::vector<natsMsg*>* out) {
  auto take = [out](natsMsgList* list) {
    for (int i = 0; i < list->Count; ++i) {
      out->push_back(list->Msgs[i]);
      list->Msgs[i] = nullptr;
    }
    natsMsgList_Destroy(list);
  };
  natsMsgList list{nullptr, 0};
  if (FetchRequest(sub, batch, true, &list) == NATS_OK) return take(&list);
  if (FetchRequest(sub, 1, false, &list) != NATS_OK) return;
  take(&list);
  if (batch > 1 && FetchRequest(sub, batch - 1, true, &list) == NATS_OK) take(&list);
}

[[noreturn]] void Die(const char* what, natsStatus s) {
  std::fprintf(stderr, "relay: %s: %s\n", what, natsStatus_GetText(s));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "nats://127.0.0.1:4222";
  std::string durable = "relay";
  int batch = 256;
  int copies = 2;
  bool send_asap = false;
  int64_t lock_spin = -1;  // -1: nats.c's default
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--nats"))
      url = argv[i + 1];
    else if (!std::strcmp(argv[i], "--durable"))
      durable = argv[i + 1];
    else if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--copies"))
      copies = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--send-asap"))
      send_asap = std::atoi(argv[i + 1]) != 0;
    else if (!std::strcmp(argv[i], "--lock-spin"))
      lock_spin = std::atoll(argv[i + 1]);
  }
  if (natsStatus s = nats_Open(lock_spin); s != NATS_OK) Die("nats_Open", s);
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);

  natsConnection* nc = nullptr;
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetSendAsap(opts, send_asap);
  natsStatus s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) Die("connect", s);
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.MaxPending = 65536;
  js_options.PublishAsync.ErrHandler = OnPublishError;
  jsCtx* js = nullptr;
  if ((s = natsConnection_JetStream(&js, nc, &js_options)) != NATS_OK) Die("jetstream", s);

  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = durable.c_str();
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = 30LL * 1000 * 1000 * 1000;
  cc.MaxDeliver = -1;
  cc.MaxAckPending = 20000;
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  s = js_AddConsumer(&ci, js, "JOBS", &cc, nullptr, &jerr);
  jsConsumerInfo_Destroy(ci);
  if (s != NATS_OK && jerr != JSConsumerNameExistErr) Die("add consumer", s);

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = "JOBS";
  so.Consumer = durable.c_str();
  natsSubscription* sub = nullptr;
  if ((s = js_PullSubscribe(&sub, js, nullptr, durable.c_str(), nullptr, &so, &jerr)) != NATS_OK) {
    Die("pull subscribe", s);
  }
  std::fprintf(stderr, "relay: consuming JOBS/%s, batch %d, %d publish(es) per message\n",
               durable.c_str(), batch, copies);

  const char* prefixes[] = {"worker.", "audit.decisions."};
  std::string subject;
  std::string msg_id;
  std::vector<natsMsg*> messages;
  jsPubOptions wait_options;
  jsPubOptions_Init(&wait_options);
  wait_options.MaxWait = 5000;
  while (!g_stop.load()) {
    messages.clear();
    Fetch(sub, batch, &messages);
    for (natsMsg* in : messages) {
      const char* in_subject = natsMsg_GetSubject(in);
      const char* dot = std::strchr(in_subject, '.');
      const char* rest = dot != nullptr ? dot + 1 : in_subject;
      jsMsgMetaData* meta = nullptr;
      uint64_t sequence = 0;
      if (natsMsg_GetMetaData(&meta, in) == NATS_OK) {
        sequence = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
      }
      for (int c = 0; c < copies && c < 2; ++c) {
        subject.assign(prefixes[c]).append(rest);
        msg_id = "relay-" + std::to_string(c) + "-" + std::to_string(sequence);
        natsMsg* out = nullptr;
        natsMsg_Create(&out, subject.c_str(), nullptr, natsMsg_GetData(in),
                       natsMsg_GetDataLength(in));
        natsMsgHeader_Set(out, "Nats-Msg-Id", msg_id.c_str());
        if (js_PublishMsgAsync(js, &out, nullptr) != NATS_OK) {
          natsMsg_Destroy(out);
          g_publish_failed.store(true);
        }
      }
    }
    // As the gate: the batch is written at once, not after nats.c's flusher pause.
    if (!messages.empty()) natsConnection_FlushTimeout(nc, 5000);
    bool all_acked = js_PublishAsyncComplete(js, &wait_options) == NATS_OK;
    all_acked = !g_publish_failed.exchange(false) && all_acked;
    for (natsMsg* in : messages) {
      if (all_acked)
        natsMsg_Ack(in, nullptr);
      else
        natsMsg_NakWithDelay(in, 1000, nullptr);
      natsMsg_Destroy(in);
    }
  }
  natsConnection_FlushTimeout(nc, 5000);
  natsSubscription_Destroy(sub);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return 0;
}
