// The contract between the addon's per-probe worker and a vendor backend (nrfjprog, J-Link).
// A backend is used from exactly one worker thread at a time: the worker serialises every call, so
// backends need no locking of their own. Every method returns a Status; a failing Status carries a
// stable code string (the TypeScript ErrorCode), the vendor's numeric code and the vendor function
// that failed. Backends never throw C++ exceptions across this interface and never touch N-API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "secure_bytes.h"

namespace tfm {

struct Status {
  bool ok = true;
  std::string code;       // e.g. "DEVICE_PROTECTED"; empty when ok
  std::string message;    // operator-facing text; never key material
  int64_t vendorCode = 0; // nrfjprogdll_err_t or J-Link return value
  bool hasVendorCode = false;
  std::string operation;  // vendor function name, e.g. "NRFJPROG_read_u32_inst"

  static Status Ok() { return Status{}; }
  static Status Error(std::string code, std::string message, std::string operation = "",
                      bool hasVendorCode = false, int64_t vendorCode = 0) {
    Status s;
    s.ok = false;
    s.code = std::move(code);
    s.message = std::move(message);
    s.operation = std::move(operation);
    s.hasVendorCode = hasVendorCode;
    s.vendorCode = vendorCode;
    return s;
  }
};

enum class Core { Application = 0, Network = 1, Modem = 2 };
enum class ResetKind { System = 0, Debug = 1, Pin = 2 };

struct ProbeListEntry {
  uint32_t serialNumber = 0;
  std::string product;
  std::string firmware;
};

struct DeviceInfoResult {
  std::string family; // "NRF53" | "NRF91" | "UNKNOWN"
  uint32_t versionCode = 0;
  bool hasVersionCode = false;
};

// Log lines from the vendor library; may be invoked on any thread (vendor threads included).
using LogSink = std::function<void(const std::string& level, const std::string& source, const std::string& message)>;

// A loaded vendor library. Created on the JS thread (loading is quick), then shared read-only.
class Library {
 public:
  virtual ~Library() = default;
  virtual std::string Backend() const = 0;   // "nrfjprog" | "jlink"
  virtual std::string Path() const = 0;
  virtual std::string Version() const = 0;
  virtual bool Simulated() const = 0;        // fake vendor library marker symbol present
  // Lists probes. Runs on a worker thread.
  virtual Status List(std::vector<ProbeListEntry>* out) = 0;
};

// One open probe. Created, used and destroyed on its own worker thread.
class ProbeBackend {
 public:
  virtual ~ProbeBackend() = default;
  virtual Status Open(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint) = 0;
  virtual Status DeviceInfo(DeviceInfoResult* out) = 0;
  virtual Status SelectCore(Core core) = 0;
  // Memory contents may be key material: they travel in zeroing buffers (secure_bytes.h), and a
  // backend that copies them keeps its copies in SecureBytes / SecureWords too.
  virtual Status Read(uint32_t address, uint32_t length, SecureBytes* out) = 0;
  virtual Status Write(uint32_t address, const SecureBytes& data, bool nvmc) = 0;
  virtual Status ReadU32(uint32_t address, uint32_t* out) = 0;
  virtual Status WriteU32(uint32_t address, uint32_t value, bool nvmc) = 0;
  virtual Status ErasePage(uint32_t address) = 0;
  virtual Status EraseAll() = 0;
  virtual Status Recover() = 0;
  virtual Status ReadAccessPort(uint8_t ap, uint8_t reg, uint32_t* out) = 0;
  virtual Status WriteAccessPort(uint8_t ap, uint8_t reg, uint32_t value) = 0;
  virtual Status Reset(ResetKind kind) = 0;
  virtual Status Halt() = 0;
  virtual Status Go() = 0;
  // Releases the vendor instance (and, for nrfjprog 10.13+, its worker process). Idempotent.
  virtual void Close() = 0;
};

// Each backend file provides these two factories.
// LoadXxxLibrary: explicit path (may be empty) -> resolved with env var and standard locations.
// On failure returns nullptr and fills *status (VENDOR_LIBRARY_NOT_FOUND / _UNSUPPORTED).
std::shared_ptr<Library> LoadNrfjprogLibrary(const std::string& explicitPath, Status* status);
std::unique_ptr<ProbeBackend> CreateNrfjprogProbe(std::shared_ptr<Library> library, LogSink log);
std::shared_ptr<Library> LoadJlinkLibrary(const std::string& explicitPath, Status* status);
std::unique_ptr<ProbeBackend> CreateJlinkProbe(std::shared_ptr<Library> library, LogSink log);

}  // namespace tfm
