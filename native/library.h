// JS class `Library`: one loaded vendor library (nrfjprog or J-Link). Loading is quick and runs on
// the JS thread; listing probes runs on a short-lived worker thread.
#pragma once

#include <napi.h>

#include <memory>

#include "backend.h"

namespace tfm {

class NativeLibrary : public Napi::ObjectWrap<NativeLibrary> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The wrapped library of a JS `Library` object; throws a TypeError for anything else.
  static std::shared_ptr<Library> FromValue(Napi::Env env, Napi::Value value);

  explicit NativeLibrary(const Napi::CallbackInfo& info);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);

  std::shared_ptr<Library> library_;
};

}  // namespace tfm
