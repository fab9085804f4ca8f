// Buffers for target memory. Whatever crosses the JS/native boundary as memory contents may be key
// material (MKEK, MEXT, the identity key blob are written into UICR KEYSLOT.KEY; verification reads
// them back), so every such buffer is a SecureBytes / SecureWords: a std::vector whose allocator
// zeroes each block before giving it back, on destruction and on every reallocation alike. That
// covers the copies a vector makes behind our back (growth, a copy passed by value), which zeroing
// by hand at the end of a function does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "platform.h"

namespace tfm {

template <typename T>
struct ZeroingAllocator {
  using value_type = T;

  ZeroingAllocator() noexcept = default;
  template <typename U>
  ZeroingAllocator(const ZeroingAllocator<U>&) noexcept {}

  T* allocate(std::size_t count) { return std::allocator<T>().allocate(count); }
  void deallocate(T* block, std::size_t count) noexcept {
    platform::SecureZero(block, count * sizeof(T));
    std::allocator<T>().deallocate(block, count);
  }

  template <typename U>
  bool operator==(const ZeroingAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const ZeroingAllocator<U>&) const noexcept { return false; }
};

using SecureBytes = std::vector<uint8_t, ZeroingAllocator<uint8_t>>;
using SecureWords = std::vector<uint32_t, ZeroingAllocator<uint32_t>>;

}  // namespace tfm
