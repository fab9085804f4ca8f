// A promise-returning call: `execute` runs on the worker thread and returns a Status; `result`
// builds the resolved value on the JS thread from what `execute` stored (captured shared state).
// Jobs hold no N-API references besides the deferred, so they may be destroyed on any thread.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <utility>

#include "backend.h"
#include "worker.h"

namespace tfm {

// A JS Error carrying the stable code, the vendor code and the vendor function; lib/probe/native.ts
// turns it into a ProbeError.
inline Napi::Value MakeStatusError(Napi::Env env, const Status& status) {
  Napi::Error error = Napi::Error::New(env, status.message.empty() ? status.code : status.message);
  error.Set("code", Napi::String::New(env, status.code.empty() ? "INTERNAL_ERROR" : status.code));
  if (status.hasVendorCode) error.Set("vendorCode", Napi::Number::New(env, static_cast<double>(status.vendorCode)));
  if (!status.operation.empty()) error.Set("operation", Napi::String::New(env, status.operation));
  return error.Value();
}

[[noreturn]] inline void ThrowStatus(Napi::Env env, const Status& status) {
  throw Napi::Error(env, MakeStatusError(env, status));
}

class CallJob : public Job {
 public:
  using Execute_ = std::function<Status(WorkerContext&)>;
  using Result = std::function<Napi::Value(Napi::Env)>;

  CallJob(Napi::Env env, Execute_ execute, Result result = nullptr)
      : deferred_(Napi::Promise::Deferred::New(env)), execute_(std::move(execute)), result_(std::move(result)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute(WorkerContext& context) override {
    try {
      status_ = execute_(context);
    } catch (const std::bad_alloc&) {
      status_ = Status::Error("OUT_OF_MEMORY", "out of memory in the probe thread");
    } catch (const std::exception& e) {
      status_ = Status::Error("INTERNAL_ERROR", std::string("probe thread: ") + e.what());
    }
  }

  void Complete(Napi::Env env) override {
    if (status_.ok) {
      deferred_.Resolve(result_ ? result_(env) : env.Undefined());
    } else {
      deferred_.Reject(MakeStatusError(env, status_));
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Execute_ execute_;
  Result result_;
  Status status_;
};

}  // namespace tfm
