// The J-Link library as a file: where it is searched, the private copies each probe session runs
// on, the log-callback trampolines those copies report through, and the loaded library that lists
// probes. The probe itself is in jlink_backend.cc.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.h"
#include "jlink_sdk.h"
#include "platform.h"

namespace tfm {
namespace jlink {

// Private copies of the library, pooled per library file. The J-Link library keeps one emulator
// connection per loaded copy, so each session gets its own copy; a copy is handed to one session
// at a time and returns to the pool after JLINKARM_Close (copies are never unloaded: platform.h).
platform::LibraryHandle AcquireCopy(const std::string& path, std::string* error);
void ReleaseCopy(const std::string& path, platform::LibraryHandle handle);

// Log callbacks carry no context pointer, and each copy needs its own pair: a fixed set of
// trampolines, each bound to a slot that holds a session's LogSink. AcquireLogSlot returns -1 when
// all are taken (the session then runs without vendor logs).
int AcquireLogSlot(const LogSink& sink);
void ReleaseLogSlot(int slot);
LogCallback* LogTrampoline(int slot);
LogCallback* ErrorTrampoline(int slot);

// The loaded library, shared read-only: lists probes (sessions use private copies) and reports its
// version, e.g. "V7.94e".
class JlinkLibrary : public Library {
 public:
  JlinkLibrary(std::string path, platform::LibraryHandle handle, Api api, bool simulated);
  std::string Backend() const override { return "jlink"; }
  std::string Path() const override { return path_; }
  std::string Version() const override { return version_; }
  bool Simulated() const override { return simulated_; }
  uint32_t RawVersion() const { return rawVersion_; }
  Status List(std::vector<ProbeListEntry>* out) override;

 private:
  std::string path_;
  platform::LibraryHandle handle_;
  Api api_;
  bool simulated_;
  uint32_t rawVersion_ = 0;
  std::string version_;
  std::mutex listMutex_;
};

}  // namespace jlink
}  // namespace tfm
