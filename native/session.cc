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
                         InstanceMethod<&NativeSession::Batch>("batch"),
                         InstanceMethod<&NativeSession::SetLogListening>("setLogListening"),
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

// setLogListening(listening): whether anyone listens to vendor log lines. While nobody does, the
// worker drops them where they arrive (no copy, no crossing to JavaScript per line).
Napi::Value NativeSession::SetLogListening(const Napi::CallbackInfo& info) {
  worker_->SetLogListening(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

namespace {

// batch(program: Uint32Array, data: Uint8Array): kBatchWords words per operation (see BatchOp);
// write data and expected read-backs are slices of `data`.
constexpr uint32_t kBatchWords = 8;
constexpr uint32_t kMaxBatchOps = 4096;

enum class BatchKind : uint32_t { Read = 1, ReadU32 = 2, Write = 3, WriteU32 = 4, SelectCore = 5, Halt = 6 };
enum BatchFlag : uint32_t { kNvmc = 1, kExpect = 2, kOnlyIf = 4 };
// What the first byte per operation of the result says about it.
enum BatchState : uint8_t { kNotRun = 0, kRan = 1, kSkipped = 2, kMismatch = 3, kFailed = 4 };

struct BatchOp {
  BatchKind kind;
  uint32_t flags;
  uint32_t address;
  uint32_t length;      // read/write: bytes; writeU32: the value; selectCore: the core
  uint32_t dataOffset;  // write: its bytes; read/readU32 with kExpect: the expected bytes
  uint32_t condOp;      // kOnlyIf: an earlier read whose result decides
  uint32_t condOffset;  //   the byte offset of the 32-bit word in that result
  uint32_t condMask;    //   runs when (word & mask) != 0
  uint32_t outOffset = 0;  // where its result bytes go (after the per-operation states)
};

struct BatchRun {
  std::vector<BatchOp> ops;
  SecureBytes data;  // may hold keys (VALUE writes, VALUE read-backs expected)
  SecureBytes out;   // states, then every read's bytes
  int64_t stoppedAt = -1;
  bool mismatch = false;
  Status failure;
};

Status RunBatchOp(ProbeBackend* backend, BatchRun& run, size_t i, SecureBytes& scratch) {
  BatchOp& op = run.ops[i];
  switch (op.kind) {
    case BatchKind::Read: {
      Status status = backend->Read(op.address, op.length, &scratch);
      if (!status.ok) return status;
      if (scratch.size() != op.length) return Status::Error("INTERNAL_ERROR", "a batch read returned the wrong number of bytes");
      if (op.length > 0) std::memcpy(run.out.data() + op.outOffset, scratch.data(), op.length);
      platform::SecureZero(scratch.data(), scratch.size());
      return status;
    }
    case BatchKind::ReadU32: {
      uint32_t value = 0;
      Status status = backend->ReadU32(op.address, &value);
      if (!status.ok) return status;
      for (int b = 0; b < 4; b++) run.out[op.outOffset + b] = static_cast<uint8_t>(value >> (8 * b));
      platform::SecureZero(&value, sizeof value);
      return status;
    }
    case BatchKind::Write: {
      SecureBytes slice(run.data.begin() + op.dataOffset, run.data.begin() + op.dataOffset + op.length);
      return backend->Write(op.address, slice, (op.flags & kNvmc) != 0);
    }
    case BatchKind::WriteU32:
      return backend->WriteU32(op.address, op.length, (op.flags & kNvmc) != 0);
    case BatchKind::SelectCore:
      return backend->SelectCore(static_cast<Core>(op.length));
    case BatchKind::Halt:
      return backend->Halt();
  }
  return Status::Error("INTERNAL_ERROR", "unknown batch operation");
}

bool ReadBackMatches(const BatchRun& run, const BatchOp& op) {
  uint32_t length = op.kind == BatchKind::ReadU32 ? 4 : op.length;
  uint8_t difference = 0;  // every byte compared: the time does not say where a key word differs
  for (uint32_t b = 0; b < length; b++) difference |= run.out[op.outOffset + b] ^ run.data[op.dataOffset + b];
  return difference == 0;
}

}  // namespace

// One crossing for a step's probe calls: each operation is the backend call of its name, run in
// order on the probe's thread; the batch stops at the first call that fails or read-back that
// differs from its expected bytes. Resolves with { bytes, stoppedAt (-1: all ran), mismatch,
// error? }: bytes holds one state byte per operation (BatchState), then each read's result.
Napi::Value NativeSession::Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    ThrowInvalidArgument(env, "program must be a Uint32Array");
  }
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowInvalidArgument(env, "data must be a Uint8Array");
  }
  Napi::Uint32Array program = info[0].As<Napi::Uint32Array>();
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  if (program.ElementLength() % kBatchWords != 0 || program.ElementLength() / kBatchWords > kMaxBatchOps) {
    ThrowInvalidArgument(env, "program must hold 1 to 4096 operations of 8 words");
  }
  if (data.ElementLength() > kMaxTransfer) ThrowInvalidArgument(env, "data is larger than 16 MiB");
  auto run = std::make_shared<BatchRun>();
  const size_t count = program.ElementLength() / kBatchWords;
  run->ops.reserve(count);
  uint64_t outBytes = count;
  bool keySlotAccess = false;
  const uint64_t dataBytes = data.ElementLength();
  for (size_t i = 0; i < count; i++) {
    const uint32_t* w = program.Data() + i * kBatchWords;
    BatchOp op{static_cast<BatchKind>(w[0]), w[1], w[2], w[3], w[4], w[5], w[6], w[7]};
    // Built only for the error: this loop runs for every operation of every batch.
    auto invalid = [&](const char* what) { ThrowInvalidArgument(env, "batch operation " + std::to_string(i) + ": " + what); };
    switch (op.kind) {
      case BatchKind::Read:
        if (op.length > kMaxTransfer) invalid("length is larger than 16 MiB");
        keySlotAccess = keySlotAccess || TouchesKeySlotWindow(op.address, op.length);
        break;
      case BatchKind::ReadU32:
      case BatchKind::WriteU32:
        keySlotAccess = keySlotAccess || TouchesKeySlotWindow(op.address, 4);
        break;
      case BatchKind::Write:
        if (static_cast<uint64_t>(op.dataOffset) + op.length > dataBytes) invalid("data range out of bounds");
        keySlotAccess = keySlotAccess || TouchesKeySlotWindow(op.address, op.length);
        break;
      case BatchKind::SelectCore:
        if (op.length > static_cast<uint32_t>(Core::Modem)) invalid("unknown core");
        break;
      case BatchKind::Halt:
        break;
      default:
        invalid("unknown kind");
    }
    const bool reads = op.kind == BatchKind::Read || op.kind == BatchKind::ReadU32;
    if ((op.flags & (kExpect | kOnlyIf)) != 0 && !reads) invalid("only reads take expect or onlyIf");
    const uint32_t resultBytes = op.kind == BatchKind::Read ? op.length : op.kind == BatchKind::ReadU32 ? 4 : 0;
    if ((op.flags & kExpect) != 0 && static_cast<uint64_t>(op.dataOffset) + resultBytes > dataBytes) {
      invalid("expected bytes out of bounds");
    }
    if ((op.flags & kOnlyIf) != 0) {
      if (op.kind != BatchKind::Read || op.condOp >= i || run->ops[op.condOp].kind != BatchKind::Read ||
          static_cast<uint64_t>(op.condOffset) + 4 > run->ops[op.condOp].length) {
        invalid("onlyIf must name a word of an earlier read");
      }
    }
    op.outOffset = static_cast<uint32_t>(outBytes);
    outBytes += resultBytes;
    if (outBytes > kMaxTransfer) invalid("the batch reads more than 16 MiB");
    run->ops.push_back(op);
  }
  // Copied now (the JS buffer may change before the worker runs); it may hold key words.
  run->data.assign(data.Data(), data.Data() + data.ElementLength());
  run->out.assign(static_cast<size_t>(outBytes), 0);
  return Run(
      env,
      [run](WorkerContext& context) {
        Status status;
        ProbeBackend* backend = OpenBackend(context, &status);
        SecureBytes scratch;
        for (size_t i = 0; i < run->ops.size(); i++) {
          const BatchOp& op = run->ops[i];
          if ((op.flags & kOnlyIf) != 0) {
            const BatchOp& source = run->ops[op.condOp];
            uint32_t word = 0;
            for (int b = 0; b < 4; b++) word |= static_cast<uint32_t>(run->out[source.outOffset + op.condOffset + b]) << (8 * b);
            if ((word & op.condMask) == 0) {
              run->out[i] = kSkipped;
              continue;
            }
          }
          Status opStatus = backend ? RunBatchOp(backend, *run, i, scratch) : status;
          if (!opStatus.ok) {
            run->out[i] = kFailed;
            run->stoppedAt = static_cast<int64_t>(i);
            run->failure = opStatus;
            break;
          }
          run->out[i] = kRan;
          if ((op.flags & kExpect) != 0 && !ReadBackMatches(*run, op)) {
            run->out[i] = kMismatch;
            run->stoppedAt = static_cast<int64_t>(i);
            run->mismatch = true;
            break;
          }
        }
        SecureBytes().swap(run->data);  // written keys wiped on the worker thread, as soon as the calls returned
        return Status::Ok();
      },
      [run](Napi::Env env) -> Napi::Value {
        Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, run->out.size());
        std::memcpy(buffer.Data(), run->out.data(), run->out.size());
        SecureBytes().swap(run->out);
        Napi::Object result = Napi::Object::New(env);
        result.Set("bytes", Napi::Uint8Array::New(env, buffer.ByteLength(), buffer, 0));
        result.Set("stoppedAt", Napi::Number::New(env, static_cast<double>(run->stoppedAt)));
        result.Set("mismatch", Napi::Boolean::New(env, run->mismatch));
        if (run->stoppedAt >= 0 && !run->mismatch) result.Set("error", MakeStatusError(env, run->failure));
        return result;
      },
      false, keySlotAccess);
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
