// Per-environment addon state (the addon is context-aware: each worker_thread gets its own).
#pragma once

#include <napi.h>

#include "worker.h"

namespace tfm {

struct AddonData {
  Napi::FunctionReference libraryConstructor;
  Napi::FunctionReference sessionConstructor;
  WorkerRegistry workers;
};

inline AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

// Argument helpers: a TypeError carrying code INVALID_PARAMETER.
[[noreturn]] inline void ThrowInvalidArgument(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "INVALID_PARAMETER"));
  throw error;
}

inline uint32_t ArgU32(const Napi::CallbackInfo& info, size_t index, const char* name, uint32_t max = 0xFFFFFFFFu) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) ThrowInvalidArgument(info.Env(), std::string(name) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0) || number > static_cast<double>(max) || number != static_cast<double>(static_cast<uint64_t>(number))) {
    ThrowInvalidArgument(info.Env(), std::string(name) + " must be an integer from 0 to " + std::to_string(max));
  }
  return static_cast<uint32_t>(number);
}

inline std::string ArgString(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value value = info[index];
  if (!value.IsString()) ThrowInvalidArgument(info.Env(), std::string(name) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

}  // namespace tfm
