#include "jlink_sequences.h"

#include <cstdio>
#include <thread>

#include "jlink_layout.h"

namespace tfm {
namespace jlink {

std::string Hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", value);
  return text;
}

void UseRealClock(WordTransfer* transfer) {
  if (!transfer->now) transfer->now = [] { return std::chrono::steady_clock::now(); };
  if (!transfer->sleep) transfer->sleep = [](std::chrono::microseconds d) { std::this_thread::sleep_for(d); };
}

Status MemApTransfer(const WordTransfer& t, uint8_t ap, uint32_t cswBase, uint32_t address, size_t count,
                     uint32_t* readInto, const uint32_t* writeFrom) {
  Status status = t.apWrite(ap, kMemApCsw, cswBase | kCswWord32AutoIncrement);
  for (size_t i = 0; status.ok && i < count; i++) {
    uint32_t wordAddress = address + static_cast<uint32_t>(i * 4);
    if (i == 0 || wordAddress % kTarAutoIncrementSpan == 0) status = t.apWrite(ap, kMemApTar, wordAddress);
    if (status.ok) status = writeFrom ? t.apWrite(ap, kMemApDrw, writeFrom[i]) : t.apRead(ap, kMemApDrw, &readInto[i]);
  }
  return status;
}

Status ReadApLock(const WordTransfer& t, uint8_t ap, bool* locked, uint32_t* csw) {
  uint32_t value = 0;
  Status status = t.apRead(ap, kMemApCsw, &value);
  if (!status.ok) return status;
  *locked = (value & kCswDeviceEn) == 0;
  if (csw) *csw = value;
  return Status::Ok();
}

Status CtrlApEraseAll(const WordTransfer& t, uint8_t ctrlAp, std::chrono::milliseconds timeout, const char* timeoutCode) {
  Status status = t.apWrite(ctrlAp, kCtrlApEraseAll, 1);
  if (!status.ok) return status;
  auto deadline = t.now() + timeout;
  for (;;) {
    uint32_t busy = 0;
    status = t.apRead(ctrlAp, kCtrlApEraseAllStatus, &busy);
    if (!status.ok) return status;
    if (busy == 0) return Status::Ok();
    if (t.now() >= deadline) {
      return Status::Error(timeoutCode, t.who + ": CTRL-AP (AP" + std::to_string(ctrlAp) +
                                            ") erase-all did not finish within " + std::to_string(timeout.count()) + " ms");
    }
    t.sleep(std::chrono::milliseconds(1));
  }
}

Status CtrlApResetPulse(const WordTransfer& t, uint8_t ctrlAp) {
  Status status = t.apWrite(ctrlAp, kCtrlApReset, 1);
  if (!status.ok) return status;
  t.sleep(std::chrono::milliseconds(1));
  return t.apWrite(ctrlAp, kCtrlApReset, 0);
}

Status NvmcWaitReady(const WordTransfer& t, uint32_t nvmcBase, std::chrono::milliseconds timeout, bool sleepBetweenPolls,
                     const std::string& what) {
  auto deadline = t.now() + timeout;
  for (;;) {
    uint32_t ready = 0;
    Status status = t.memRead(nvmcBase + kNvmcReady, &ready, 1);
    if (!status.ok) return status;
    if (ready & 1u) return Status::Ok();
    if (t.now() >= deadline) {
      return Status::Error("NVMC_TIMEOUT", t.who + ": " + what + ": the NVMC was still busy after " +
                                               std::to_string(timeout.count()) + " ms");
    }
    if (sleepBetweenPolls) t.sleep(std::chrono::milliseconds(1));
  }
}

Status NvmcOperation(const WordTransfer& t, uint32_t nvmcBase, uint32_t mode, std::chrono::milliseconds timeout,
                     bool sleepBetweenPolls, const std::string& what, const std::function<Status()>& operation) {
  const uint32_t config = nvmcBase + kNvmcConfig;
  const uint32_t readOnly = kNvmcRen;
  Status status = NvmcWaitReady(t, nvmcBase, kWriteTimeout, false, what);
  if (!status.ok) return status;
  status = t.memWrite(config, &mode, 1);
  if (!status.ok) return status;
  status = operation();
  if (status.ok) status = NvmcWaitReady(t, nvmcBase, timeout, sleepBetweenPolls, what);
  if (!status.ok) {
    if (NvmcWaitReady(t, nvmcBase, kWriteTimeout, false, what).ok) t.memWrite(config, &readOnly, 1);
    return status;
  }
  return t.memWrite(config, &readOnly, 1);
}

Status NvmcWrite(const WordTransfer& t, uint32_t nvmcBase, uint32_t address, const uint32_t* words, size_t count,
                 const std::string& what) {
  return NvmcOperation(t, nvmcBase, kNvmcWen, kWriteTimeout, false, what,
                       [&]() { return t.memWrite(address, words, count); });
}

Status NvmcErasePage(const WordTransfer& t, uint32_t nvmcBase, uint32_t pageAddress, const std::string& what) {
  const uint32_t erased = 0xFFFFFFFFu;
  return NvmcOperation(t, nvmcBase, kNvmcEen, kPageEraseTimeout, true, what,
                       [&]() { return t.memWrite(pageAddress, &erased, 1); });
}

Status NvmcEraseAll(const WordTransfer& t, uint32_t nvmcBase, std::chrono::milliseconds timeout, const std::string& what) {
  const uint32_t start = 1u;
  return NvmcOperation(t, nvmcBase, kNvmcEen, timeout, true, what,
                       [&]() { return t.memWrite(nvmcBase + kNvmcEraseAll, &start, 1); });
}

Status ReadCoreLock(const WordTransfer& t, const CoreLayout& core, bool* locked) {
  if (core.lockCheck == LockCheck::CtrlApApprotectStatus) {
    uint32_t status = 0;
    Status result = t.apRead(core.ctrlAp, core.approtectStatus, &status);
    if (result.ok) *locked = status == 0;  // probe-rs nrf91.rs: APPROTECTSTATUS != 0 is unlocked
    return result;
  }
  return ReadApLock(t, core.ahbAp, locked, nullptr);
}

Status WaitCoreAccessible(const WordTransfer& t, const CoreLayout& core, std::chrono::milliseconds timeout,
                          bool* accessible) {
  auto deadline = t.now() + timeout;
  for (;;) {
    bool locked = true;
    Status status = ReadCoreLock(t, core, &locked);
    if (!status.ok) return status;
    if (!locked || t.now() >= deadline) {
      *accessible = !locked;
      return Status::Ok();
    }
    t.sleep(std::chrono::milliseconds(1));
  }
}

namespace {
constexpr uint32_t kSpuPermSecAttr = 1u << 4;
constexpr uint32_t kSpuPermPresent = 1u << 31;

Status WriteWord(const WordTransfer& t, uint32_t address, uint32_t value) { return t.memWrite(address, &value, 1); }
}  // namespace

Status ForceOffAddress(const WordTransfer& t, const NetworkRelease& r, uint32_t* address) {
  uint32_t perm = 0;
  Status status = t.memRead(r.resetPeriphPerm, &perm, 1);
  if (!status.ok) return status;
  bool secure = !(perm & kSpuPermPresent) || (perm & kSpuPermSecAttr);
  *address = secure ? r.forceOffSecure : r.forceOffNonSecure;
  return Status::Ok();
}

Status ReleaseForceOff(const WordTransfer& t, const NetworkRelease& r, bool* released) {
  *released = false;
  uint32_t forceOff = 0;
  Status status = ForceOffAddress(t, r, &forceOff);
  if (!status.ok) return status;
  uint32_t held = 0;
  status = t.memRead(forceOff, &held, 1);
  if (!status.ok) return status;
  if ((held & 1u) == 0) return Status::Ok();
  uint32_t var[2] = {0, 0};
  status = t.memRead(r.erratumFicrVar1, &var[0], 1);
  if (status.ok) status = t.memRead(r.erratumFicrVar2, &var[1], 1);
  if (!status.ok) return status;
  bool erratum161 = var[0] == 0x07u && !(var[1] >= 0x02u && var[1] <= 0x04u);
  if (!erratum161) {
    status = WriteWord(t, forceOff, 0);
    *released = status.ok;
    return status;
  }
  const uint32_t workaround = forceOff + r.erratumWorkaroundOffset;
  status = WriteWord(t, workaround, 1);
  if (status.ok) status = WriteWord(t, forceOff, 0);
  if (status.ok) {
    t.sleep(std::chrono::microseconds(5));  // nrfx nrf_reset.h minimum delays
    status = WriteWord(t, forceOff, 1);
  }
  if (status.ok) {
    t.sleep(std::chrono::microseconds(1));
    status = WriteWord(t, forceOff, 0);
  }
  if (!status.ok) WriteWord(t, forceOff, 1);  // a half-done release goes back to held
  Status cleanup = WriteWord(t, workaround, 0);
  if (status.ok) status = cleanup;
  *released = status.ok;
  return status;
}

Status HoldForceOff(const WordTransfer& t, const NetworkRelease& r) {
  uint32_t forceOff = 0;
  Status status = ForceOffAddress(t, r, &forceOff);
  if (!status.ok) return status;
  return WriteWord(t, forceOff, 1);
}

}  // namespace jlink
}  // namespace tfm
