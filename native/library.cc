#include "library.h"

#include <vector>

#include "addon_data.h"
#include "call_job.h"
#include "worker.h"

namespace tfm {

Napi::Function NativeLibrary::Define(Napi::Env env) {
  return DefineClass(env, "Library",
                     {
                         InstanceMethod<&NativeLibrary::Info>("info"),
                         InstanceMethod<&NativeLibrary::List>("list"),
                     });
}

// new Library(backend: 'nrfjprog' | 'jlink', path?: string)
NativeLibrary::NativeLibrary(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeLibrary>(info) {
  Napi::Env env = info.Env();
  std::string backend = ArgString(info, 0, "backend");
  std::string path;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) path = ArgString(info, 1, "library path");
  Status status;
  if (backend == "nrfjprog") {
    library_ = LoadNrfjprogLibrary(path, &status);
  } else if (backend == "jlink") {
    library_ = LoadJlinkLibrary(path, &status);
  } else {
    ThrowInvalidArgument(env, "backend must be 'nrfjprog' or 'jlink', not '" + backend + "'");
  }
  if (!library_) {
    if (status.ok) status = Status::Error("VENDOR_LIBRARY_ERROR", "the " + backend + " library could not be loaded");
    ThrowStatus(env, status);
  }
}

std::shared_ptr<Library> NativeLibrary::FromValue(Napi::Env env, Napi::Value value) {
  AddonData* data = GetAddonData(env);
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(data->libraryConstructor.Value())) {
    ThrowInvalidArgument(env, "expected a Library object");
  }
  return NativeLibrary::Unwrap(value.As<Napi::Object>())->library_;
}

Napi::Value NativeLibrary::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("backend", library_->Backend());
  result.Set("path", library_->Path());
  result.Set("version", library_->Version());
  result.Set("simulated", Napi::Boolean::New(env, library_->Simulated()));
  return result;
}

Napi::Value NativeLibrary::List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto library = library_;
  auto entries = std::make_shared<std::vector<ProbeListEntry>>();
  auto job = std::make_unique<CallJob>(
      env, [library, entries](WorkerContext&) { return library->List(entries.get()); },
      [entries](Napi::Env env) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, entries->size());
        for (uint32_t i = 0; i < entries->size(); i++) {
          const ProbeListEntry& entry = (*entries)[i];
          Napi::Object item = Napi::Object::New(env);
          item.Set("serialNumber", Napi::Number::New(env, entry.serialNumber));
          if (!entry.product.empty()) item.Set("product", entry.product);
          if (!entry.firmware.empty()) item.Set("firmware", entry.firmware);
          array.Set(i, item);
        }
        return array;
      });
  Napi::Promise promise = job->Promise();
  // A thread of its own: listing opens a vendor instance, which may take a while on real hardware.
  Worker* worker = Worker::Start(env, &GetAddonData(env)->workers, "tfm-list", library, nullptr);
  worker->Submit(env, std::move(job));
  worker->DetachOwner();  // closes after the listing and deletes itself
  return promise;
}

}  // namespace tfm
