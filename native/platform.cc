#include "platform.h"

#include <cstdlib>
#include <cstring>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace tfm {
namespace platform {

#if defined(_WIN32)

LibraryHandle OpenLibrary(const std::string& pathOrName, std::string* error) {
  // LOAD_WITH_ALTERED_SEARCH_PATH: the library's own folder is searched for its dependencies
  // (nrfjprog.dll loads its worker and family DLLs from beside itself).
  HMODULE module = LoadLibraryExA(pathOrName.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
  if (module == nullptr) {
    if (error) *error = "LoadLibrary failed with Windows error " + std::to_string(GetLastError());
    return nullptr;
  }
  return reinterpret_cast<LibraryHandle>(module);
}

LibraryHandle OpenIsolatedLibrary(const std::string& path, std::string* error) {
  char dir[MAX_PATH];
  char file[MAX_PATH];
  if (GetTempPathA(MAX_PATH, dir) == 0 || GetTempFileNameA(dir, "tfm", 0, file) == 0) {
    if (error) *error = "could not create a temporary file for a private library copy";
    return nullptr;
  }
  if (!CopyFileA(path.c_str(), file, FALSE)) {
    if (error) *error = "could not copy " + path + " to " + file;
    DeleteFileA(file);
    return nullptr;
  }
  // A loaded DLL cannot be deleted on Windows; the copy is left in the temp folder.
  return OpenLibrary(file, error);
}

void* FindSymbol(LibraryHandle handle, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(handle), name));
}

bool FileExists(const std::string& path) {
  DWORD attributes = GetFileAttributesA(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && !(attributes & FILE_ATTRIBUTE_DIRECTORY);
}

bool IsBareLibraryName(const std::string& pathOrName) {
  return pathOrName.find_first_of("/\\:") == std::string::npos;
}

std::vector<std::string> NrfjprogStandardLocations() {
  return {
      "C:\\Program Files\\Nordic Semiconductor\\nrf-command-line-tools\\bin\\nrfjprog.dll",
      "nrfjprog.dll",
  };
}

void SetCurrentThreadName(const std::string&) {}

#else  // POSIX

LibraryHandle OpenLibrary(const std::string& pathOrName, std::string* error) {
  dlerror();
  void* handle = dlopen(pathOrName.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr && error) {
    const char* message = dlerror();
    *error = message ? message : "dlopen failed";
  }
  return handle;
}

LibraryHandle OpenIsolatedLibrary(const std::string& path, std::string* error) {
  // dlmopen(LM_ID_NEWLM) would also isolate, but glibc allows only ~16 namespaces and each gets its
  // own libc/libstdc++ copy; a private file copy has neither limit.
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/tfm-provision-lib-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  int out = mkstemp(name.data());
  if (out < 0) {
    if (error) *error = "could not create a temporary file for a private copy of " + path;
    return nullptr;
  }
  int in = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  bool copied = in >= 0;
  char buffer[1 << 16];
  while (copied) {
    ssize_t n = read(in, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      copied = false;
      break;
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buffer + done, static_cast<size_t>(n - done));
      if (w <= 0) {
        copied = false;
        break;
      }
      done += w;
    }
  }
  if (in >= 0) close(in);
  close(out);
  std::string copy(name.data());
  if (!copied) {
    unlink(copy.c_str());
    if (error) *error = "could not copy " + path + " to " + copy;
    return nullptr;
  }
  LibraryHandle handle = OpenLibrary(copy, error);
  // The mapping keeps the file alive; nothing is left behind in the temp folder.
  unlink(copy.c_str());
  return handle;
}

void* FindSymbol(LibraryHandle handle, const char* name) {
  return handle ? dlsym(handle, name) : nullptr;
}

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && !S_ISDIR(info.st_mode);
}

bool IsBareLibraryName(const std::string& pathOrName) {
  return pathOrName.find('/') == std::string::npos;
}

std::vector<std::string> NrfjprogStandardLocations() {
#if defined(__APPLE__)
  return {
      "/opt/nrf-command-line-tools/lib/libnrfjprogdll.dylib",
      "/usr/local/lib/libnrfjprogdll.dylib",
      "/opt/homebrew/lib/libnrfjprogdll.dylib",
      "libnrfjprogdll.dylib",
  };
#else
  return {
      // nRF Command Line Tools 10.x .deb / .tar.gz
      "/opt/nrf-command-line-tools/lib/libnrfjprogdll.so",
      // older tarballs unpacked as documented ("extract to /opt")
      "/opt/nrfjprog/libnrfjprogdll.so",
      "/usr/local/lib/libnrfjprogdll.so",
      "/usr/lib/libnrfjprogdll.so",
      "libnrfjprogdll.so",
  };
#endif
}

void SetCurrentThreadName(const std::string& name) {
#if defined(__APPLE__)
  pthread_setname_np(name.c_str());
#elif defined(__linux__)
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#endif
}

#endif

void SecureZero(void* data, size_t size) {
  if (data == nullptr || size == 0) return;
#if defined(_WIN32)
  SecureZeroMemory(data, size);
#elif defined(__GLIBC__) || defined(__FreeBSD__) || defined(__OpenBSD__)
  explicit_bzero(data, size);  // glibc 2.25+
#else
  // macOS has memset_s, but only with __STDC_WANT_LIB_EXT1__ before the first include; a volatile
  // store loop is portable and cannot be elided.
  volatile unsigned char* bytes = static_cast<volatile unsigned char*>(data);
  while (size--) *bytes++ = 0;
#endif
}

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

}  // namespace platform
}  // namespace tfm
