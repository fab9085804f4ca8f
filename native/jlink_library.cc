// Library discovery, private copies, log trampolines and the loaded J-Link library (see the header).

#include "jlink_library.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#if !defined(_WIN32)
#include <dlfcn.h>
#include <glob.h>
#endif

namespace tfm {
namespace jlink {
namespace {

constexpr const char* kLibraryEnv = "TFM_PROVISION_JLINK_LIBRARY";

// ---- log slots ----------------------------------------------------------------------------------
// A callback may arrive on a J-Link thread, so the slot is read under a lock; a slot released at
// close simply drops late lines.

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
void LogAt(const char* message) {
  Deliver(N, "debug", message);
}
template <size_t N>
void ErrorAt(const char* message) {
  Deliver(N, "error", message);
}
template <size_t... N>
constexpr std::array<LogCallback*, sizeof...(N)> LogTrampolines(std::index_sequence<N...>) {
  return {&LogAt<N>...};
}
template <size_t... N>
constexpr std::array<LogCallback*, sizeof...(N)> ErrorTrampolines(std::index_sequence<N...>) {
  return {&ErrorAt<N>...};
}
const auto kLogTrampolines = LogTrampolines(std::make_index_sequence<kLogSlotCount>());
const auto kErrorTrampolines = ErrorTrampolines(std::make_index_sequence<kLogSlotCount>());

// ---- copies -------------------------------------------------------------------------------------

std::mutex g_copyPoolMutex;
std::map<std::string, std::vector<platform::LibraryHandle>> g_copyPool;

// ---- discovery ----------------------------------------------------------------------------------

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
std::vector<std::string> SearchPatterns() {
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

std::vector<std::string> StandardCandidates() {
  std::vector<std::string> candidates;
  for (const std::string& pattern : SearchPatterns()) {
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

Status ListError(int rc) {
  return Status::Error("VENDOR_LIBRARY_ERROR", "listing J-Link probes failed (JLINKARM_EMU_GetList returned " +
                                                   std::to_string(rc) + ")",
                       "JLINKARM_EMU_GetList", true, rc);
}

}  // namespace

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

LogCallback* LogTrampoline(int slot) { return slot >= 0 ? kLogTrampolines[slot] : nullptr; }
LogCallback* ErrorTrampoline(int slot) { return slot >= 0 ? kErrorTrampolines[slot] : nullptr; }

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

JlinkLibrary::JlinkLibrary(std::string path, platform::LibraryHandle handle, Api api, bool simulated)
    : path_(std::move(path)), handle_(handle), api_(api), simulated_(simulated) {
  rawVersion_ = api_.GetDLLVersion();
  version_ = FormatVersion(rawVersion_);
}

Status JlinkLibrary::List(std::vector<ProbeListEntry>* out) {
  // Listing uses this (shared) copy of the library; sessions never do, each has its own.
  std::lock_guard<std::mutex> lock(listMutex_);
  out->clear();
  int count = api_.EMU_GetList(kHostUsb, nullptr, 0);
  if (count < 0) return ListError(count);
  std::vector<EmuConnectInfo> infos(static_cast<size_t>(count) + 1);
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

}  // namespace jlink

std::shared_ptr<Library> LoadJlinkLibrary(const std::string& explicitPath, Status* status) {
  using namespace jlink;
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
    candidates = StandardCandidates();
    origin = "the standard J-Link install locations";
  }
  searched = explicitPath.empty() && fromEnv.empty() ? SearchPatterns() : candidates;

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
    Api api;
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
    uint32_t version = api.GetDLLVersion();
    if (version < kMinimumVersion) {
      if (rejected.empty()) {
        rejected = candidate;
        rejection = Status::Error("JLINK_LIBRARY_TOO_OLD",
                                  candidate + " is J-Link " + FormatVersion(version) + "; tfm-provision needs " +
                                      FormatVersion(kMinimumVersion) +
                                      " or newer. Install a current J-Link Software and Documentation Pack from SEGGER.");
      }
      continue;
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

}  // namespace tfm
