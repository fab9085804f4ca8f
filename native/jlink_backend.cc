// The `jlink` backend: drives a SEGGER J-Link through libjlinkarm directly, for installs that have
// SEGGER's J-Link software but not Nordic's archived nrfjprog. It implements the same ProbeBackend
// contract as the nrfjprog backend, so the layers above see the same semantics:
//  - memory goes through the chip's AHB-AP: the application core through J-Link's memory API
//    (J-Link stays connected to the application core), the nRF5340 network core through AP1's
//    MEM-AP registers (CSW/TAR/DRW) via the CoreSight API;
//  - NVMC-controlled writes, page erase and erase-all are done here (CONFIG = Wen/Een, write, poll
//    READY with a deadline, CONFIG = Ren), exactly as nrfjprog's `mem_control` does them;
//  - erase-all of a locked core and recover use Nordic's CTRL-AP (ERASEALL + ERASEALLSTATUS).
// The J-Link library keeps one emulator connection per loaded copy, so every probe session runs
// on a private copy of the library (platform::OpenIsolatedLibrary), on the worker thread that the
// addon gives each probe. Copies are never unloaded (see platform.h); a closed session's copy is
// kept in a pool and reused by the next session, so a station's memory stays bounded by the
// number of probes open at once.
//
// Function signatures are declared here from SEGGER's documented API (no SEGGER header is used).
// Facts marked UNVERIFIED come from public users of the API, not from SEGGER's manual.

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if !defined(_WIN32)
#include <dlfcn.h>
#include <glob.h>
#endif

#include "backend.h"
#include "platform.h"

namespace tfm {
namespace {

// ------------------------------------------------------------------------------------------------
// J-Link SDK interface

extern "C" {
typedef void JlinkLogCallback(const char* message);
}

// JLINKARM_EMU_CONNECT_INFO, natural alignment (as square/pylink's ctypes mirror).
struct JlinkEmuConnectInfo {
  uint32_t SerialNumber;
  uint8_t Connection;
  uint32_t USBAddr;
  uint8_t aIPAddr[16];
  int Time;
  uint64_t Time_us;
  uint32_t HWVersion;
  uint8_t abMACAddr[6];
  char acProduct[32];
  char acNickname[32];
  char acFWString[112];
  char IsDHCPAssignedIP;
  char IsDHCPAssignedIPIsValid;
  char NumIPConnections;
  char NumIPConnectionsIsValid;
  uint8_t aPadding[34];
};
static_assert(sizeof(JlinkEmuConnectInfo) == 264, "JLINKARM_EMU_CONNECT_INFO layout");

struct JlinkApi {
  uint32_t (*GetDLLVersion)() = nullptr;
  int (*EMU_GetList)(int hostInterfaces, JlinkEmuConnectInfo* infos, int maxInfos) = nullptr;
  int (*EMU_SelectByUSBSN)(uint32_t serialNumber) = nullptr;
  const char* (*OpenEx)(JlinkLogCallback* log, JlinkLogCallback* errorOut) = nullptr;
  void (*Close)() = nullptr;
  int (*ExecCommand)(const char* command, char* errorOut, int errorOutSize) = nullptr;
  int (*TIF_Select)(int interface) = nullptr;
  void (*SetSpeed)(uint32_t khz) = nullptr;
  int (*Connect)() = nullptr;
  int (*ReadMemEx)(uint32_t address, uint32_t numBytes, void* data, uint32_t accessWidth) = nullptr;
  int (*WriteMemEx)(uint32_t address, uint32_t numBytes, const void* data, uint32_t accessWidth) = nullptr;
  int (*WriteU32)(uint32_t address, uint32_t value) = nullptr;
  int (*CORESIGHT_Configure)(const char* config) = nullptr;
  int (*CORESIGHT_ReadAPDPReg)(uint8_t regIndex, uint8_t apNotDp, uint32_t* data) = nullptr;
  int (*CORESIGHT_WriteAPDPReg)(uint8_t regIndex, uint8_t apNotDp, uint32_t data) = nullptr;
  char (*Halt)() = nullptr;
  void (*Go)() = nullptr;
  int (*Reset)() = nullptr;
  int (*SetResetType)(int type) = nullptr;
};

template <typename Fn>
void Bind(platform::LibraryHandle handle, const char* name, Fn* slot, std::vector<std::string>* missing) {
  void* symbol = platform::FindSymbol(handle, name);
  if (symbol == nullptr) {
    missing->push_back(name);
    return;
  }
  *slot = reinterpret_cast<Fn>(symbol);
}

// Fills `api` from `handle`; returns the names of the required symbols the library lacks.
std::vector<std::string> BindApi(platform::LibraryHandle handle, JlinkApi* api) {
  std::vector<std::string> missing;
  Bind(handle, "JLINKARM_GetDLLVersion", &api->GetDLLVersion, &missing);
  Bind(handle, "JLINKARM_EMU_GetList", &api->EMU_GetList, &missing);
  Bind(handle, "JLINKARM_EMU_SelectByUSBSN", &api->EMU_SelectByUSBSN, &missing);
  Bind(handle, "JLINKARM_OpenEx", &api->OpenEx, &missing);
  Bind(handle, "JLINKARM_Close", &api->Close, &missing);
  Bind(handle, "JLINKARM_ExecCommand", &api->ExecCommand, &missing);
  Bind(handle, "JLINKARM_TIF_Select", &api->TIF_Select, &missing);
  Bind(handle, "JLINKARM_SetSpeed", &api->SetSpeed, &missing);
  Bind(handle, "JLINKARM_Connect", &api->Connect, &missing);
  Bind(handle, "JLINKARM_ReadMemEx", &api->ReadMemEx, &missing);
  Bind(handle, "JLINKARM_WriteMemEx", &api->WriteMemEx, &missing);
  Bind(handle, "JLINKARM_WriteU32", &api->WriteU32, &missing);
  Bind(handle, "JLINKARM_CORESIGHT_Configure", &api->CORESIGHT_Configure, &missing);
  Bind(handle, "JLINKARM_CORESIGHT_ReadAPDPReg", &api->CORESIGHT_ReadAPDPReg, &missing);
  Bind(handle, "JLINKARM_CORESIGHT_WriteAPDPReg", &api->CORESIGHT_WriteAPDPReg, &missing);
  Bind(handle, "JLINKARM_Halt", &api->Halt, &missing);
  Bind(handle, "JLINKARM_Go", &api->Go, &missing);
  Bind(handle, "JLINKARM_Reset", &api->Reset, &missing);
  Bind(handle, "JLINKARM_SetResetType", &api->SetResetType, &missing);
  return missing;
}

constexpr const char* kFakeMarkerSymbol = "tfm_provision_fake_vendor_library";
constexpr const char* kLibraryEnv = "TFM_PROVISION_JLINK_LIBRARY";
constexpr const char* kEraseTimeoutEnv = "TFM_PROVISION_JLINK_ERASE_TIMEOUT_MS";

constexpr int kHostUsb = 1;
constexpr int kTifSwd = 1;
constexpr int kResetTypeNormal = 0;
constexpr int kResetTypeResetPin = 2;
constexpr uint32_t kAccessWidth32 = 4;
constexpr uint32_t kDefaultSpeedKhz = 4000;

// J-Link global error codes (JLINKARM_ERR_*, as listed by square/pylink's enums) -> stable codes.
struct JlinkErrorInfo {
  int code;
  const char* stableCode;
  const char* text;
};
constexpr JlinkErrorInfo kJlinkErrors[] = {
    {-256, "PROBE_DISCONNECTED", "no connection to the J-Link"},
    {-257, "PROBE_DISCONNECTED", "communication with the J-Link failed"},
    {-258, "INVALID_SESSION", "the J-Link connection is not open"},
    {-259, "LOW_VOLTAGE", "the target has no power (VTref too low)"},
    {-260, "INVALID_SESSION", "invalid handle"},
    {-261, "CANNOT_CONNECT", "no supported CPU found on the target"},
    {-262, "NOT_IMPLEMENTED", "this J-Link does not support the operation"},
    {-263, "OUT_OF_MEMORY", "the J-Link ran out of memory"},
    {-264, "CANNOT_CONNECT", "target interface error"},
    {-265, "VENDOR_VERIFY_ERROR", "programmed data differs from the source"},
    {-266, "NVMC_ERROR", "programming failed"},
    {-267, "VENDOR_VERIFY_ERROR", "verification of programmed data failed"},
    {-268, "FILE_ERROR", "a file could not be opened"},
    {-269, "FILE_ERROR", "unknown file format"},
    {-270, "WRITE_FAILED", "target memory could not be written"},
    {-271, "NOT_IMPLEMENTED", "the device does not support the operation"},
    {-272, "INVALID_PARAMETER", "the J-Link library is configured incorrectly"},
    {-273, "UNKNOWN_DEVICE", "no target device selected"},
    {-274, "CANNOT_CONNECT", "the target CPU is in a low-power mode"},
};

// ------------------------------------------------------------------------------------------------
// Chip layout: the part of lib/targets this backend needs, mirrored per family.

struct CoreLayout {
  const char* name;
  uint8_t ahbAp;
  uint8_t ctrlAp;
  uint32_t nvmcBase;
  uint32_t flashBase;
  uint32_t flashSize;
  uint32_t pageSize;
  uint32_t uicrBase;
  uint32_t uicrSize;
};

struct FamilyLayout {
  const char* family;      // DeviceInfoResult.family
  const char* displayName; // for messages
  const char* jlinkDevice; // J-Link device name for the application core
  CoreLayout application;
  bool hasNetwork;
  CoreLayout network;
  uint32_t forceOff;  // RESET.NETWORK.FORCEOFF (secure alias); 0 when there is no network core
};

// nRF9161/nRF9151 use J-Link's nRF9160_xxAA device, as Zephyr's board files for those kits do:
// this backend programs the NVMC itself, so only the core type behind the device name matters.
const FamilyLayout kFamilies[] = {
    {"NRF53", "nRF5340", "nRF5340_xxAA_APP",
     {"application", 0, 2, 0x50039000u, 0x00000000u, 0x100000u, 0x1000u, 0x00FF8000u, 0x1000u},
     true,
     {"network", 1, 3, 0x41080000u, 0x01000000u, 0x40000u, 0x800u, 0x01FF8000u, 0x800u},
     0x50005614u},
    {"NRF91", "nRF91", "nRF9160_xxAA",
     {"application", 0, 4, 0x50039000u, 0x00000000u, 0x100000u, 0x1000u, 0x00FF8000u, 0x1000u},
     false,
     {},
     0},
};

// Used when the caller does not know the family: J-Link's generic core description reaches AP0
// on both families; the family is then read from FICR (or from the CTRL-AP's place when locked).
constexpr const char* kGenericDevice = "Cortex-M33";

constexpr uint32_t kFicrInfoPart = 0x00FF020Cu;
constexpr uint32_t kFicrSipPartNo = 0x00FF0140u;

constexpr uint32_t kNvmcReady = 0x400u;
constexpr uint32_t kNvmcConfig = 0x504u;
constexpr uint32_t kNvmcEraseAll = 0x50Cu;
constexpr uint32_t kNvmcRen = 0, kNvmcWen = 1, kNvmcEen = 2;

constexpr uint32_t kCtrlApReset = 0x000u;
constexpr uint32_t kCtrlApEraseAll = 0x004u;
constexpr uint32_t kCtrlApEraseAllStatus = 0x008u;
constexpr uint32_t kCtrlApIdr = 0x0FCu;
constexpr uint32_t kNordicCtrlApIdr = 0x12880000u;

// ADIv5. UNVERIFIED for J-Link: that CORESIGHT_*APDPReg's RegIndex is the register's offset / 4
// within the bank selected by DP SELECT (ap << 24 | bank << 4), and that an AP read returns the
// value itself (J-Link reading RDBUFF for the posted read). This is what public pylink-based
// CTRL-AP scripts do, and it matches ADIv5; SEGGER's manual was not available to confirm it.
constexpr uint8_t kDpSelect = 2;
constexpr uint32_t kMemApCsw = 0x00u, kMemApTar = 0x04u, kMemApDrw = 0x0Cu;
constexpr uint32_t kCswDeviceEn = 1u << 6;
constexpr uint32_t kCswModeMask = 0x37u;             // Size[2:0], AddrInc[5:4]
constexpr uint32_t kCswWord32AutoIncrement = 0x12u;  // Size = word, AddrInc = single
constexpr uint32_t kTarAutoIncrementSpan = 0x400u;   // TAR auto-increment is only defined within 1 KiB

// Cortex-M debug registers, for the network core (driven through AP1, J-Link stays on AP0).
constexpr uint32_t kDhcsr = 0xE000EDF0u;
constexpr uint32_t kDhcsrHalt = 0xA05F0003u;  // DBGKEY | C_HALT | C_DEBUGEN
constexpr uint32_t kDhcsrRun = 0xA05F0001u;   // DBGKEY | C_DEBUGEN
constexpr uint32_t kAircr = 0xE000ED0Cu;
constexpr uint32_t kAircrSysResetReq = 0x05FA0004u;

// Deadlines. Datasheet figures (nRF5340 PS): word write 43 us, page erase 87.5 ms, erase-all
// 173 ms; the deadlines leave room for USB round trips and slow SWD clocks.
constexpr auto kWriteTimeout = std::chrono::milliseconds(500);
constexpr auto kPageEraseTimeout = std::chrono::milliseconds(2000);
constexpr auto kDefaultEraseAllTimeout = std::chrono::milliseconds(15000);

std::string Hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

// ------------------------------------------------------------------------------------------------
// Log callbacks. J-Link's log callbacks carry no context pointer, and with one library copy per
// session each copy needs its own pair of callbacks: a fixed set of trampolines, each bound to a
// slot that holds a session's LogSink. A callback may arrive on a J-Link thread, so the slot is
// read under a lock; a slot released at close simply drops late lines.

constexpr size_t kLogSlotCount = 64;

struct LogSlot {
  std::mutex mutex;
  LogSink sink;
  bool used = false;
};
std::array<LogSlot, kLogSlotCount> g_logSlots;

void Deliver(size_t slot, const char* level, const char* message) {
  if (message == nullptr) return;
  LogSink sink;
  {
    std::lock_guard<std::mutex> lock(g_logSlots[slot].mutex);
    sink = g_logSlots[slot].sink;
  }
  if (!sink) return;
  std::string text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) sink(level, "jlink", text);
  // The line may be a data trace of a key-slot access that the sink has just suppressed.
  platform::SecureZero(&text[0], text.size());
}

// J-Link's log output is a trace of its own calls: 'debug'. Its error output: 'error'.
template <size_t N>
void LogTrampoline(const char* message) {
  Deliver(N, "debug", message);
}
template <size_t N>
void ErrorTrampoline(const char* message) {
  Deliver(N, "error", message);
}
template <size_t... N>
constexpr std::array<JlinkLogCallback*, sizeof...(N)> LogTrampolines(std::index_sequence<N...>) {
  return {&LogTrampoline<N>...};
}
template <size_t... N>
constexpr std::array<JlinkLogCallback*, sizeof...(N)> ErrorTrampolines(std::index_sequence<N...>) {
  return {&ErrorTrampoline<N>...};
}
const auto kLogTrampolines = LogTrampolines(std::make_index_sequence<kLogSlotCount>());
const auto kErrorTrampolines = ErrorTrampolines(std::make_index_sequence<kLogSlotCount>());

// Returns a slot index, or -1 when all are taken (the session then runs without vendor logs).
int AcquireLogSlot(const LogSink& sink) {
  if (!sink) return -1;
  for (size_t i = 0; i < kLogSlotCount; i++) {
    std::lock_guard<std::mutex> lock(g_logSlots[i].mutex);
    if (!g_logSlots[i].used) {
      g_logSlots[i].used = true;
      g_logSlots[i].sink = sink;
      return static_cast<int>(i);
    }
  }
  return -1;
}

void ReleaseLogSlot(int slot) {
  if (slot < 0) return;
  std::lock_guard<std::mutex> lock(g_logSlots[slot].mutex);
  g_logSlots[slot].used = false;
  g_logSlots[slot].sink = nullptr;
}

// ------------------------------------------------------------------------------------------------
// Private copies of the library, pooled per library file. A copy is handed to one session at a
// time; it returns to the pool after JLINKARM_Close.

std::mutex g_copyPoolMutex;
std::map<std::string, std::vector<platform::LibraryHandle>> g_copyPool;

platform::LibraryHandle AcquireCopy(const std::string& path, std::string* error) {
  {
    std::lock_guard<std::mutex> lock(g_copyPoolMutex);
    auto& idle = g_copyPool[path];
    if (!idle.empty()) {
      platform::LibraryHandle handle = idle.back();
      idle.pop_back();
      return handle;
    }
  }
  return platform::OpenIsolatedLibrary(path, error);
}

void ReleaseCopy(const std::string& path, platform::LibraryHandle handle) {
  if (handle == nullptr) return;
  std::lock_guard<std::mutex> lock(g_copyPoolMutex);
  g_copyPool[path].push_back(handle);
}

// ------------------------------------------------------------------------------------------------
// Library discovery

std::string FormatVersion(uint32_t raw) {
  // 79405 -> "V7.94e" (major * 10000 + minor * 100 + revision letter index), as pylink decodes it.
  uint32_t major = raw / 10000, minor = (raw / 100) % 100, revision = raw % 100;
  char text[32];
  if (revision > 0 && revision <= 26) {
    std::snprintf(text, sizeof text, "V%u.%02u%c", major, minor, static_cast<char>('a' + revision - 1));
  } else {
    std::snprintf(text, sizeof text, "V%u.%02u", major, minor);
  }
  return text;
}

// "JLink_V794e" > "JLink_V788": compare the digit runs as numbers, the rest as text.
bool NewerVersionFirst(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ie++;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) je++;
      unsigned long long na = std::stoull(a.substr(i, std::min<size_t>(ie - i, 18)));
      unsigned long long nb = std::stoull(b.substr(j, std::min<size_t>(je - j, 18)));
      if (na != nb) return na > nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] > b[j];
      i++;
      j++;
    }
  }
  return a.size() > b.size();
}

std::vector<std::string> Glob(const std::string& pattern) {
  std::vector<std::string> paths;
#if !defined(_WIN32)
  glob_t result;
  if (glob(pattern.c_str(), 0, nullptr, &result) == 0) {
    for (size_t i = 0; i < result.gl_pathc; i++) paths.push_back(result.gl_pathv[i]);
  }
  globfree(&result);
#else
  (void)pattern;
#endif
  return paths;
}

// The 32-bit (x86) and ARM builds SEGGER ships beside the 64-bit library cannot load here.
bool IsOtherArchitectureBuild(const std::string& path) {
  std::string name = path.substr(path.find_last_of("/\\") + 1);
  return name.find("_x86") != std::string::npos || name.find("_arm") != std::string::npos;
}

// Install locations, most likely first. A pattern whose folder carries a version (JLink_V794e)
// lists the newest version first. The final bare name lets the dynamic loader search
// LD_LIBRARY_PATH / ld.so.cache.
std::vector<std::string> JlinkSearchPatterns() {
#if defined(_WIN32)
  return {"C:\\Program Files\\SEGGER\\JLink\\JLink_x64.dll", "JLink_x64.dll"};
#elif defined(__APPLE__)
  return {"/Applications/SEGGER/JLink/libjlinkarm.dylib", "/Applications/SEGGER/JLink_V*/libjlinkarm.dylib",
          "/usr/local/lib/libjlinkarm.dylib", "/opt/homebrew/lib/libjlinkarm.dylib", "libjlinkarm.dylib"};
#else
  return {"/opt/SEGGER/JLink/libjlinkarm.so*",  "/opt/SEGGER/JLink_V*/libjlinkarm.so*", "/usr/lib/libjlinkarm.so*",
          "/usr/local/lib/libjlinkarm.so*",      "/usr/lib/x86_64-linux-gnu/libjlinkarm.so*",
          "/usr/lib/aarch64-linux-gnu/libjlinkarm.so*", "libjlinkarm.so"};
#endif
}

std::vector<std::string> JlinkStandardCandidates() {
  std::vector<std::string> candidates;
  for (const std::string& pattern : JlinkSearchPatterns()) {
    if (pattern.find('*') == std::string::npos) {
      candidates.push_back(pattern);
      continue;
    }
    std::vector<std::string> found = Glob(pattern);
    std::sort(found.begin(), found.end(), NewerVersionFirst);
    for (const std::string& path : found) {
      if (!IsOtherArchitectureBuild(path)) candidates.push_back(path);
    }
  }
  return candidates;
}

// The file a library was loaded from, for a bare name that the dynamic loader resolved: private
// copies are made from the file.
std::string LoadedFilePath(void* symbol, const std::string& fallback) {
#if !defined(_WIN32)
  Dl_info info;
  if (symbol != nullptr && dladdr(symbol, &info) != 0 && info.dli_fname != nullptr && info.dli_fname[0] == '/') {
    return info.dli_fname;
  }
#else
  (void)symbol;
#endif
  return fallback;
}

// ------------------------------------------------------------------------------------------------
// The loaded library

class JlinkLibrary : public Library {
 public:
  JlinkLibrary(std::string path, platform::LibraryHandle handle, JlinkApi api, bool simulated)
      : path_(std::move(path)), handle_(handle), api_(api), simulated_(simulated) {
    version_ = FormatVersion(api_.GetDLLVersion());
  }

  std::string Backend() const override { return "jlink"; }
  std::string Path() const override { return path_; }
  std::string Version() const override { return version_; }
  bool Simulated() const override { return simulated_; }

  Status List(std::vector<ProbeListEntry>* out) override {
    // Listing uses this (shared) copy of the library; sessions never do, each has its own.
    std::lock_guard<std::mutex> lock(listMutex_);
    out->clear();
    int count = api_.EMU_GetList(kHostUsb, nullptr, 0);
    if (count < 0) return ListError(count);
    std::vector<JlinkEmuConnectInfo> infos(static_cast<size_t>(count) + 1);
    int filled = api_.EMU_GetList(kHostUsb, infos.data(), static_cast<int>(infos.size()));
    if (filled < 0) return ListError(filled);
    size_t n = std::min(infos.size(), static_cast<size_t>(filled));
    for (size_t i = 0; i < n; i++) {
      ProbeListEntry entry;
      entry.serialNumber = infos[i].SerialNumber;
      entry.product = std::string(infos[i].acProduct, strnlen(infos[i].acProduct, sizeof infos[i].acProduct));
      entry.firmware = std::string(infos[i].acFWString, strnlen(infos[i].acFWString, sizeof infos[i].acFWString));
      out->push_back(std::move(entry));
    }
    return Status::Ok();
  }

 private:
  static Status ListError(int rc) {
    return Status::Error("VENDOR_LIBRARY_ERROR", "listing J-Link probes failed (JLINKARM_EMU_GetList returned " +
                                                     std::to_string(rc) + ")",
                         "JLINKARM_EMU_GetList", true, rc);
  }

  std::string path_;
  platform::LibraryHandle handle_;
  JlinkApi api_;
  bool simulated_;
  std::string version_;
  std::mutex listMutex_;
};

// ------------------------------------------------------------------------------------------------
// One open probe

class JlinkProbe : public ProbeBackend {
 public:
  JlinkProbe(std::shared_ptr<Library> library, LogSink log) : library_(std::move(library)), log_(std::move(log)) {
    std::string timeout = platform::GetEnv(kEraseTimeoutEnv);
    if (!timeout.empty()) {
      long ms = std::strtol(timeout.c_str(), nullptr, 10);
      if (ms > 0) eraseAllTimeout_ = std::chrono::milliseconds(ms);
    }
  }
  ~JlinkProbe() override { Close(); }

  Status Open(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint) override {
    Status status = OpenSequence(serialNumber, speedKhz, familyHint);
    if (!status.ok) Close();
    return status;
  }

  Status DeviceInfo(DeviceInfoResult* out) override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (family_ == nullptr) {
      status = DetectFamily(&family_);
      if (!status.ok) return status;
    }
    out->family = family_ ? family_->family : "UNKNOWN";
    out->hasVersionCode = false;  // nrfjprog's device_version_t has no J-Link counterpart
    return Status::Ok();
  }

  Status SelectCore(Core core) override {
    Status status = RequireLayout();
    if (!status.ok) return status;
    if (core == Core::Application) {
      core_ = Core::Application;
      return Status::Ok();
    }
    if (core == Core::Modem) {
      return Status::Error("NOT_IMPLEMENTED", "the modem core of an nRF91 is not reachable through the debug port");
    }
    if (!family_->hasNetwork) {
      return Status::Error("INVALID_OPERATION", std::string("an ") + family_->displayName + " has no network core");
    }
    // The network core's AHB-AP (AP1) answers only once RESET.NETWORK.FORCEOFF is released, which
    // is written through the application core's AHB-AP. Every reset of the application domain sets
    // FORCEOFF again; selecting the network core again releases it again.
    status = AppWriteWord(family_->forceOff, 0, "releasing the network core (RESET.NETWORK.FORCEOFF)");
    if (!status.ok) return status;
    core_ = Core::Network;
    // Reading AP1's CSW proves the port answers and gives the protection bits for its transfers.
    bool locked = false;
    status = ApLocked(family_->network.ahbAp, &locked);
    if (!status.ok) return DiagnoseNetwork(status, "reaching the network core's AHB-AP");
    Log("info", std::string("network core released from force-off; using AP") + std::to_string(family_->network.ahbAp) +
                    (locked ? " (locked: APPROTECT; only erase-all and recover work)" : ""));
    return Status::Ok();
  }

  Status Read(uint32_t address, uint32_t length, SecureBytes* out) override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    out->clear();
    if (length == 0) return Status::Ok();
    if (static_cast<uint64_t>(address) + length > 0x100000000ull) {
      return Status::Error("INVALID_PARAMETER", "read past the end of the 32-bit address space");
    }
    // Whole 32-bit words only: peripheral registers and the network UICR take no narrower access.
    uint32_t first = address & ~3u;
    uint64_t end = (static_cast<uint64_t>(address) + length + 3) & ~3ull;
    SecureWords words(static_cast<size_t>((end - first) / 4));
    status = ReadWords(first, &words, "reading " + std::to_string(length) + " bytes at " + Hex32(address));
    if (!status.ok) return status;
    out->resize(length);
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(words.data());  // the host is little-endian
    std::memcpy(out->data(), bytes + (address - first), length);
    return Status::Ok();
  }

  Status Write(uint32_t address, const SecureBytes& data, bool nvmc) override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (data.empty()) return Status::Ok();
    if (static_cast<uint64_t>(address) + data.size() > 0x100000000ull) {
      return Status::Error("INVALID_PARAMETER", "write past the end of the 32-bit address space");
    }
    std::string what = "writing " + std::to_string(data.size()) + " bytes at " + Hex32(address);
    uint32_t first = address & ~3u;
    uint64_t end = (static_cast<uint64_t>(address) + data.size() + 3) & ~3ull;
    SecureWords words(static_cast<size_t>((end - first) / 4));
    uint8_t* bytes = reinterpret_cast<uint8_t*>(words.data());
    if (nvmc) {
      // Flash cells only go from 1 to 0: 0xFF in the padding bytes leaves them as they are.
      std::memset(bytes, 0xFF, words.size() * 4);
    } else if (first != address || end != static_cast<uint64_t>(address) + data.size()) {
      status = ReadWords(first, &words, what);  // keep the bytes around an unaligned plain write
      if (!status.ok) return status;
    }
    std::memcpy(bytes + (address - first), data.data(), data.size());
    // `words` holds the data (maybe a key): SecureWords zeroes it when it goes out of scope.
    return nvmc ? NvmcWrite(first, words, what) : WriteWords(first, words, what);
  }

  Status ReadU32(uint32_t address, uint32_t* out) override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (address & 3u) return Status::Error("INVALID_PARAMETER", Hex32(address) + " is not word aligned");
    SecureWords word(1);
    status = ReadWords(address, &word, "reading " + Hex32(address));
    if (status.ok) *out = word[0];
    return status;
  }

  Status WriteU32(uint32_t address, uint32_t value, bool nvmc) override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (address & 3u) return Status::Error("INVALID_PARAMETER", Hex32(address) + " is not word aligned");
    SecureWords word{value};
    std::string what = "writing " + Hex32(address);
    return nvmc ? NvmcWrite(address, word, what) : WriteWords(address, word, what);
  }

  Status ErasePage(uint32_t address) override {
    Status status = RequireLayout();
    if (!status.ok) return status;
    const CoreLayout& core = Layout();
    if (address >= core.uicrBase && address - core.uicrBase < core.uicrSize) {
      return Status::Error("INVALID_PARAMETER", "UICR cannot be page-erased; only an erase-all clears it");
    }
    if (address < core.flashBase || address - core.flashBase >= core.flashSize ||
        (address - core.flashBase) % core.pageSize != 0) {
      return Status::Error("INVALID_PARAMETER", Hex32(address) + " is not the start of a flash page of the " +
                                                    core.name + " core (pages of " + Hex32(core.pageSize) + " bytes)");
    }
    // No ERASEPAGE register on nRF53/nRF91: with CONFIG = Een, 0xFFFFFFFF written to the page's
    // first word erases the page.
    std::string what = "erasing the page at " + Hex32(address);
    return NvmcOperation(kNvmcEen, what, kPageEraseTimeout, true,
                         [&]() { return WriteWords(address, {0xFFFFFFFFu}, what); });
  }

  Status EraseAll() override {
    Status status = RequireLayout();
    if (!status.ok) return status;
    const CoreLayout& core = Layout();
    // An open core is erased through its own NVMC (flash and UICR of that core only). A locked one
    // is erased through its CTRL-AP, which also reopens its debug access.
    bool locked = false;
    status = CoreLocked(&locked);
    if (!status.ok) return status;
    if (locked) {
      status = CtrlApEraseAll(core.ctrlAp, "NVMC_TIMEOUT");
      if (!status.ok) return status;
      if (core_ == Core::Application) attached_ = false;  // reconnect on next use
      return Status::Ok();
    }
    std::string what = "erasing all flash and UICR of the " + std::string(core.name) + " core";
    return NvmcOperation(kNvmcEen, what, eraseAllTimeout_, true,
                         [&]() { return WriteWords(core.nvmcBase + kNvmcEraseAll, {1u}, what); });
  }

  Status Recover() override {
    Status status = RequireLayout();
    if (!status.ok) return status;
    // nRF5340: the network CTRL-AP's erase-all erases the application core first (PS); the
    // application CTRL-AP is erased as well so a recover never depends on that.
    if (family_->hasNetwork) {
      status = CtrlApEraseAll(family_->network.ctrlAp, "RECOVER_FAILED");
      if (!status.ok) return status;
    }
    status = CtrlApEraseAll(family_->application.ctrlAp, "RECOVER_FAILED");
    if (!status.ok) return status;
    status = CtrlApResetPulse(family_->application.ctrlAp);
    if (!status.ok) return status;
    core_ = Core::Application;
    attached_ = false;
    status = EnsureAttached("reconnecting after recover");
    if (!status.ok) {
      return Status::Error("RECOVER_FAILED",
                           "J-Link S/N " + std::to_string(serial_) + ": the device is still locked after erase-all (" +
                               status.message + "). ERASEPROTECT may be enabled: it must be disabled by firmware or "
                               "through CTRL-AP ERASEPROTECT.DISABLE first.",
                           status.operation, status.hasVendorCode, status.vendorCode);
    }
    return Status::Ok();
  }

  Status ReadAccessPort(uint8_t ap, uint8_t reg, uint32_t* out) override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (reg & 3u) return Status::Error("INVALID_PARAMETER", "access-port register offsets are multiples of 4");
    return ApRead(ap, reg, out);
  }

  Status WriteAccessPort(uint8_t ap, uint8_t reg, uint32_t value) override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (reg & 3u) return Status::Error("INVALID_PARAMETER", "access-port register offsets are multiples of 4");
    return ApWrite(ap, reg, value);
  }

  Status Reset(ResetKind kind) override {
    Status status = RequireLayout();
    if (!status.ok) return status;
    if (kind == ResetKind::Debug) return CtrlApResetPulse(Layout().ctrlAp);
    if (core_ == Core::Network && kind == ResetKind::System) {
      return NetWriteWord(kAircr, kAircrSysResetReq, "resetting the network core (AIRCR.SYSRESETREQ)");
    }
    if (!attached_) return CtrlApResetPulse(family_->application.ctrlAp);  // locked: no core connection
    int type = kind == ResetKind::Pin ? kResetTypeResetPin : kResetTypeNormal;
    api_.SetResetType(type);
    int rc = api_.Reset();
    if (type != kResetTypeNormal) api_.SetResetType(kResetTypeNormal);
    if (rc < 0) return MapJlinkError(rc, "JLINKARM_Reset", "resetting the device", "CANNOT_CONNECT");
    // J-Link halts the core after a reset; nrfjprog's resets leave it running.
    api_.Go();
    return Status::Ok();
  }

  Status Halt() override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (core_ == Core::Network) return NetWriteWord(kDhcsr, kDhcsrHalt, "halting the network core");
    status = EnsureAttached("halting the application core");
    if (!status.ok) return status;
    if (api_.Halt() != 0) {
      return DiagnoseApp(-1, "JLINKARM_Halt", "halting the application core");
    }
    return Status::Ok();
  }

  Status Go() override {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (core_ == Core::Network) return NetWriteWord(kDhcsr, kDhcsrRun, "starting the network core");
    status = EnsureAttached("starting the application core");
    if (!status.ok) return status;
    api_.Go();
    return Status::Ok();
  }

  void Close() override {
    if (copy_ != nullptr) {
      if (opened_ && api_.Close) api_.Close();
      opened_ = false;
      // The log callbacks are detached by JLINKARM_Close; only then can the slot be reused.
      ReleaseLogSlot(logSlot_);
      logSlot_ = -1;
      ReleaseCopy(library_ ? library_->Path() : std::string(), copy_);
      copy_ = nullptr;
    }
    ReleaseLogSlot(logSlot_);
    logSlot_ = -1;
    attached_ = false;
    coresightReady_ = false;
  }

 private:
  // ---- opening ----------------------------------------------------------------------------------

  Status OpenSequence(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint) {
    serial_ = serialNumber;
    if (!library_ || library_->Backend() != "jlink") {
      return Status::Error("INTERNAL_ERROR", "the J-Link backend was given a library of another backend");
    }
    std::string error;
    copy_ = AcquireCopy(library_->Path(), &error);
    if (copy_ == nullptr) {
      return Status::Error("VENDOR_LIBRARY_ERROR",
                           "could not load a private copy of " + library_->Path() + " for this probe: " + error);
    }
    std::vector<std::string> missing = BindApi(copy_, &api_);
    if (!missing.empty()) {
      return Status::Error("VENDOR_LIBRARY_UNSUPPORTED", "the private copy of " + library_->Path() + " lacks " + missing[0]);
    }
    logSlot_ = AcquireLogSlot(log_);
    if (logSlot_ < 0 && log_) Log("warning", "too many open J-Link sessions for log forwarding; J-Link log lines are dropped");

    int rc = api_.EMU_SelectByUSBSN(serialNumber);
    if (rc < 0) {
      return Status::Error("PROBE_NOT_FOUND", "no J-Link with serial number " + std::to_string(serialNumber) +
                                                  " is connected (check the USB cable, or run `tfm-provision list`)",
                           "JLINKARM_EMU_SelectByUSBSN", true, rc);
    }
    const char* openError = api_.OpenEx(logSlot_ >= 0 ? kLogTrampolines[logSlot_] : nullptr,
                                        logSlot_ >= 0 ? kErrorTrampolines[logSlot_] : nullptr);
    if (openError != nullptr) {
      std::string text(openError);
      bool busy = text.find("in use") != std::string::npos || text.find("already") != std::string::npos;
      return Status::Error(busy ? "PROBE_BUSY" : "CANNOT_CONNECT",
                           "J-Link S/N " + std::to_string(serialNumber) + " could not be opened: " + text,
                           "JLINKARM_OpenEx");
    }
    opened_ = true;

    const FamilyLayout* hinted = FamilyByName(familyHint);
    std::string device = hinted ? hinted->jlinkDevice : kGenericDevice;
    Status status = Exec("Device = " + device, true);
    if (!status.ok) return status;
    // Writes to flash and UICR must reach the bus: J-Link's flash download would otherwise cache
    // them for its own flash loader (and the KMU needs each write in order, with its slot selected).
    // UNVERIFIED that these command names are accepted by every J-Link version: a refusal is logged.
    Exec("DisableFlashDL", false);
    Exec("DisableFlashBPs", false);

    rc = api_.TIF_Select(kTifSwd);
    if (rc != 0) {
      return Status::Error("CANNOT_CONNECT", "J-Link S/N " + std::to_string(serialNumber) + " refused SWD",
                           "JLINKARM_TIF_Select", true, rc);
    }
    api_.SetSpeed(speedKhz ? speedKhz : kDefaultSpeedKhz);

    rc = api_.Connect();
    if (rc >= 0) {
      attached_ = true;
    } else {
      // A locked core refuses the connection; the debug port still answers, which is what recover
      // and erase-all need. Anything else is a connection failure.
      bool locked = false;
      Status probeStatus = ConfigureCoresight();
      if (probeStatus.ok) probeStatus = ApLocked(0, &locked);
      if (!probeStatus.ok || !locked) {
        return MapJlinkError(rc, "JLINKARM_Connect", "connecting to the target over SWD", "CANNOT_CONNECT");
      }
      Log("warning", "the application core's debug access is locked (APPROTECT); only recover and erase-all work");
    }

    const FamilyLayout* detected = nullptr;
    status = DetectFamily(&detected);
    if (!status.ok) return status;
    if (hinted && detected && hinted != detected) {
      return Status::Error("WRONG_FAMILY", "J-Link S/N " + std::to_string(serialNumber) + " is connected to an " +
                                               detected->displayName + ", not an " + hinted->displayName);
    }
    family_ = detected ? detected : hinted;
    core_ = Core::Application;
    return Status::Ok();
  }

  static const FamilyLayout* FamilyByName(const std::string& family) {
    for (const FamilyLayout& layout : kFamilies) {
      if (family == layout.family) return &layout;
    }
    return nullptr;
  }

  // FICR when the core is reachable; else the CTRL-AP's position (AP2 on nRF53, AP4 on nRF91).
  Status DetectFamily(const FamilyLayout** out) {
    *out = nullptr;
    if (attached_) {
      SecureWords word(1);
      Status status = AppReadWords(kFicrInfoPart, &word, "reading FICR INFO.PART");
      if (!status.ok) return status;
      uint32_t part = word[0];
      if (part == 0x5340) {
        *out = FamilyByName("NRF53");
        return Status::Ok();
      }
      status = AppReadWords(kFicrSipPartNo, &word, "reading FICR SIPINFO.PARTNO");
      if (!status.ok) return status;
      uint32_t sipPart = word[0];
      if ((part >> 8) == 0x91 || (sipPart >> 8) == 0x91) *out = FamilyByName("NRF91");
      return Status::Ok();
    }
    for (const FamilyLayout& layout : kFamilies) {
      uint32_t idr = 0;
      if (ApRead(layout.application.ctrlAp, kCtrlApIdr, &idr).ok && idr == kNordicCtrlApIdr) {
        *out = &layout;
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Status Exec(const std::string& command, bool required) {
    char error[512] = {0};
    api_.ExecCommand(command.c_str(), error, sizeof error);
    error[sizeof error - 1] = '\0';
    if (error[0] == '\0') return Status::Ok();
    if (!required) {
      Log("warning", "J-Link did not accept \"" + command + "\": " + error);
      return Status::Ok();
    }
    return Status::Error("UNKNOWN_DEVICE",
                         "J-Link did not accept \"" + command + "\": " + error + " (update the J-Link software)",
                         "JLINKARM_ExecCommand");
  }

  // ---- state checks -----------------------------------------------------------------------------

  Status RequireOpen() const {
    if (!opened_) return Status::Error("INVALID_SESSION", "the J-Link session is not open");
    return Status::Ok();
  }

  Status RequireLayout() const {
    Status status = RequireOpen();
    if (!status.ok) return status;
    if (family_ == nullptr) {
      return Status::Error("UNKNOWN_DEVICE", "J-Link S/N " + std::to_string(serial_) +
                                                 ": the device is neither an nRF53 nor an nRF91; open it with a family");
    }
    return Status::Ok();
  }

  const CoreLayout& Layout() const { return core_ == Core::Network ? family_->network : family_->application; }

  void Log(const std::string& level, const std::string& message) {
    if (log_) log_(level, "jlink-backend", "J-Link S/N " + std::to_string(serial_) + ": " + message);
  }

  // J-Link code -> stable code. -1 and unknown codes get `fallback`.
  Status MapJlinkError(int rc, const char* operation, const std::string& what, const char* fallback) const {
    const char* code = fallback;
    std::string text = "returned " + std::to_string(rc);
    for (const JlinkErrorInfo& info : kJlinkErrors) {
      if (info.code == rc) {
        code = info.stableCode;
        text = info.text;
        break;
      }
    }
    return Status::Error(code, "J-Link S/N " + std::to_string(serial_) + ": " + what + " failed: " + text + " (" +
                                   operation + ")",
                         operation, true, rc);
  }

  // ---- application core: J-Link memory API --------------------------------------------------------

  Status EnsureAttached(const std::string& what) {
    if (attached_) return Status::Ok();
    int rc = api_.Connect();
    if (rc >= 0) {
      attached_ = true;
      return Status::Ok();
    }
    return DiagnoseApp(rc, "JLINKARM_Connect", what);
  }

  // A failed application-core access: DEVICE_PROTECTED when AP0 reports DeviceEn clear.
  Status DiagnoseApp(int rc, const char* operation, const std::string& what) {
    bool locked = false;
    if (ApLocked(family_ ? family_->application.ahbAp : 0, &locked).ok && locked) {
      return Status::Error("DEVICE_PROTECTED", "J-Link S/N " + std::to_string(serial_) + ": " + what +
                                                   " failed: the application core's debug access is locked "
                                                   "(APPROTECT). recover() reopens it and erases the device.",
                           operation, true, rc);
    }
    return MapJlinkError(rc, operation, what, "VENDOR_LIBRARY_ERROR");
  }

  Status AppReadWords(uint32_t address, SecureWords* words, const std::string& what) {
    Status status = EnsureAttached(what);
    if (!status.ok) return status;
    uint32_t bytes = static_cast<uint32_t>(words->size() * 4);
    int rc = api_.ReadMemEx(address, bytes, words->data(), kAccessWidth32);
    // UNVERIFIED: that the result counts bytes (public users compare it with NumBytes); a short read
    // is treated as a failure so no caller ever acts on partial data.
    if (rc < 0 || static_cast<uint32_t>(rc) < bytes) return DiagnoseApp(rc < 0 ? rc : -1, "JLINKARM_ReadMemEx", what);
    return Status::Ok();
  }

  Status AppWriteWords(uint32_t address, const SecureWords& words, const std::string& what) {
    Status status = EnsureAttached(what);
    if (!status.ok) return status;
    if (words.size() == 1) {
      int rc = api_.WriteU32(address, words[0]);
      if (rc != 0) return DiagnoseApp(rc < 0 ? rc : -1, "JLINKARM_WriteU32", what);
      return Status::Ok();
    }
    uint32_t bytes = static_cast<uint32_t>(words.size() * 4);
    int rc = api_.WriteMemEx(address, bytes, words.data(), kAccessWidth32);
    if (rc < 0 || static_cast<uint32_t>(rc) < bytes) return DiagnoseApp(rc < 0 ? rc : -1, "JLINKARM_WriteMemEx", what);
    return Status::Ok();
  }

  Status AppWriteWord(uint32_t address, uint32_t value, const std::string& what) {
    return AppWriteWords(address, {value}, what);
  }

  // ---- network core: AP1 MEM-AP registers ---------------------------------------------------------

  // A failed network-core access: forced off, locked, or a transfer error.
  Status DiagnoseNetwork(const Status& failure, const std::string& what) {
    SecureWords forceOff(1);
    if (AppReadWords(family_->forceOff, &forceOff, "reading RESET.NETWORK.FORCEOFF").ok && (forceOff[0] & 1u)) {
      return Status::Error("NETWORK_CORE_FORCED_OFF", "J-Link S/N " + std::to_string(serial_) + ": " + what +
                                                          " failed: the network core is held in force-off (every "
                                                          "reset sets it); select the network core again to release it",
                           failure.operation, failure.hasVendorCode, failure.vendorCode);
    }
    bool locked = false;
    if (ApLocked(family_->network.ahbAp, &locked).ok && locked) {
      return Status::Error("DEVICE_PROTECTED", "J-Link S/N " + std::to_string(serial_) + ": " + what +
                                                   " failed: the network core's debug access is locked (APPROTECT)",
                           failure.operation, failure.hasVendorCode, failure.vendorCode);
    }
    Status status = failure;
    status.message = "J-Link S/N " + std::to_string(serial_) + ": " + what + " failed: " + failure.message;
    return status;
  }

  // Reads `count` words into `readInto`, or writes them from `writeFrom` (exactly one is non-null).
  Status NetTransfer(uint32_t address, size_t count, uint32_t* readInto, const uint32_t* writeFrom, const std::string& what) {
    const uint8_t ap = family_->network.ahbAp;
    Status status = ApWrite(ap, kMemApCsw, cswBase_ | kCswWord32AutoIncrement);
    for (size_t i = 0; status.ok && i < count; i++) {
      uint32_t wordAddress = address + static_cast<uint32_t>(i * 4);
      if (i == 0 || wordAddress % kTarAutoIncrementSpan == 0) status = ApWrite(ap, kMemApTar, wordAddress);
      if (status.ok) status = writeFrom ? ApWrite(ap, kMemApDrw, writeFrom[i]) : ApRead(ap, kMemApDrw, &readInto[i]);
    }
    if (!status.ok) return DiagnoseNetwork(status, what);
    return Status::Ok();
  }

  Status NetWriteWord(uint32_t address, uint32_t value, const std::string& what) {
    return NetTransfer(address, 1, nullptr, &value, what);
  }

  // ---- either core ------------------------------------------------------------------------------

  Status ReadWords(uint32_t address, SecureWords* words, const std::string& what) {
    if (core_ == Core::Network) return NetTransfer(address, words->size(), words->data(), nullptr, what);
    return AppReadWords(address, words, what);
  }

  // By reference: a by-value copy of the words (maybe a key) would be one more buffer to wipe.
  Status WriteWords(uint32_t address, const SecureWords& words, const std::string& what) {
    if (core_ == Core::Network) return NetTransfer(address, words.size(), nullptr, words.data(), what);
    return AppWriteWords(address, words, what);
  }

  Status CoreLocked(bool* locked) {
    *locked = false;
    if (core_ == Core::Application) {
      if (attached_) return Status::Ok();
      Status status = EnsureAttached("connecting to the application core");
      if (status.ok) return status;
      if (status.code != "DEVICE_PROTECTED") return status;
      *locked = true;
      return Status::Ok();
    }
    Status status = ApLocked(family_->network.ahbAp, locked);
    if (!status.ok) return DiagnoseNetwork(status, "reading the network core's AHB-AP");
    return Status::Ok();
  }

  // ---- NVMC -------------------------------------------------------------------------------------

  Status WaitNvmcReady(std::chrono::milliseconds timeout, bool sleepBetweenPolls, const std::string& what) {
    const uint32_t ready = Layout().nvmcBase + kNvmcReady;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    SecureWords word(1);
    for (;;) {
      Status status = ReadWords(ready, &word, what + " (polling NVMC.READY)");
      if (!status.ok) return status;
      if (word[0] & 1u) return Status::Ok();
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Error("NVMC_TIMEOUT", "J-Link S/N " + std::to_string(serial_) + ": " + what +
                                                 ": the NVMC was still busy after " + std::to_string(timeout.count()) +
                                                 " ms");
      }
      if (sleepBetweenPolls) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // READY, CONFIG = mode, operation, READY (with `timeout`), CONFIG = Ren. CONFIG is put back to
  // read-only even when the operation failed, so a failure never leaves flash writable.
  template <typename Operation>
  Status NvmcOperation(uint32_t mode, const std::string& what, std::chrono::milliseconds timeout, bool sleepBetweenPolls,
                       Operation operation) {
    const uint32_t config = Layout().nvmcBase + kNvmcConfig;
    Status status = WaitNvmcReady(kWriteTimeout, false, what);
    if (!status.ok) return status;
    status = WriteWords(config, {mode}, what + " (NVMC.CONFIG)");
    if (!status.ok) return status;
    status = operation();
    if (status.ok) status = WaitNvmcReady(timeout, sleepBetweenPolls, what);
    if (!status.ok) {
      if (WaitNvmcReady(kWriteTimeout, false, what).ok) WriteWords(config, {kNvmcRen}, what);
      return status;
    }
    return WriteWords(config, {kNvmcRen}, what + " (NVMC.CONFIG)");
  }

  Status NvmcWrite(uint32_t address, const SecureWords& words, const std::string& what) {
    Status status = RequireLayout();
    if (!status.ok) return status;
    return NvmcOperation(kNvmcWen, what, kWriteTimeout, false, [&]() { return WriteWords(address, words, what); });
  }

  // ---- access ports -------------------------------------------------------------------------------

  // Without a core connection (locked device) the CoreSight API needs its own SWD setup.
  Status ConfigureCoresight() {
    if (attached_ || coresightReady_) return Status::Ok();
    int rc = api_.CORESIGHT_Configure("");
    if (rc < 0) return MapJlinkError(rc, "JLINKARM_CORESIGHT_Configure", "setting up the debug port", "CANNOT_CONNECT");
    coresightReady_ = true;
    return Status::Ok();
  }

  Status SelectApBank(uint8_t ap, uint32_t reg) {
    Status status = ConfigureCoresight();
    if (!status.ok) return status;
    // SELECT is rewritten before every access: J-Link's own memory accesses change it too.
    uint32_t select = static_cast<uint32_t>(ap) << 24 | (reg & 0xF0u);
    int rc = api_.CORESIGHT_WriteAPDPReg(kDpSelect, 0, select);
    if (rc < 0) {
      return MapJlinkError(rc, "JLINKARM_CORESIGHT_WriteAPDPReg", "selecting AP" + std::to_string(ap), "CANNOT_CONNECT");
    }
    return Status::Ok();
  }

  Status ApRead(uint8_t ap, uint32_t reg, uint32_t* out) {
    Status status = SelectApBank(ap, reg);
    if (!status.ok) return status;
    int rc = api_.CORESIGHT_ReadAPDPReg(static_cast<uint8_t>((reg >> 2) & 3u), 1, out);
    if (rc < 0) {
      return MapJlinkError(rc, "JLINKARM_CORESIGHT_ReadAPDPReg",
                           "reading AP" + std::to_string(ap) + " register " + Hex32(reg), "CANNOT_CONNECT");
    }
    return Status::Ok();
  }

  Status ApWrite(uint8_t ap, uint32_t reg, uint32_t value) {
    Status status = SelectApBank(ap, reg);
    if (!status.ok) return status;
    int rc = api_.CORESIGHT_WriteAPDPReg(static_cast<uint8_t>((reg >> 2) & 3u), 1, value);
    if (rc < 0) {
      return MapJlinkError(rc, "JLINKARM_CORESIGHT_WriteAPDPReg",
                           "writing AP" + std::to_string(ap) + " register " + Hex32(reg), "CANNOT_CONNECT");
    }
    return Status::Ok();
  }

  // An AHB-AP whose CSW.DeviceEn is clear refuses every transfer: APPROTECT is in force.
  Status ApLocked(uint8_t ap, bool* locked) {
    uint32_t csw = 0;
    Status status = ApRead(ap, kMemApCsw, &csw);
    if (!status.ok) return status;
    *locked = (csw & kCswDeviceEn) == 0;
    if (family_ && family_->hasNetwork && ap == family_->network.ahbAp) cswBase_ = csw & ~(kCswModeMask | kCswDeviceEn);
    return Status::Ok();
  }

  // CTRL-AP ERASEALL, then ERASEALLSTATUS polled until it reads 0 (probe-rs's nRF sequence).
  Status CtrlApEraseAll(uint8_t ctrlAp, const char* timeoutCode) {
    Status status = ApWrite(ctrlAp, kCtrlApEraseAll, 1);
    if (!status.ok) return status;
    auto deadline = std::chrono::steady_clock::now() + eraseAllTimeout_;
    for (;;) {
      uint32_t busy = 0;
      status = ApRead(ctrlAp, kCtrlApEraseAllStatus, &busy);
      if (!status.ok) return status;
      if (busy == 0) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Error(timeoutCode, "J-Link S/N " + std::to_string(serial_) + ": CTRL-AP (AP" +
                                              std::to_string(ctrlAp) + ") erase-all did not finish within " +
                                              std::to_string(eraseAllTimeout_.count()) + " ms");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Log("info", "CTRL-AP (AP" + std::to_string(ctrlAp) + ") erase-all done");
    return Status::Ok();
  }

  // CTRL-AP RESET: assert, release. A reset of the application domain (nrfjprog's "debug reset").
  Status CtrlApResetPulse(uint8_t ctrlAp) {
    Status status = ApWrite(ctrlAp, kCtrlApReset, 1);
    if (!status.ok) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return ApWrite(ctrlAp, kCtrlApReset, 0);
  }

  std::shared_ptr<Library> library_;
  LogSink log_;
  platform::LibraryHandle copy_ = nullptr;
  JlinkApi api_;
  int logSlot_ = -1;
  uint32_t serial_ = 0;
  bool opened_ = false;
  bool attached_ = false;        // JLINKARM_Connect succeeded (application core reachable)
  bool coresightReady_ = false;  // JLINKARM_CORESIGHT_Configure done (no core connection)
  const FamilyLayout* family_ = nullptr;
  Core core_ = Core::Application;
  uint32_t cswBase_ = 0x23000000u;  // AP1 CSW protection bits; refreshed from the chip when read
  std::chrono::milliseconds eraseAllTimeout_ = kDefaultEraseAllTimeout;
};

}  // namespace

// ------------------------------------------------------------------------------------------------
// Factories

std::shared_ptr<Library> LoadJlinkLibrary(const std::string& explicitPath, Status* status) {
  std::vector<std::string> candidates;
  std::vector<std::string> searched;  // what the refusal names: paths, or the patterns tried
  std::string origin;
  std::string fromEnv = platform::GetEnv(kLibraryEnv);
  if (!explicitPath.empty()) {
    candidates.push_back(explicitPath);
    origin = "the `library` option";
  } else if (!fromEnv.empty()) {
    candidates.push_back(fromEnv);
    origin = std::string("the ") + kLibraryEnv + " environment variable";
  } else {
    candidates = JlinkStandardCandidates();
    origin = "the standard J-Link install locations";
  }
  searched = explicitPath.empty() && fromEnv.empty() ? JlinkSearchPatterns() : candidates;

  std::string rejected;  // the first library that exists but is unusable
  Status rejection;
  for (const std::string& candidate : candidates) {
    bool bare = platform::IsBareLibraryName(candidate);
    if (!bare && !platform::FileExists(candidate)) continue;
    std::string error;
    platform::LibraryHandle handle = platform::OpenLibrary(candidate, &error);
    if (handle == nullptr) {
      if (bare) continue;  // nothing by that name on the loader's search path
      if (rejected.empty()) {
        rejected = candidate;
        rejection = Status::Error("VENDOR_LIBRARY_UNSUPPORTED", candidate + " could not be loaded: " + error);
      }
      continue;
    }
    JlinkApi api;
    std::vector<std::string> missing = BindApi(handle, &api);
    if (!missing.empty()) {
      std::string names;
      for (const std::string& name : missing) names += (names.empty() ? "" : ", ") + name;
      if (rejected.empty()) {
        rejected = candidate;
        rejection = Status::Error("VENDOR_LIBRARY_UNSUPPORTED",
                                  candidate + " is not a usable J-Link library: it lacks " + names +
                                      ". Install the J-Link Software and Documentation Pack from SEGGER.");
      }
      continue;  // a loaded library is never unloaded (platform.h)
    }
    bool simulated = platform::FindSymbol(handle, kFakeMarkerSymbol) != nullptr;
    std::string path = bare ? LoadedFilePath(reinterpret_cast<void*>(api.GetDLLVersion), candidate) : candidate;
    return std::make_shared<JlinkLibrary>(path, handle, api, simulated);
  }

  if (!rejected.empty()) {
    *status = rejection;
    return nullptr;
  }
  std::string places;
  for (const std::string& place : searched) places += "\n  " + place;
  *status = Status::Error("VENDOR_LIBRARY_NOT_FOUND",
                          "no J-Link library (libjlinkarm) found through " + origin + ". Searched:" + places +
                              "\nInstall the J-Link Software and Documentation Pack from SEGGER, or point at the "
                              "library with the `library` option or " + kLibraryEnv + ".");
  return nullptr;
}

std::unique_ptr<ProbeBackend> CreateJlinkProbe(std::shared_ptr<Library> library, LogSink log) {
  return std::make_unique<JlinkProbe>(std::move(library), std::move(log));
}

}  // namespace tfm
