// The debug-port sequences of the J-Link backend as plain functions over a word-transfer callback:
// MEM-AP transfers (CSW/TAR/DRW), CTRL-AP erase-all and reset, the NVMC's write/erase protocol.
// They know nothing about J-Link: the probe passes its CoreSight and memory calls in, and the test
// binary (test/jlink/native/sequences_test.cc, run by test/jlink/sequences.test.ts) passes a
// scripted device, so each sequence is tested on its own, without a vendor library.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "backend.h"
#include "jlink_layout.h"

namespace tfm {
namespace jlink {

struct WordTransfer {
  // One AP register of access port `ap` (offset `reg`, a multiple of 4).
  std::function<Status(uint8_t ap, uint32_t reg, uint32_t* out)> apRead;
  std::function<Status(uint8_t ap, uint32_t reg, uint32_t value)> apWrite;
  // `count` 32-bit words of the selected core's memory.
  std::function<Status(uint32_t address, uint32_t* words, size_t count)> memRead;
  std::function<Status(uint32_t address, const uint32_t* words, size_t count)> memWrite;
  // Time, so a test can run the deadlines without waiting. Default: steady_clock / sleep_for.
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::microseconds)> sleep;
  // "J-Link S/N 123": the start of every message.
  std::string who;
};

// Fills `now` and `sleep` with the real clock when they are empty.
void UseRealClock(WordTransfer* transfer);

// ADIv5 MEM-AP registers and CSW fields.
constexpr uint32_t kMemApCsw = 0x00u, kMemApTar = 0x04u, kMemApDrw = 0x0Cu;
constexpr uint32_t kCswDeviceEn = 1u << 6;
constexpr uint32_t kCswModeMask = 0x37u;             // Size[2:0], AddrInc[5:4]
constexpr uint32_t kCswWord32AutoIncrement = 0x12u;  // Size = word, AddrInc = single
constexpr uint32_t kTarAutoIncrementSpan = 0x400u;   // TAR auto-increment is only defined within 1 KiB

// Reads `count` words into `readInto`, or writes them from `writeFrom` (exactly one is non-null),
// through MEM-AP `ap`: CSW = cswBase | word size | auto-increment, TAR at the start and at every
// 1 KiB boundary, then DRW per word.
Status MemApTransfer(const WordTransfer& t, uint8_t ap, uint32_t cswBase, uint32_t address, size_t count,
                     uint32_t* readInto, const uint32_t* writeFrom);

// CSW of MEM-AP `ap`; *locked = DeviceEn clear (an AHB-AP refuses every transfer then).
Status ReadApLock(const WordTransfer& t, uint8_t ap, bool* locked, uint32_t* csw);

// CTRL-AP ERASEALL, then ERASEALLSTATUS polled until it reads 0 (probe-rs nrf.rs erase_all),
// `timeoutCode` after `timeout`.
Status CtrlApEraseAll(const WordTransfer& t, uint8_t ctrlAp, std::chrono::milliseconds timeout, const char* timeoutCode);

// CTRL-AP RESET: assert, release (probe-rs nrf.rs reset_core).
Status CtrlApResetPulse(const WordTransfer& t, uint8_t ctrlAp);

// Polls NVMC.READY of the NVMC at `nvmcBase` (memRead) until it reads 1; NVMC_TIMEOUT after `timeout`.
Status NvmcWaitReady(const WordTransfer& t, uint32_t nvmcBase, std::chrono::milliseconds timeout, bool sleepBetweenPolls,
                     const std::string& what);

// READY, CONFIG = mode, operation, READY (within `timeout`), CONFIG = Ren. CONFIG is put back to
// read-only even when the operation failed, so a failure never leaves flash writable.
Status NvmcOperation(const WordTransfer& t, uint32_t nvmcBase, uint32_t mode, std::chrono::milliseconds timeout,
                     bool sleepBetweenPolls, const std::string& what, const std::function<Status()>& operation);

// The deadlines. Datasheet figures (nRF5340 PS): word write 43 us, page erase 87.5 ms, erase-all
// 173 ms; the deadlines leave room for USB round trips and slow SWD clocks.
constexpr auto kWriteTimeout = std::chrono::milliseconds(500);
constexpr auto kPageEraseTimeout = std::chrono::milliseconds(2000);
constexpr auto kDefaultEraseAllTimeout = std::chrono::milliseconds(15000);

// CONFIG = Wen, the words, READY, CONFIG = Ren.
Status NvmcWrite(const WordTransfer& t, uint32_t nvmcBase, uint32_t address, const uint32_t* words, size_t count,
                 const std::string& what);
// No ERASEPAGE register on nRF53/nRF91: with CONFIG = Een, 0xFFFFFFFF written to the page's first
// word erases the page.
Status NvmcErasePage(const WordTransfer& t, uint32_t nvmcBase, uint32_t pageAddress, const std::string& what);
// CONFIG = Een, ERASEALL = 1 (flash and UICR of that NVMC's core).
Status NvmcEraseAll(const WordTransfer& t, uint32_t nvmcBase, std::chrono::milliseconds timeout, const std::string& what);

// ---- debug lock, per chip (point 6 of issue 12) --------------------------------------------------

// *locked per the core's LockCheck: CSW.DeviceEn of its AHB-AP, or APPROTECTSTATUS of its CTRL-AP.
Status ReadCoreLock(const WordTransfer& t, const CoreLayout& core, bool* locked);

// Polls ReadCoreLock until the core answers or `timeout` passes (probe-rs nrf.rs
// wait_for_core_accessible): a network core that was just released from FORCEOFF powers up first.
Status WaitCoreAccessible(const WordTransfer& t, const CoreLayout& core, std::chrono::milliseconds timeout,
                          bool* accessible);

// ---- nRF5340 network core FORCEOFF (point 3) ---------------------------------------------------
// `t.mem*` must reach the application core (FORCEOFF, the SPU and FICR are application-core
// addresses).

// The FORCEOFF alias RESET answers at: SPU PERIPHID[5].PERM.SECATTR (bit 4) set = secure, clear =
// non-secure (probe-rs nrf.rs set_network_core_running). PERM.PRESENT (bit 31) clear means the word
// does not describe RESET: the reset attribution, secure, is used (PS SPU: at reset every
// user-selectable peripheral is secure).
Status ForceOffAddress(const WordTransfer& t, const NetworkRelease& r, uint32_t* address);

// Releases FORCEOFF when it holds the core off (*released = true), else leaves it (false): on
// silicon with erratum 161 (FICR VAR1 = 7, VAR2 not 2..4) with Nordic's release / hold / release
// sequence under the workaround register (FORCEOFF + 4), else with one write of 0 (probe-rs nrf.rs
// set_network_core_running, apply_erratum_161_release, after nrfx nrf_reset.h).
Status ReleaseForceOff(const WordTransfer& t, const NetworkRelease& r, bool* released);

// Writes 1 to FORCEOFF at the alias RESET answers at.
Status HoldForceOff(const WordTransfer& t, const NetworkRelease& r);

std::string Hex32(uint32_t value);

}  // namespace jlink
}  // namespace tfm
