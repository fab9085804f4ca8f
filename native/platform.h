// Everything that differs between operating systems: loading shared libraries and naming threads.
// Linux (and other ELF/glibc systems) is what CI proves; the macOS and Windows branches are kept in
// platform.cc so that porting touches this pair of files and the list of install locations only.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tfm {
namespace platform {

using LibraryHandle = void*;

// Loads a shared library with its symbols kept private (RTLD_NOW | RTLD_LOCAL): the vendor
// libraries export generic names (NRFJPROG_read, JLINKARM_Open) that must never interpose on, or
// be interposed by, another copy loaded in the same process. Returns nullptr and sets *error.
LibraryHandle OpenLibrary(const std::string& pathOrName, std::string* error);

// Loads a private copy of a library: the file is copied to a fresh temporary file which is loaded
// and then unlinked, so every call gets its own global state even when the library keeps process
// globals (e.g. the J-Link DLL: one open probe per loaded copy). Returns nullptr and sets *error.
LibraryHandle OpenIsolatedLibrary(const std::string& path, std::string* error);

// nullptr when the library does not export `name`.
void* FindSymbol(LibraryHandle handle, const char* name);

// Vendor libraries are deliberately never unloaded: they start threads and child processes of
// their own, and unloading code that such a thread may still return into crashes the process.

bool FileExists(const std::string& path);
// Empty when unset.
std::string GetEnv(const char* name);
// True for "libfoo.so" (resolved by the dynamic loader's search path), false for anything with a
// directory part.
bool IsBareLibraryName(const std::string& pathOrName);

// Install locations of libnrfjprogdll on this OS, most specific first; the last entry is the bare
// file name for the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache).
std::vector<std::string> NrfjprogStandardLocations();

// Overwrites `size` bytes at `data` with zeros in a way the compiler may not drop as a dead store
// (a plain memset right before free() may be removed by the optimiser). Used for every buffer that
// carries target memory (keys) across the JS/native boundary; see secure_bytes.h.
void SecureZero(void* data, size_t size);

// Best effort; shows up in debuggers and `top -H`. Names longer than 15 bytes are cut on Linux.
void SetCurrentThreadName(const std::string& name);

}  // namespace platform
}  // namespace tfm
