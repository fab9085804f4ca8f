// JS class `Session`: one probe, its worker thread and its vendor instance. Every method returns a
// Promise settled from the worker; calls run in the order they were made. The TS wrapper
// (lib/probe/native.ts) validates arguments and turns rejections into ProbeErrors.
#pragma once

#include <napi.h>

#include <memory>

#include "backend.h"
#include "call_job.h"
#include "worker.h"

namespace tfm {

class NativeSession : public Napi::ObjectWrap<NativeSession>, public WorkerOwner {
 public:
  static Napi::Function Define(Napi::Env env);

  // new Session(library: Library)
  explicit NativeSession(const Napi::CallbackInfo& info);
  // Runs from the GC finalizer when JS dropped the session, closed or not: the worker closes the
  // vendor instance on its own thread and frees itself afterwards.
  ~NativeSession() override;

  // Calls this.onlog(level, source, message) when the TS wrapper installed it.
  void OnLog(Napi::Env env, const LogEntry& entry) override;

 private:
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value DeviceInfo(const Napi::CallbackInfo& info);
  Napi::Value SelectCore(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value ReadU32(const Napi::CallbackInfo& info);
  Napi::Value WriteU32(const Napi::CallbackInfo& info);
  Napi::Value ErasePage(const Napi::CallbackInfo& info);
  Napi::Value EraseAll(const Napi::CallbackInfo& info);
  Napi::Value Recover(const Napi::CallbackInfo& info);
  Napi::Value ReadAccessPort(const Napi::CallbackInfo& info);
  Napi::Value WriteAccessPort(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value Halt(const Napi::CallbackInfo& info);
  Napi::Value Go(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Abandon(const Napi::CallbackInfo& info);
  Napi::Value Batch(const Napi::CallbackInfo& info);
  Napi::Value SetLogListening(const Napi::CallbackInfo& info);

  // Queues a call on the probe's thread; a rejected promise when the session is closing.
  // `keySlotAccess`: the call touches the KMU key-value window (key_window.h), so vendor log lines
  // are suppressed while it runs.
  Napi::Value Run(Napi::Env env, CallJob::Execute_ execute, CallJob::Result result = nullptr, bool final = false,
                  bool keySlotAccess = false);

  std::shared_ptr<Library> library_;
  Worker* worker_ = nullptr;
};

}  // namespace tfm
