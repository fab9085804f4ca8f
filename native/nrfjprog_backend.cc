// Backend over Nordic's libnrfjprogdll, `_inst` API (nRF Command Line Tools 10.13 .. 10.24).
//
// Families (docs/vendor-behaviour.md): an instance opened with UNKNOWN_FAMILY only offers probe
// enumeration, connection, read_device_family and DP/AP register access (release notes 9.4.0);
// every memory, erase, reset and coprocessor call needs a family. So a session never makes a
// family-bound call under UNKNOWN: with 10.19+ it opens with AUTO_FAMILY (the library detects the
// family, release notes 10.19.0); before that (no NRFJPROG_version either) it opens with UNKNOWN,
// reads the family after connecting and selects it with NRFJPROG_select_family_inst (10.13.0).
//
// The library is dlopen()ed, never linked, and every function goes through a table of pointers
// whose types are declared here from the documented signatures (vendor-apis.md 1.4). Before any
// call is made the library is checked: the deprecated high-level library (libhighlevelnrfjprog,
// same NRFJPROG_ names with other signatures) and pre-10.13 libraries (no `_inst` functions) are
// refused, so nothing is ever called through a wrong signature.
//
// Since 10.13 every instance starts a `jlinkarm_nrf_worker` process that owns the J-Link
// connection; Close() must always run NRFJPROG_close_dll_inst or that process outlives us.
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend.h"
#include "nrfjprog_errors.h"
#include "platform.h"

namespace tfm {

namespace {

// ---- vendor types (DllCommonDefinitions.h) ----
using nrfjprog_inst_t = void*;
using nrfjprogdll_err_t = int32_t;  // a C enum: int-sized
using device_family_t = int32_t;
using coprocessor_t = int32_t;
using device_version_t = uint32_t;  // values such as 0x05340003; 4 bytes like any C enum here
using msg_callback_ex = void(const char* logger, int32_t level, const char* message, nrfjprog_inst_t instance);

constexpr device_family_t NRF53_FAMILY = 53;
constexpr device_family_t NRF91_FAMILY = 91;
constexpr device_family_t UNKNOWN_FAMILY = 99;  // enumeration, connection and family detection only
constexpr device_family_t AUTO_FAMILY = 255;    // 10.19.0+: the library detects the family itself

constexpr coprocessor_t CP_APPLICATION = 0;
constexpr coprocessor_t CP_MODEM = 1;
constexpr coprocessor_t CP_NETWORK = 2;

constexpr nrfjprogdll_err_t SUCCESS = 0;
constexpr uint32_t kDefaultSpeedKhz = 2000;
// JLINKARM_SWD_MIN_SPEED_KHZ / _MAX_SPEED_KHZ (DllCommonDefinitions.h, pynrfjprog Parameters.py);
// connect_to_emu_with_snr returns INVALID_PARAMETER outside them.
constexpr uint32_t kMinSpeedKhz = 4, kMaxSpeedKhz = 50000;
constexpr uint32_t kMinMajor = 10, kMinMinor = 13;
// NRFJPROG_version and AUTO_FAMILY both came with 10.19.0 (release notes).
constexpr uint32_t kAutoMajor = 10, kAutoMinor = 19;

struct NrfjprogApi {
  nrfjprogdll_err_t (*version)(uint32_t*, uint32_t*, uint32_t*);
  nrfjprogdll_err_t (*open_dll_inst)(nrfjprog_inst_t*, const char*, msg_callback_ex*, void*, device_family_t);
  void (*close_dll_inst)(nrfjprog_inst_t*);
  nrfjprogdll_err_t (*enum_emu_snr_inst)(nrfjprog_inst_t, uint32_t*, uint32_t, uint32_t*);
  nrfjprogdll_err_t (*connect_to_emu_with_snr_inst)(nrfjprog_inst_t, uint32_t, uint32_t);
  nrfjprogdll_err_t (*disconnect_from_emu_inst)(nrfjprog_inst_t);
  nrfjprogdll_err_t (*select_family_inst)(nrfjprog_inst_t, device_family_t);
  nrfjprogdll_err_t (*select_coprocessor_inst)(nrfjprog_inst_t, coprocessor_t);
  nrfjprogdll_err_t (*read_device_family_inst)(nrfjprog_inst_t, device_family_t*);
  nrfjprogdll_err_t (*read_device_version_inst)(nrfjprog_inst_t, device_version_t*);
  nrfjprogdll_err_t (*read_inst)(nrfjprog_inst_t, uint32_t, uint8_t*, uint32_t);
  nrfjprogdll_err_t (*write_inst)(nrfjprog_inst_t, uint32_t, const uint8_t*, uint32_t, bool);
  nrfjprogdll_err_t (*read_u32_inst)(nrfjprog_inst_t, uint32_t, uint32_t*);
  nrfjprogdll_err_t (*write_u32_inst)(nrfjprog_inst_t, uint32_t, uint32_t, bool);
  nrfjprogdll_err_t (*erase_page_inst)(nrfjprog_inst_t, uint32_t);
  nrfjprogdll_err_t (*erase_all_inst)(nrfjprog_inst_t);
  nrfjprogdll_err_t (*recover_inst)(nrfjprog_inst_t);
  nrfjprogdll_err_t (*read_access_port_register_inst)(nrfjprog_inst_t, uint8_t, uint8_t, uint32_t*);
  nrfjprogdll_err_t (*write_access_port_register_inst)(nrfjprog_inst_t, uint8_t, uint8_t, uint32_t);
  nrfjprogdll_err_t (*sys_reset_inst)(nrfjprog_inst_t);
  nrfjprogdll_err_t (*debug_reset_inst)(nrfjprog_inst_t);
  nrfjprogdll_err_t (*pin_reset_inst)(nrfjprog_inst_t);
  nrfjprogdll_err_t (*halt_inst)(nrfjprog_inst_t);
  nrfjprogdll_err_t (*go_inst)(nrfjprog_inst_t);
};

// Symbol name -> table slot. Resolving fills every slot or refuses the library.
struct SymbolSlot {
  const char* name;
  void** slot;
};

std::vector<SymbolSlot> Slots(NrfjprogApi* api) {
  return {
      {"NRFJPROG_open_dll_inst", reinterpret_cast<void**>(&api->open_dll_inst)},
      {"NRFJPROG_close_dll_inst", reinterpret_cast<void**>(&api->close_dll_inst)},
      {"NRFJPROG_enum_emu_snr_inst", reinterpret_cast<void**>(&api->enum_emu_snr_inst)},
      {"NRFJPROG_connect_to_emu_with_snr_inst", reinterpret_cast<void**>(&api->connect_to_emu_with_snr_inst)},
      {"NRFJPROG_disconnect_from_emu_inst", reinterpret_cast<void**>(&api->disconnect_from_emu_inst)},
      {"NRFJPROG_select_family_inst", reinterpret_cast<void**>(&api->select_family_inst)},
      {"NRFJPROG_select_coprocessor_inst", reinterpret_cast<void**>(&api->select_coprocessor_inst)},
      {"NRFJPROG_read_device_family_inst", reinterpret_cast<void**>(&api->read_device_family_inst)},
      {"NRFJPROG_read_device_version_inst", reinterpret_cast<void**>(&api->read_device_version_inst)},
      {"NRFJPROG_read_inst", reinterpret_cast<void**>(&api->read_inst)},
      {"NRFJPROG_write_inst", reinterpret_cast<void**>(&api->write_inst)},
      {"NRFJPROG_read_u32_inst", reinterpret_cast<void**>(&api->read_u32_inst)},
      {"NRFJPROG_write_u32_inst", reinterpret_cast<void**>(&api->write_u32_inst)},
      {"NRFJPROG_erase_page_inst", reinterpret_cast<void**>(&api->erase_page_inst)},
      {"NRFJPROG_erase_all_inst", reinterpret_cast<void**>(&api->erase_all_inst)},
      {"NRFJPROG_recover_inst", reinterpret_cast<void**>(&api->recover_inst)},
      {"NRFJPROG_read_access_port_register_inst", reinterpret_cast<void**>(&api->read_access_port_register_inst)},
      {"NRFJPROG_write_access_port_register_inst", reinterpret_cast<void**>(&api->write_access_port_register_inst)},
      {"NRFJPROG_sys_reset_inst", reinterpret_cast<void**>(&api->sys_reset_inst)},
      {"NRFJPROG_debug_reset_inst", reinterpret_cast<void**>(&api->debug_reset_inst)},
      {"NRFJPROG_pin_reset_inst", reinterpret_cast<void**>(&api->pin_reset_inst)},
      {"NRFJPROG_halt_inst", reinterpret_cast<void**>(&api->halt_inst)},
      {"NRFJPROG_go_inst", reinterpret_cast<void**>(&api->go_inst)},
  };
}

// Exported by libhighlevelnrfjprog only.
const char* const kHighLevelMarkers[] = {"NRFJPROG_dll_open", "NRFJPROG_probe_init", "NRFJPROG_probe_init_ex",
                                         "NRFJPROG_probe_uninit"};
// Exported by the pre-10.13 (global state) libnrfjprogdll and still by newer ones.
const char* const kLegacyMarkers[] = {"NRFJPROG_open_dll", "NRFJPROG_connect_to_emu_with_snr", "NRFJPROG_read_u32"};
// Exported only by this repository's fake vendor library (test/fixtures/fake-nrfjprog).
const char kFakeMarker[] = "tfm_provision_fake_vendor_library";

std::string Hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

class NrfjprogLibrary : public Library {
 public:
  NrfjprogLibrary(std::string path, const NrfjprogApi& api, std::string version, bool hasAutoFamily, bool simulated)
      : path_(std::move(path)), api_(api), version_(std::move(version)), hasAutoFamily_(hasAutoFamily), simulated_(simulated),
        // Read here, on the JS thread: a probe thread must not getenv() while JavaScript may setenv().
        jlinkPath_(platform::GetEnv("TFM_PROVISION_JLINK_LIBRARY")) {}

  std::string Backend() const override { return "nrfjprog"; }
  std::string Path() const override { return path_; }
  std::string Version() const override { return version_; }
  bool Simulated() const override { return simulated_; }
  const NrfjprogApi& Api() const { return api_; }
  bool HasAutoFamily() const { return hasAutoFamily_; }
  // The J-Link library nrfjprog is told to use; empty = nrfjprog finds the newest itself.
  const std::string& JlinkPath() const { return jlinkPath_; }

  Status List(std::vector<ProbeListEntry>* out) override {
    nrfjprog_inst_t instance = nullptr;
    nrfjprogdll_err_t err = api_.open_dll_inst(&instance, nullptr, nullptr, nullptr, UNKNOWN_FAMILY);
    if (err != SUCCESS) return NrfjprogStatus(err, "NRFJPROG_open_dll_inst", "opening an nrfjprog instance to list probes");
    std::vector<uint32_t> serials;
    Status status = EnumerateSerials(api_, instance, &serials);
    api_.close_dll_inst(&instance);
    if (!status.ok) return status;
    out->clear();
    for (uint32_t serial : serials) out->push_back(ProbeListEntry{serial, "", ""});
    return Status::Ok();
  }

  static Status EnumerateSerials(const NrfjprogApi& api, nrfjprog_inst_t instance, std::vector<uint32_t>* out) {
    std::vector<uint32_t> buffer(64);
    for (;;) {
      uint32_t available = 0;
      nrfjprogdll_err_t err =
          api.enum_emu_snr_inst(instance, buffer.data(), static_cast<uint32_t>(buffer.size()), &available);
      if (err != SUCCESS) return NrfjprogStatus(err, "NRFJPROG_enum_emu_snr_inst", "listing connected probes");
      if (available <= buffer.size()) {
        out->assign(buffer.begin(), buffer.begin() + available);
        return Status::Ok();
      }
      buffer.resize(available);
    }
  }

 private:
  std::string path_;
  NrfjprogApi api_;
  std::string version_;
  bool hasAutoFamily_;
  bool simulated_;
  std::string jlinkPath_;
};

// ---- log routing ----
// msg_callback_ex carries no user pointer we can rely on: the header documents log_param as
// "passed back" while the typedef's last parameter is the instance. Both values are registered, and
// a message logged by open_dll_inst before the instance is known goes to the thread that is opening.
std::mutex g_routesMutex;
std::unordered_map<void*, std::shared_ptr<LogSink>>& Routes() {
  static auto* routes = new std::unordered_map<void*, std::shared_ptr<LogSink>>();  // used until exit
  return *routes;
}
thread_local std::shared_ptr<LogSink> t_openingSink;

const char* LevelName(int32_t level) {
  if (level >= 60) return "critical";
  if (level >= 50) return "error";
  if (level >= 40) return "warning";
  if (level >= 30) return "info";
  if (level >= 20) return "debug";
  return "trace";
}

void LogThunk(const char* logger, int32_t level, const char* message, nrfjprog_inst_t key) {
  std::shared_ptr<LogSink> sink;
  {
    std::lock_guard<std::mutex> lock(g_routesMutex);
    auto found = Routes().find(key);
    if (found != Routes().end()) sink = found->second;
  }
  if (!sink) sink = t_openingSink;
  if (!sink || !*sink) return;
  std::string text(message ? message : "");
  (*sink)(LevelName(level), std::string("nrfjprog") + (logger && *logger ? std::string("/") + logger : ""), text);
  // The line may be a data trace of a key-slot access that the sink has just suppressed.
  platform::SecureZero(&text[0], text.size());
}

class NrfjprogProbe : public ProbeBackend {
 public:
  NrfjprogProbe(std::shared_ptr<NrfjprogLibrary> library, LogSink log)
      : library_(std::move(library)), api_(library_->Api()), sink_(std::make_shared<LogSink>(std::move(log))) {}
  ~NrfjprogProbe() override { Close(); }

  Status Open(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint) override {
    if (instance_ != nullptr) return Status::Error("INVALID_OPERATION", "The probe is already open.");
    serial_ = serialNumber;
    if (speedKhz != 0 && (speedKhz < kMinSpeedKhz || speedKhz > kMaxSpeedKhz)) {
      return Status::Error("INVALID_PARAMETER", "SWD speed " + std::to_string(speedKhz) + " kHz is outside what nrfjprog accepts (" +
                                                    std::to_string(kMinSpeedKhz) + " to " + std::to_string(kMaxSpeedKhz) + " kHz).");
    }
    device_family_t family = familyHint == "NRF53" ? NRF53_FAMILY : familyHint == "NRF91" ? NRF91_FAMILY
                             : library_->HasAutoFamily()                 ? AUTO_FAMILY
                                                                         : UNKNOWN_FAMILY;
    AddRoute(this);
    t_openingSink = sink_;
    // jlink_path NULL: nrfjprog finds the newest J-Link install itself, unless the user named one.
    const std::string& jlink = library_->JlinkPath();
    nrfjprogdll_err_t err = api_.open_dll_inst(&instance_, jlink.empty() ? nullptr : jlink.c_str(), &LogThunk, this, family);
    t_openingSink.reset();
    if (err != SUCCESS) {
      instance_ = nullptr;
      RemoveRoutes();
      return NrfjprogStatus(err, "NRFJPROG_open_dll_inst", "opening an nrfjprog instance");
    }
    AddRoute(instance_);

    // Checked first so that an unknown serial is PROBE_NOT_FOUND whatever the library would say.
    std::vector<uint32_t> serials;
    Status listed = NrfjprogLibrary::EnumerateSerials(api_, instance_, &serials);
    if (!listed.ok) return listed;
    bool present = false;
    std::string connected;
    for (uint32_t serial : serials) {
      present = present || serial == serialNumber;
      connected += (connected.empty() ? "" : ", ") + std::to_string(serial);
    }
    if (!present) {
      return Status::Error("PROBE_NOT_FOUND",
                           "No probe with serial number " + std::to_string(serialNumber) + " is connected (connected: " +
                               (connected.empty() ? std::string("none") : connected) + ").");
    }
    err = api_.connect_to_emu_with_snr_inst(instance_, serialNumber, speedKhz ? speedKhz : kDefaultSpeedKhz);
    if (err != SUCCESS) {
      return NrfjprogStatus(err, "NRFJPROG_connect_to_emu_with_snr_inst", "connecting to probe " + std::to_string(serialNumber));
    }
    connectedToEmu_ = true;
    return ResolveFamily(family);
  }

  Status DeviceInfo(DeviceInfoResult* out) override {
    if (instance_ == nullptr) return Status::Error("INVALID_SESSION", "The probe is not open.");
    // The family as Open() settled it: read_device_family is not offered under a known family.
    out->family = family_ == NRF53_FAMILY ? "NRF53" : family_ == NRF91_FAMILY ? "NRF91" : "UNKNOWN";
    device_version_t version = 0;
    nrfjprogdll_err_t err = api_.read_device_version_inst(instance_, &version);
    if (err != SUCCESS) return Fail(err, "NRFJPROG_read_device_version_inst", "reading the device version");
    out->versionCode = version;
    out->hasVersionCode = true;
    return Status::Ok();
  }

  Status SelectCore(Core core) override {
    coprocessor_t cp = core == Core::Network ? CP_NETWORK : core == Core::Modem ? CP_MODEM : CP_APPLICATION;
    return Call("NRFJPROG_select_coprocessor_inst", [&] { return api_.select_coprocessor_inst(instance_, cp); },
                 std::string("selecting the ") + (core == Core::Network ? "network" : core == Core::Modem ? "modem" : "application") +
                     " core");
  }

  Status Read(uint32_t address, uint32_t length, SecureBytes* out) override {
    out->assign(length, 0);
    if (length == 0) return Status::Ok();
    return Call("NRFJPROG_read_inst", [&] { return api_.read_inst(instance_, address, out->data(), length); },
                 "reading " + std::to_string(length) + " bytes at " + Hex(address));
  }

  // nvmc -> mem_control = true: nrfjprog drives the selected core's NVMC around the write (it does
  // not erase). Without it the write is a plain bus write, which flash and UICR ignore.
  Status Write(uint32_t address, const SecureBytes& data, bool nvmc) override {
    if (data.empty()) return Status::Ok();
    return Call("NRFJPROG_write_inst", [&] { return api_.write_inst(instance_, address, data.data(), static_cast<uint32_t>(data.size()), nvmc); }, "writing " + std::to_string(data.size()) + " bytes at " + Hex(address));
  }

  Status ReadU32(uint32_t address, uint32_t* out) override {
    return Call("NRFJPROG_read_u32_inst", [&] { return api_.read_u32_inst(instance_, address, out); }, "reading the word at " + Hex(address));
  }

  Status WriteU32(uint32_t address, uint32_t value, bool nvmc) override {
    return Call("NRFJPROG_write_u32_inst", [&] { return api_.write_u32_inst(instance_, address, value, nvmc); },
                 "writing the word at " + Hex(address));
  }

  Status ErasePage(uint32_t address) override {
    return Call("NRFJPROG_erase_page_inst", [&] { return api_.erase_page_inst(instance_, address); }, "erasing the page at " + Hex(address));
  }

  Status EraseAll() override { return Call("NRFJPROG_erase_all_inst", [&] { return api_.erase_all_inst(instance_); }, "erasing all"); }

  // NOTE: recover may also write UICR.APPROTECT "open" and install an unlock image, depending on
  // the library's configuration (vendor-apis.md 1.5: [approtect] write_uicr_approtect defaults to
  // true). Whether that is acceptable, and what to write afterwards, is the caller's policy
  // (station/provision layers), not this backend's.
  Status Recover() override { return Call("NRFJPROG_recover_inst", [&] { return api_.recover_inst(instance_); }, "recovering the device"); }

  Status ReadAccessPort(uint8_t ap, uint8_t reg, uint32_t* out) override {
    return Call("NRFJPROG_read_access_port_register_inst", [&] { return api_.read_access_port_register_inst(instance_, ap, reg, out); },
                 "reading AP " + std::to_string(ap) + " register " + Hex(reg));
  }

  Status WriteAccessPort(uint8_t ap, uint8_t reg, uint32_t value) override {
    return Call("NRFJPROG_write_access_port_register_inst", [&] { return api_.write_access_port_register_inst(instance_, ap, reg, value); },
                 "writing AP " + std::to_string(ap) + " register " + Hex(reg));
  }

  Status Reset(ResetKind kind) override {
    switch (kind) {
      case ResetKind::Debug:
        return Call("NRFJPROG_debug_reset_inst", [&] { return api_.debug_reset_inst(instance_); }, "debug reset");
      case ResetKind::Pin:
        return Call("NRFJPROG_pin_reset_inst", [&] { return api_.pin_reset_inst(instance_); }, "pin reset");
      case ResetKind::System:
      default:
        return Call("NRFJPROG_sys_reset_inst", [&] { return api_.sys_reset_inst(instance_); }, "system reset");
    }
  }

  Status Halt() override { return Call("NRFJPROG_halt_inst", [&] { return api_.halt_inst(instance_); }, "halting the CPU"); }
  Status Go() override { return Call("NRFJPROG_go_inst", [&] { return api_.go_inst(instance_); }, "starting the CPU"); }

  void Close() override {
    if (instance_ != nullptr) {
      if (connectedToEmu_) api_.disconnect_from_emu_inst(instance_);
      connectedToEmu_ = false;
      api_.close_dll_inst(&instance_);  // also ends the instance's jlinkarm_nrf_worker process
      instance_ = nullptr;
    }
    RemoveRoutes();
  }

 private:
  // After connecting: the family every later call works under. A hint is taken as given (a wrong
  // one fails the first device call with WRONG_FAMILY_FOR_DEVICE); AUTO and UNKNOWN read it from
  // the device (read_device_family is offered under both), and UNKNOWN then selects it.
  Status ResolveFamily(device_family_t opened) {
    if (opened != UNKNOWN_FAMILY && opened != AUTO_FAMILY) {
      family_ = opened;
      return Status::Ok();
    }
    device_family_t detected = UNKNOWN_FAMILY;
    nrfjprogdll_err_t err = api_.read_device_family_inst(instance_, &detected);
    if (err != SUCCESS) return Fail(err, "NRFJPROG_read_device_family_inst", "reading the device family");
    if (detected != NRF53_FAMILY && detected != NRF91_FAMILY) {
      return Status::Error("UNKNOWN_DEVICE", "The device behind probe " + std::to_string(serial_) + " is of nrfjprog family " +
                                                 std::to_string(detected) + ", not nRF53 or nRF91: tfm-provision cannot provision it.",
                           "NRFJPROG_read_device_family_inst");
    }
    if (opened == UNKNOWN_FAMILY) {
      err = api_.select_family_inst(instance_, detected);
      if (err != SUCCESS) return Fail(err, "NRFJPROG_select_family_inst", "selecting the device family");
    }
    family_ = detected;
    return Status::Ok();
  }

  // Runs one vendor call on the open instance.
  template <typename VendorCall>
  Status Call(const char* function, VendorCall call, const std::string& context) {
    if (instance_ == nullptr) return Status::Error("INVALID_SESSION", "The probe is not open.", function);
    nrfjprogdll_err_t err = call();
    return err == SUCCESS ? Status::Ok() : Fail(err, function, context);
  }
  Status Fail(nrfjprogdll_err_t err, const char* function, const std::string& context) {
    return NrfjprogStatus(err, function, context + " on probe " + std::to_string(serial_));
  }

  void AddRoute(void* key) {
    std::lock_guard<std::mutex> lock(g_routesMutex);
    Routes()[key] = sink_;
    routeKeys_.push_back(key);
  }
  void RemoveRoutes() {
    std::lock_guard<std::mutex> lock(g_routesMutex);
    for (void* key : routeKeys_) Routes().erase(key);
    routeKeys_.clear();
  }

  std::shared_ptr<NrfjprogLibrary> library_;
  const NrfjprogApi& api_;
  std::shared_ptr<LogSink> sink_;
  std::vector<void*> routeKeys_;
  nrfjprog_inst_t instance_ = nullptr;
  bool connectedToEmu_ = false;
  uint32_t serial_ = 0;
  device_family_t family_ = UNKNOWN_FAMILY;
};

Status Unsupported(const std::string& message) { return Status::Error("VENDOR_LIBRARY_UNSUPPORTED", message); }

// Checks an opened library and builds its function table; never calls into a library it refuses.
std::shared_ptr<Library> Validate(platform::LibraryHandle handle, const std::string& path, Status* status) {
  const std::string required = " tfm-provision needs libnrfjprogdll from nRF Command Line Tools 10.13 or newer.";
  for (const char* marker : kHighLevelMarkers) {
    if (platform::FindSymbol(handle, marker) != nullptr) {
      *status = Unsupported(path + " is the deprecated high-level nrfjprog library (libhighlevelnrfjprog: it exports " +
                            marker + "), whose functions share names with libnrfjprogdll but take other arguments." +
                            required + " It is usually in the same folder.");
      return nullptr;
    }
  }
  if (platform::FindSymbol(handle, "NRFJPROG_open_dll_inst") == nullptr) {
    for (const char* marker : kLegacyMarkers) {
      if (platform::FindSymbol(handle, marker) != nullptr) {
        *status = Unsupported(path + " is an nrfjprog library without the _inst API (it exports " + marker +
                              " but not NRFJPROG_open_dll_inst): nrfjprog 10.12 or older." + required);
        return nullptr;
      }
    }
    *status = Unsupported(path + " does not export the nrfjprog API (NRFJPROG_open_dll_inst is missing)." + required);
    return nullptr;
  }
  NrfjprogApi api{};
  std::string missing;
  for (const SymbolSlot& slot : Slots(&api)) {
    *slot.slot = platform::FindSymbol(handle, slot.name);
    if (*slot.slot == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(slot.name);
  }
  if (!missing.empty()) {
    *status = Unsupported(path + " lacks functions tfm-provision uses: " + missing + "." + required);
    return nullptr;
  }
  // NRFJPROG_version exists from 10.19.0; an `_inst` library without it is 10.13 .. 10.18 (the
  // `_inst` API and select_family came with 10.13.0), which has no AUTO_FAMILY either.
  api.version = reinterpret_cast<decltype(api.version)>(platform::FindSymbol(handle, "NRFJPROG_version"));
  std::string version = "10.13-10.18";
  bool hasAutoFamily = false;
  if (api.version != nullptr) {
    uint32_t major = 0, minor = 0, micro = 0;
    nrfjprogdll_err_t err = api.version(&major, &minor, &micro);
    if (err != SUCCESS) {
      *status = NrfjprogStatus(err, "NRFJPROG_version", "reading the version of " + path);
      return nullptr;
    }
    version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
    if (major < kMinMajor || (major == kMinMajor && minor < kMinMinor)) {
      *status = Unsupported(path + " is nrfjprog " + version + ", which is too old." + required);
      return nullptr;
    }
    hasAutoFamily = major > kAutoMajor || (major == kAutoMajor && minor >= kAutoMinor);
  }
  bool simulated = platform::FindSymbol(handle, kFakeMarker) != nullptr;
  return std::make_shared<NrfjprogLibrary>(path, api, version, hasAutoFamily, simulated);
}

}  // namespace

std::shared_ptr<Library> LoadNrfjprogLibrary(const std::string& explicitPath, Status* status) {
  std::vector<std::string> candidates;
  std::string origin;
  std::string fromEnv = platform::GetEnv("TFM_PROVISION_NRFJPROG_LIBRARY");
  // A name the user gave is a file, relative to the current directory: never a loader search, which
  // would load whatever library of that name LD_LIBRARY_PATH or ld.so.cache offers.
  if (!explicitPath.empty()) {
    candidates.push_back(platform::AbsolutePath(explicitPath));
    origin = " (the `library` option)";
  } else if (!fromEnv.empty()) {
    candidates.push_back(platform::AbsolutePath(fromEnv));
    origin = " (TFM_PROVISION_NRFJPROG_LIBRARY)";
  } else {
    candidates = platform::NrfjprogStandardLocations();
  }

  std::string searched;
  for (const std::string& candidate : candidates) {
    const bool bare = platform::IsBareLibraryName(candidate) && explicitPath.empty() && fromEnv.empty();
    if (!bare && !platform::FileExists(candidate)) {
      searched += "\n  " + candidate;
      continue;
    }
    std::string error;
    bool invalid = false;
    platform::LibraryHandle handle = platform::OpenLibrary(candidate, &error, &invalid);
    if (handle == nullptr && invalid) {
      *status = Status::Error("VENDOR_LIBRARY_INVALID", "Found the nrfjprog library at " + candidate + origin + " but " + error);
      return nullptr;
    }
    if (handle == nullptr) {
      if (bare) {
        searched += "\n  " + candidate + " (dynamic loader search path)";
        continue;
      }
      *status = Status::Error("VENDOR_LIBRARY_ERROR", "Found the nrfjprog library at " + candidate + origin +
                                                          " but could not load it: " + error);
      return nullptr;
    }
    return Validate(handle, candidate, status);
  }
  *status = Status::Error("VENDOR_LIBRARY_NOT_FOUND",
                          "The nrfjprog library (libnrfjprogdll, nRF Command Line Tools 10.13 or newer) was not found" + origin +
                              ". Searched:" + searched +
                              "\nInstall the nRF Command Line Tools, or set TFM_PROVISION_NRFJPROG_LIBRARY (or the `library` "
                              "option) to the library's path.");
  return nullptr;
}

std::unique_ptr<ProbeBackend> CreateNrfjprogProbe(std::shared_ptr<Library> library, LogSink log) {
  // Built without RTTI: the backend name says which Library subclass this is.
  if (!library || library->Backend() != "nrfjprog") return nullptr;
  auto nrfjprog = std::static_pointer_cast<NrfjprogLibrary>(library);
  return std::make_unique<NrfjprogProbe>(std::move(nrfjprog), std::move(log));
}

}  // namespace tfm
