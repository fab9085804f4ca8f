#include "platform.h"

#include <cstdint>
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

LibraryHandle OpenLibrary(const std::string& pathOrName, std::string* error, bool* invalid) {
  if (invalid) *invalid = false;
  // LOAD_WITH_ALTERED_SEARCH_PATH: the library's own folder is searched for its dependencies
  // (nrfjprog.dll loads its worker and family DLLs from beside itself).
  HMODULE module = LoadLibraryExA(pathOrName.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
  if (module == nullptr) {
    if (error) *error = "LoadLibrary failed with Windows error " + std::to_string(GetLastError());
    return nullptr;
  }
  return reinterpret_cast<LibraryHandle>(module);
}

LibraryHandle OpenIsolatedLibrary(const std::string& path, std::string* error, bool* invalid) {
  if (invalid) *invalid = false;
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

bool CheckLibraryFile(const std::string&, std::string*) { return true; }

std::string AbsolutePath(const std::string& path) {
  char full[MAX_PATH];
  DWORD n = GetFullPathNameA(path.c_str(), MAX_PATH, full, nullptr);
  return n > 0 && n < MAX_PATH ? std::string(full, n) : path;
}

std::vector<std::string> NrfjprogStandardLocations() {
  return {
      "C:\\Program Files\\Nordic Semiconductor\\nrf-command-line-tools\\bin\\nrfjprog.dll",
      "nrfjprog.dll",
  };
}

void SetCurrentThreadName(const std::string&) {}

#else  // POSIX

LibraryHandle OpenLibrary(const std::string& pathOrName, std::string* error, bool* invalid) {
  if (invalid) *invalid = false;
  std::string problem;
  if (!IsBareLibraryName(pathOrName) && !CheckLibraryFile(pathOrName, &problem)) {
    if (invalid) *invalid = true;
    if (error) *error = problem;
    return nullptr;
  }
  dlerror();
  void* handle = dlopen(pathOrName.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr && error) {
    const char* message = dlerror();
    *error = message ? message : "dlopen failed";
  }
  return handle;
}

LibraryHandle OpenIsolatedLibrary(const std::string& path, std::string* error, bool* invalid) {
  if (invalid) *invalid = false;
  std::string problem;
  if (!CheckLibraryFile(path, &problem)) {  // checked on the original: the copy is loaded at once
    if (invalid) *invalid = true;
    if (error) *error = problem;
    return nullptr;
  }
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

std::string AbsolutePath(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

namespace {
template <typename T>
bool ReadAt(int fd, uint64_t offset, T* out) {
  return pread(fd, out, sizeof *out, static_cast<off_t>(offset)) == static_cast<ssize_t>(sizeof *out);
}

// One ELF class: the header's tables and PT_LOAD segments must lie inside `size` bytes.
template <typename Ehdr, typename Phdr>
bool CheckElf(int fd, uint64_t size, std::string* problem) {
  Ehdr header;
  if (!ReadAt(fd, 0, &header)) {
    *problem = "its ELF header is cut short";
    return false;
  }
  auto past = [&](uint64_t offset, uint64_t length) { return offset > size || length > size - offset; };
  if (header.e_phnum && past(header.e_phoff, uint64_t{header.e_phnum} * header.e_phentsize)) {
    *problem = "its program headers lie past the end of the file";
    return false;
  }
  if (header.e_shnum && past(header.e_shoff, uint64_t{header.e_shnum} * header.e_shentsize)) {
    *problem = "its section headers lie past the end of the file";
    return false;
  }
  for (uint64_t i = 0; i < header.e_phnum; i++) {
    Phdr segment;
    if (!ReadAt(fd, header.e_phoff + i * header.e_phentsize, &segment)) return false;
    if (segment.p_type == 1 /* PT_LOAD */ && past(segment.p_offset, segment.p_filesz)) {
      *problem = "a loadable segment lies past the end of the file";
      return false;
    }
  }
  return true;
}

struct Elf32Header {
  unsigned char e_ident[16];
  uint16_t e_type, e_machine;
  uint32_t e_version, e_entry, e_phoff, e_shoff, e_flags;
  uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
struct Elf32Segment {
  uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};
struct Elf64Header {
  unsigned char e_ident[16];
  uint16_t e_type, e_machine;
  uint32_t e_version;
  uint64_t e_entry, e_phoff, e_shoff;
  uint32_t e_flags;
  uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};
struct Elf64Segment {
  uint32_t p_type, p_flags;
  uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
}  // namespace

// The ELF layout (System V gABI) is declared here rather than from <elf.h>, which macOS lacks.
bool CheckLibraryFile(const std::string& path, std::string* problem) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;  // dlopen reports it
  struct stat info;
  unsigned char ident[16] = {0};
  bool ok = true;
  if (fstat(fd, &info) == 0 && pread(fd, ident, sizeof ident, 0) == static_cast<ssize_t>(sizeof ident) &&
      std::memcmp(ident, "\x7f" "ELF", 4) == 0) {
    uint64_t size = static_cast<uint64_t>(info.st_size);
    std::string why;
    ok = ident[4] == 2 ? CheckElf<Elf64Header, Elf64Segment>(fd, size, &why) : CheckElf<Elf32Header, Elf32Segment>(fd, size, &why);
    if (!ok) *problem = path + " is not a whole shared library (" + (why.empty() ? "it is cut short" : why) + ", " +
                        std::to_string(size) + " bytes): the file is truncated or damaged; reinstall it.";
  }
  close(fd);
  return ok;
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
