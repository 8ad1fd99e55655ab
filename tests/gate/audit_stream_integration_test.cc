// The AUDIT stream as the gate creates it on a real nats-server: the server itself
// refuses deleting a record or purging the stream, whoever asks.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include "gate/daemon/config.h"
#include "gate/nats/nats_bus.h"
#include "tests/support/gate_connection.h"
#include "tests/support/nats_server.h"

namespace jobgate::gate {
namespace {

using ::jobgate::testing::JetStreamClient;
using ::jobgate::testing::ConnectGate;
using ::jobgate::testing::NatsServer;

class AuditStreamIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connection_ = ConnectGate(server_);
    ASSERT_NE(connection_, nullptr);
    ASSERT_EQ(natsConnection_JetStream(&js_, connection_->raw(), nullptr), NATS_OK);
  }
  void TearDown() override { jsCtx_Destroy(js_); }

  NatsServer server_;
  std::unique_ptr<NatsConnection> connection_;
  jsCtx* js_ = nullptr;
};

TEST_F(AuditStreamIntegrationTest, DeletesAndPurgesAreRefusedByTheServer) {
  const GateConfig config;
  ASSERT_TRUE(connection_->EnsureStream(config.audit_stream).ok());
  JetStreamClient client(server_.url());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Publish(config.prefixes.policy_events, "record " + std::to_string(i)).ok());
  }
  jsStreamInfo* info = nullptr;
  ASSERT_EQ(js_GetStreamInfo(&info, js_, "AUDIT", nullptr, nullptr), NATS_OK);
  EXPECT_TRUE(info->Config->DenyDelete);
  EXPECT_TRUE(info->Config->DenyPurge);
  jsStreamInfo_Destroy(info);

  jsErrCode error = static_cast<jsErrCode>(0);
  EXPECT_NE(js_DeleteMsg(js_, "AUDIT", 2, nullptr, &error), NATS_OK);
  error = static_cast<jsErrCode>(0);
  EXPECT_NE(js_EraseMsg(js_, "AUDIT", 2, nullptr, &error), NATS_OK);
  error = static_cast<jsErrCode>(0);
  EXPECT_NE(js_PurgeStream(js_, "AUDIT", nullptr, &error), NATS_OK);
  EXPECT_EQ(client.Count("AUDIT"), 3);
  // Turning the protection off again is refused too.
  ASSERT_EQ(js_GetStreamInfo(&info, js_, "AUDIT", nullptr, nullptr), NATS_OK);
  info->Config->DenyDelete = false;
  info->Config->DenyPurge = false;
  jsStreamInfo* updated = nullptr;
  EXPECT_NE(js_UpdateStream(&updated, js_, info->Config, nullptr, nullptr), NATS_OK);
  jsStreamInfo_Destroy(updated);
  jsStreamInfo_Destroy(info);
  EXPECT_EQ(client.Count("AUDIT"), 3);
}

TEST_F(AuditStreamIntegrationTest, OtherStreamsStayDeletable) {
  // The job streams are consumed and trimmed by their own retention; only AUDIT is sealed
  // against deletes.
  const GateConfig config;
  EXPECT_FALSE(config.jobs_stream.deny_delete);
  EXPECT_FALSE(config.deferred_stream.deny_delete);  // parked jobs are deleted once routed
  EXPECT_TRUE(config.audit_stream.deny_delete);
  EXPECT_TRUE(config.audit_stream.deny_purge);
}

}  // namespace
}  // namespace jobgate::gate
