// Serves the approvers' page (gate/api/ui_assets.h) on the gate's HTTP listener:
//   GET /ui        -> 301 to /ui/
//   GET /ui/       -> index.html
//   GET /ui/<name> -> the embedded file, 404 when there is none
// Every answer carries a strict Content-Security-Policy (kUiContentSecurityPolicy: only
// the gate's own scripts and styles, no inline script, no framing), nosniff, no referrer
// and no caching beyond revalidation. The page holds no data: it calls /api/v1/ with the
// token its user typed, and the API authorises each call as it would any client's.
// Register before HttpServer::Start(); the handlers are stateless and thread-safe.
#pragma once

#include <string_view>

#include "gate/api/http_server.h"

namespace jobgate::gate {

inline constexpr std::string_view kUiContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

void RegisterUiRoutes(HttpServer& server);

}  // namespace jobgate::gate
