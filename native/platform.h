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
// A file that is not a whole shared library (a truncated ELF file: dlopen maps past its end and the
// process dies of SIGBUS on first touch) is refused before dlopen: *invalid is set then.
LibraryHandle OpenLibrary(const std::string& pathOrName, std::string* error, bool* invalid = nullptr);

// Whether the file at `path` holds everything its ELF headers say it does (program and section
// header tables, every loaded segment). Sets *problem when not. True for non-ELF files (dlopen
// reports those itself) and on systems without ELF.
bool CheckLibraryFile(const std::string& path, std::string* problem);

// `path` made absolute against the current directory (a relative name with a directory part, or a
// bare name meant as a file here). dlopen would search the loader path for a bare name and may
// load a different library than the one the user named.
std::string AbsolutePath(const std::string& path);

// Loads a private copy of a library: the file is copied to a fresh temporary file which is loaded
// and then unlinked, so every call gets its own global state even when the library keeps process
// globals (e.g. the J-Link DLL: one open probe per loaded copy). Returns nullptr and sets *error.
LibraryHandle OpenIsolatedLibrary(const std::string& path, std::string* error, bool* invalid = nullptr);

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
