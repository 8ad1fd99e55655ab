#include "gate/api/ui_server.h"

#include <httplib.h>

#include "gate/api/ui_assets.h"

namespace jobgate::gate {
namespace {

const UiAsset* FindAsset(std::string_view name) {
  for (const UiAsset& asset : UiAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

void SecurityHeaders(httplib::Response& response) {
  response.set_header("Content-Security-Policy", std::string(kUiContentSecurityPolicy));
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("X-Frame-Options", "DENY");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cache-Control", "no-cache");
}

void Serve(std::string_view name, httplib::Response& response) {
  SecurityHeaders(response);
  const UiAsset* asset = FindAsset(name);
  if (asset == nullptr) {
    response.status = 404;
    response.set_content("not found\n", "text/plain; charset=utf-8");
    return;
  }
  response.set_content(std::string(asset->body), std::string(asset->content_type));
}

}  // namespace

void RegisterUiRoutes(HttpServer& server) {
  server.Get("/ui", [](const httplib::Request&, httplib::Response& response) {
    SecurityHeaders(response);
    response.set_redirect("/ui/", 301);
  });
  server.Get("/ui/", [](const httplib::Request&, httplib::Response& response) {
    Serve("index.html", response);
  });
  server.Get(R"(/ui/([A-Za-z0-9._-]+))",
             [](const httplib::Request& request, httplib::Response& response) {
               Serve(request.matches[1].str(), response);
             });
}

}  // namespace jobgate::gate
