#include "session.h"

#include <cstring>
#include <vector>

#include "addon_data.h"
#include "key_window.h"
#include "library.h"
#include "platform.h"
#include "secure_bytes.h"

namespace tfm {

namespace {

// The largest single read or write; bigger transfers are split by the caller (flash is 1 MiB).
constexpr uint32_t kMaxTransfer = 16u * 1024u * 1024u;

Status NotOpen() {
  return Status::Error("INVALID_SESSION", "The probe is not open (open() failed or was not called).");
}

// The backend of an open session, or nullptr (then `status` says why).
ProbeBackend* OpenBackend(WorkerContext& context, Status* status) {
  if (!context.backend) *status = NotOpen();
  return context.backend.get();
}

}  // namespace

Napi::Function NativeSession::Define(Napi::Env env) {
  return DefineClass(env, "Session",
                     {
                         InstanceMethod<&NativeSession::Open>("open"),
                         InstanceMethod<&NativeSession::DeviceInfo>("deviceInfo"),
                         InstanceMethod<&NativeSession::SelectCore>("selectCore"),
                         InstanceMethod<&NativeSession::Read>("read"),
                         InstanceMethod<&NativeSession::Write>("write"),
                         InstanceMethod<&NativeSession::ReadU32>("readU32"),
                         InstanceMethod<&NativeSession::WriteU32>("writeU32"),
                         InstanceMethod<&NativeSession::ErasePage>("erasePage"),
                         InstanceMethod<&NativeSession::EraseAll>("eraseAll"),
                         InstanceMethod<&NativeSession::Recover>("recover"),
                         InstanceMethod<&NativeSession::ReadAccessPort>("readAccessPort"),
                         InstanceMethod<&NativeSession::WriteAccessPort>("writeAccessPort"),
                         InstanceMethod<&NativeSession::Reset>("reset"),
                         InstanceMethod<&NativeSession::Halt>("halt"),
                         InstanceMethod<&NativeSession::Go>("go"),
                         InstanceMethod<&NativeSession::Close>("close"),
                         InstanceMethod<&NativeSession::Abandon>("abandon"),
                     });
}

NativeSession::NativeSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSession>(info) {
  library_ = NativeLibrary::FromValue(info.Env(), info[0]);
  worker_ = Worker::Start(info.Env(), &GetAddonData(info.Env())->workers, "tfm-probe", library_, this);  // last: nothing can throw after it
}

NativeSession::~NativeSession() {
  if (worker_ != nullptr) worker_->DetachOwner();
}

void NativeSession::OnLog(Napi::Env env, const LogEntry& entry) {
  Napi::Object self = Value();
  if (self.IsEmpty()) return;  // collected, finalizer not run yet
  Napi::Value listener = self.Get("onlog");
  if (!listener.IsFunction()) return;
  listener.As<Napi::Function>().Call(self, {Napi::String::New(env, entry.level), Napi::String::New(env, entry.source),
                                            Napi::String::New(env, entry.message)});
}

Napi::Value NativeSession::Run(Napi::Env env, CallJob::Execute_ execute, CallJob::Result result, bool final,
                               bool keySlotAccess) {
  auto job = std::make_unique<CallJob>(env, std::move(execute), std::move(result));
  job->final = final;
  job->keySlotAccess = keySlotAccess;
  Napi::Promise promise = job->Promise();
  if (!worker_->Submit(env, std::move(job))) {
    Napi::Promise::Deferred rejected = Napi::Promise::Deferred::New(env);
    rejected.Reject(MakeStatusError(env, Status::Error("PROBE_CLOSED", "The probe session is closed.")));
    return rejected.Promise();
  }
  return promise;
}

// open(serialNumber, speedKhz (0 = backend default), familyHint: 'NRF53' | 'NRF91' | 'UNKNOWN')
Napi::Value NativeSession::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t serial = ArgU32(info, 0, "serialNumber");
  uint32_t speed = info.Length() > 1 && !info[1].IsUndefined() ? ArgU32(info, 1, "speedKhz", 100000) : 0;
  std::string family = info.Length() > 2 && !info[2].IsUndefined() ? ArgString(info, 2, "family") : "UNKNOWN";
  // One session per probe in the process: two vendor instances on one probe interleave SWD traffic.
  // The serial is the claim, whatever the backend: an nrfjprog and a J-Link session on one probe
  // would interleave SWD traffic just the same.
  std::string holder;
  std::unique_ptr<ProbeClaim> claim = ProbeClaim::TryClaim(library_->Backend(), serial, &holder);
  if (!claim) {
    Napi::Promise::Deferred busy = Napi::Promise::Deferred::New(env);
    busy.Reject(MakeStatusError(env, Status::Error("PROBE_BUSY", "Probe " + std::to_string(serial) + " is already open in this process (" +
                                                                     holder + " backend); close that session first.")));
    return busy.Promise();
  }
  auto heldClaim = std::make_shared<std::unique_ptr<ProbeClaim>>(std::move(claim));
  return Run(env, [heldClaim, serial, speed, family](WorkerContext& context) -> Status {
    // A second open() on an open session keeps the first probe's claim; the new one is dropped
    // with `heldClaim`.
    if (context.backend) return Status::Error("INVALID_OPERATION", "The session is already open.");
    context.claim = std::move(*heldClaim);
    std::unique_ptr<ProbeBackend> backend = context.library->Backend() == "jlink"
                                                ? CreateJlinkProbe(context.library, context.log)
                                                : CreateNrfjprogProbe(context.library, context.log);
    if (!backend) {
      return Status::Error("NOT_IMPLEMENTED", "The " + context.library->Backend() + " backend cannot open probes in this build.");
    }
    Status status = backend->Open(serial, speed, family);
    // Kept on failure too: close() then releases whatever the vendor library had opened.
    context.backend = std::move(backend);
    return status;
  });
}

Napi::Value NativeSession::DeviceInfo(const Napi::CallbackInfo& info) {
  auto out = std::make_shared<DeviceInfoResult>();
  return Run(
      info.Env(),
      [out](WorkerContext& context) {
        Status status;
        ProbeBackend* backend = OpenBackend(context, &status);
        return backend ? backend->DeviceInfo(out.get()) : status;
      },
      [out](Napi::Env env) -> Napi::Value {
        Napi::Object result = Napi::Object::New(env);
        result.Set("family", out->family.empty() ? std::string("UNKNOWN") : out->family);
        if (out->hasVersionCode) result.Set("versionCode", Napi::Number::New(env, out->versionCode));
        return result;
      });
}

Napi::Value NativeSession::SelectCore(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "core");
  Core core;
  if (name == "application") core = Core::Application;
  else if (name == "network") core = Core::Network;
  else if (name == "modem") core = Core::Modem;
  else ThrowInvalidArgument(info.Env(), "core must be 'application', 'network' or 'modem', not '" + name + "'");
  return Run(info.Env(), [core](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->SelectCore(core) : status;
  });
}

Napi::Value NativeSession::Read(const Napi::CallbackInfo& info) {
  uint32_t address = ArgU32(info, 0, "address");
  uint32_t length = ArgU32(info, 1, "length", kMaxTransfer);
  // Zeroed when the job is freed, right after the JS copy below (which is the caller's to wipe).
  auto out = std::make_shared<SecureBytes>();
  return Run(
      info.Env(),
      [out, address, length](WorkerContext& context) {
        Status status;
        ProbeBackend* backend = OpenBackend(context, &status);
        return backend ? backend->Read(address, length, out.get()) : status;
      },
      [out](Napi::Env env) -> Napi::Value {
        Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, out->size());
        if (!out->empty()) std::memcpy(buffer.Data(), out->data(), out->size());
        return Napi::Uint8Array::New(env, out->size(), buffer, 0);
      },
      false, TouchesKeySlotWindow(address, length));
}

// write(address, data: Uint8Array, nvmc: boolean)
Napi::Value NativeSession::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t address = ArgU32(info, 0, "address");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowInvalidArgument(env, "data must be a Uint8Array");
  }
  Napi::Uint8Array array = info[1].As<Napi::Uint8Array>();
  if (array.ElementLength() > kMaxTransfer) ThrowInvalidArgument(env, "data is larger than 16 MiB");
  // Copied now: the JS buffer may change or be collected before the worker runs. The copy may be a
  // key (MKEK, MEXT, identity key blob): SecureBytes zeroes it when the job is done with it.
  auto data = std::make_shared<SecureBytes>(array.Data(), array.Data() + array.ElementLength());
  bool nvmc = info[2].ToBoolean().Value();
  const bool keySlotAccess = TouchesKeySlotWindow(address, data->size());
  return Run(
      env,
      [data, address, nvmc](WorkerContext& context) {
        Status status;
        ProbeBackend* backend = OpenBackend(context, &status);
        if (backend) status = backend->Write(address, *data, nvmc);
        SecureBytes().swap(*data);  // wiped on the worker thread, as soon as the vendor call returned
        return status;
      },
      nullptr, false, keySlotAccess);
}

Napi::Value NativeSession::ReadU32(const Napi::CallbackInfo& info) {
  uint32_t address = ArgU32(info, 0, "address");
  auto out = std::make_shared<uint32_t>(0);
  return Run(
      info.Env(),
      [out, address](WorkerContext& context) {
        Status status;
        ProbeBackend* backend = OpenBackend(context, &status);
        return backend ? backend->ReadU32(address, out.get()) : status;
      },
      [out](Napi::Env env) -> Napi::Value {
        Napi::Number value = Napi::Number::New(env, *out);
        platform::SecureZero(out.get(), sizeof *out);  // a word of a key slot is a quarter key
        return value;
      },
      false, TouchesKeySlotWindow(address, 4));
}

Napi::Value NativeSession::WriteU32(const Napi::CallbackInfo& info) {
  uint32_t address = ArgU32(info, 0, "address");
  uint32_t value = ArgU32(info, 1, "value");
  bool nvmc = info[2].ToBoolean().Value();
  return Run(
      info.Env(),
      [address, value, nvmc](WorkerContext& context) mutable {
        Status status;
        ProbeBackend* backend = OpenBackend(context, &status);
        if (backend) status = backend->WriteU32(address, value, nvmc);
        platform::SecureZero(&value, sizeof value);  // the captured copy lives as long as the job
        return status;
      },
      nullptr, false, TouchesKeySlotWindow(address, 4));
}

Napi::Value NativeSession::ErasePage(const Napi::CallbackInfo& info) {
  uint32_t address = ArgU32(info, 0, "address");
  return Run(info.Env(), [address](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->ErasePage(address) : status;
  });
}

Napi::Value NativeSession::EraseAll(const Napi::CallbackInfo& info) {
  return Run(info.Env(), [](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->EraseAll() : status;
  });
}

Napi::Value NativeSession::Recover(const Napi::CallbackInfo& info) {
  return Run(info.Env(), [](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->Recover() : status;
  });
}

Napi::Value NativeSession::ReadAccessPort(const Napi::CallbackInfo& info) {
  uint8_t ap = static_cast<uint8_t>(ArgU32(info, 0, "apIndex", 255));
  uint8_t reg = static_cast<uint8_t>(ArgU32(info, 1, "register", 255));
  auto out = std::make_shared<uint32_t>(0);
  return Run(
      info.Env(),
      [out, ap, reg](WorkerContext& context) {
        Status status;
        ProbeBackend* backend = OpenBackend(context, &status);
        return backend ? backend->ReadAccessPort(ap, reg, out.get()) : status;
      },
      [out](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *out); });
}

Napi::Value NativeSession::WriteAccessPort(const Napi::CallbackInfo& info) {
  uint8_t ap = static_cast<uint8_t>(ArgU32(info, 0, "apIndex", 255));
  uint8_t reg = static_cast<uint8_t>(ArgU32(info, 1, "register", 255));
  uint32_t value = ArgU32(info, 2, "value");
  return Run(info.Env(), [ap, reg, value](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->WriteAccessPort(ap, reg, value) : status;
  });
}

Napi::Value NativeSession::Reset(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "kind");
  ResetKind kind;
  if (name == "system") kind = ResetKind::System;
  else if (name == "debug") kind = ResetKind::Debug;
  else if (name == "pin") kind = ResetKind::Pin;
  else ThrowInvalidArgument(info.Env(), "reset kind must be 'system', 'debug' or 'pin', not '" + name + "'");
  return Run(info.Env(), [kind](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->Reset(kind) : status;
  });
}

Napi::Value NativeSession::Halt(const Napi::CallbackInfo& info) {
  return Run(info.Env(), [](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->Halt() : status;
  });
}

Napi::Value NativeSession::Go(const Napi::CallbackInfo& info) {
  return Run(info.Env(), [](WorkerContext& context) {
    Status status;
    ProbeBackend* backend = OpenBackend(context, &status);
    return backend ? backend->Go() : status;
  });
}

// abandon(): lib/probe/native.ts gave up on a call that hangs (PROBE_TIMEOUT); see Worker::Abandon.
Napi::Value NativeSession::Abandon(const Napi::CallbackInfo& info) {
  worker_->Abandon(info.Env());
  return info.Env().Undefined();
}

// Queued behind every call made before it; the thread ends after it. A second close resolves at once.
Napi::Value NativeSession::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (worker_->Closing()) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  return Run(
      env,
      [](WorkerContext& context) {
        context.CloseBackend();
        return Status::Ok();
      },
      nullptr, true);
}

}  // namespace tfm
