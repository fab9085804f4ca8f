// Module entry: exports the Library and Session classes (see library.h, session.h) and a counter of
// live probe threads used by the leak tests.
#include <napi.h>

#include "addon_data.h"
#include <cstdlib>
#include <string>

#include "library.h"
#include "platform.h"
#include "session.h"
#include "worker.h"

namespace tfm {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  // Configuration is read here, on the JS thread, once: never getenv() on a probe thread while
  // JavaScript may setenv().
  std::string exitWait = platform::GetEnv("TFM_PROVISION_EXIT_WAIT_MS");
  if (!exitWait.empty()) {
    char* end = nullptr;
    unsigned long ms = std::strtoul(exitWait.c_str(), &end, 10);
    if (end != nullptr && *end == '\0') data->workers.exitWait = std::chrono::milliseconds(ms);
  }
  env.SetInstanceData(data);  // deleted with the environment
  Napi::Function library = NativeLibrary::Define(env);
  Napi::Function session = NativeSession::Define(env);
  data->libraryConstructor = Napi::Persistent(library);
  data->sessionConstructor = Napi::Persistent(session);
  exports.Set("Library", library);
  exports.Set("Session", session);
  exports.Set("liveWorkers", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Number::New(info.Env(), static_cast<double>(Worker::LiveCount()));
              }));
  // Synchronous: closes every open probe now. lib/probe/native.ts calls it from process.on('exit'),
  // which process.exit() reaches but env cleanup hooks do not.
  exports.Set("shutdown", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                Worker::ShutdownAll(&GetAddonData(info.Env())->workers);
              }));
  // Bumped when the JS-facing surface of the addon changes; lib/probe/native.ts checks it.
  exports.Set("abiVersion", Napi::Number::New(env, 2));
  return exports;
}

}  // namespace tfm

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tfm::Init(env, exports); }

NODE_API_MODULE(tfm_provision, InitModule)
