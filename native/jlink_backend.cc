// The `jlink` backend's probe: drives a SEGGER J-Link through libjlinkarm directly, for installs
// that have SEGGER's J-Link software but not Nordic's archived nrfjprog. It implements the same
// ProbeBackend contract as the nrfjprog backend, so the layers above see the same semantics:
//  - memory goes through the chip's AHB-AP: the application core through J-Link's memory API
//    (J-Link stays connected to the application core), the nRF5340 network core through AP1's
//    MEM-AP registers (CSW/TAR/DRW) via the CoreSight API;
//  - NVMC-controlled writes, page erase and erase-all are done here, as nrfjprog's `mem_control`;
//  - erase-all of a locked core and recover use Nordic's CTRL-AP (ERASEALL + ERASEALLSTATUS).
// The sequences themselves are in jlink_sequences.cc (plain functions over the word transfers this
// probe passes in); the SDK declarations in jlink_sdk.h; library search and copies in
// jlink_library.cc; the chip layout in jlink_layout.cc. Each probe session runs on a private copy
// of the library, on the worker thread that the addon gives each probe.
// Facts marked UNVERIFIED come from public users of the API, not from SEGGER's manual.

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backend.h"
#include "jlink_layout.h"
#include "jlink_library.h"
#include "jlink_probe.h"
#include "jlink_sdk.h"
#include "jlink_sequences.h"
#include "platform.h"

namespace tfm {
namespace jlink {
namespace {
constexpr const char* kEraseTimeoutEnv = "TFM_PROVISION_JLINK_ERASE_TIMEOUT_MS";
}  // namespace

JlinkProbe::JlinkProbe(std::shared_ptr<Library> library, LogSink log) : library_(std::move(library)), log_(std::move(log)) {
  // The sequences reach the chip through these: AP registers through the CoreSight API, memory
  // of the selected core through J-Link's memory API (application) or AP1 (network).
  transfer_.apRead = [this](uint8_t ap, uint32_t reg, uint32_t* out) { return ApRead(ap, reg, out); };
  transfer_.apWrite = [this](uint8_t ap, uint32_t reg, uint32_t value) { return ApWrite(ap, reg, value); };
  transfer_.memRead = [this](uint32_t address, uint32_t* words, size_t count) {
    return ReadWordsTo(address, words, count, "reading " + Hex32(address));
  };
  transfer_.memWrite = [this](uint32_t address, const uint32_t* words, size_t count) {
    return WriteWordsFrom(address, words, count, "writing " + Hex32(address));
  };
  UseRealClock(&transfer_);
  appTransfer_ = transfer_;
  appTransfer_.memRead = [this](uint32_t address, uint32_t* words, size_t count) {
    SecureWords buffer(count);
    Status status = AppReadWords(address, &buffer, "reading " + Hex32(address));
    if (status.ok) std::memcpy(words, buffer.data(), count * 4);
    return status;
  };
  appTransfer_.memWrite = [this](uint32_t address, const uint32_t* words, size_t count) {
    return AppWriteWords(address, SecureWords(words, words + count), "writing " + Hex32(address));
  };
  std::string timeout = platform::GetEnv(kEraseTimeoutEnv);
  if (!timeout.empty()) {
    long ms = std::strtol(timeout.c_str(), nullptr, 10);
    if (ms > 0) eraseAllTimeout_ = std::chrono::milliseconds(ms);
  }
}

Status JlinkProbe::Open(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint) {
  Status status = OpenSequence(serialNumber, speedKhz, familyHint);
  if (!status.ok) Close();
  return status;
}

Status JlinkProbe::DeviceInfo(DeviceInfoResult* out) {
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

Status JlinkProbe::SelectCore(Core core) {
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
  // is written through the application core's AHB-AP (at the alias the SPU gives RESET, with the
  // erratum 161 sequence where the silicon needs it). Every reset of the application domain sets
  // FORCEOFF again; selecting the network core again releases it again. A core this call released
  // powers up first: it counts as locked only when it has not answered within the deadline
  // (probe-rs nrf.rs wait_for_core_accessible). lib/device/network-core.ts releases it the same
  // way for every backend; then there is nothing left to do here.
  bool released = false;
  status = ReleaseForceOff(appTransfer_, family_->release, &released);
  if (!status.ok && status.code != "DEVICE_PROTECTED") return status;
  if (!status.ok) Log("warning", "the application core is locked: FORCEOFF cannot be released (only recover works)");
  core_ = Core::Network;
  bool locked = false;
  if (released) {
    bool accessible = false;
    status = WaitCoreAccessible(transfer_, family_->network,
                                std::chrono::milliseconds(family_->release.accessTimeoutMs), &accessible);
    if (!status.ok) return DiagnoseNetwork(status, "waiting for the network core to power up");
  }
  // Reading AP1's CSW proves the port answers and gives the protection bits for its transfers.
  status = ApLocked(family_->network.ahbAp, &locked);
  if (!status.ok) return DiagnoseNetwork(status, "reaching the network core's AHB-AP");
  Log("info", std::string("network core released from force-off; using AP") + std::to_string(family_->network.ahbAp) +
                  (locked ? " (locked: APPROTECT; only erase-all and recover work)" : ""));
  return Status::Ok();
}

Status JlinkProbe::Read(uint32_t address, uint32_t length, SecureBytes* out) {
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

Status JlinkProbe::Write(uint32_t address, const SecureBytes& data, bool nvmc) {
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

Status JlinkProbe::ReadU32(uint32_t address, uint32_t* out) {
  Status status = RequireOpen();
  if (!status.ok) return status;
  if (address & 3u) return Status::Error("INVALID_PARAMETER", Hex32(address) + " is not word aligned");
  SecureWords word(1);
  status = ReadWords(address, &word, "reading " + Hex32(address));
  if (status.ok) *out = word[0];
  return status;
}

Status JlinkProbe::WriteU32(uint32_t address, uint32_t value, bool nvmc) {
  Status status = RequireOpen();
  if (!status.ok) return status;
  if (address & 3u) return Status::Error("INVALID_PARAMETER", Hex32(address) + " is not word aligned");
  SecureWords word{value};
  std::string what = "writing " + Hex32(address);
  return nvmc ? NvmcWrite(address, word, what) : WriteWords(address, word, what);
}

Status JlinkProbe::ErasePage(uint32_t address) {
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
  return NvmcErasePage(transfer_, core.nvmcBase, address, "erasing the page at " + Hex32(address));
}

Status JlinkProbe::EraseAll() {
  Status status = RequireLayout();
  if (!status.ok) return status;
  const CoreLayout& core = Layout();
  // An open core is erased through its own NVMC (flash and UICR of that core only). A locked one
  // is erased through its CTRL-AP, which also reopens its debug access.
  bool locked = false;
  status = CoreLocked(&locked);
  if (!status.ok) return status;
  if (locked) {
    status = CtrlApEraseAll(transfer_, core.ctrlAp, eraseAllTimeout_, "NVMC_TIMEOUT");
    if (!status.ok) return status;
    Log("info", "CTRL-AP (AP" + std::to_string(core.ctrlAp) + ") erase-all done");
    if (core_ == Core::Application) attached_ = false;  // reconnect on next use
    return Status::Ok();
  }
  return NvmcEraseAll(transfer_, core.nvmcBase, eraseAllTimeout_,
                      "erasing all flash and UICR of the " + std::string(core.name) + " core");
}

Status JlinkProbe::Recover() {
  Status status = RequireLayout();
  if (!status.ok) return status;
  const CoreLayout& app = family_->application;
  // In probe-rs's order (nrf.rs initialize_core_access): the application core first, so that its
  // AHB-AP can release the network core, which is released before its own erase-all: the release
  // resets the network core (with hardened APPROTECT that reset locks it), while an erase-all after
  // it leaves the core open until the next reset. The network CTRL-AP's erase-all erases the
  // application core again (PS).
  status = CtrlApEraseAll(transfer_, app.ctrlAp, eraseAllTimeout_, "RECOVER_FAILED");
  if (!status.ok) return status;
  core_ = Core::Application;
  attached_ = false;
  // nRF91x1 opens only at a CTRL-AP reset after the erase-all (probe-rs nrf91.rs
  // requires_soft_reset_after_erase); on nRF5340 a reset now would lock the port again.
  if (family_->resetAfterEraseAll) {
    status = CtrlApResetPulse(transfer_, app.ctrlAp);
    if (!status.ok) return status;
  }
  status = EnsureAttached("connecting after the erase-all");
  if (!status.ok) return RecoverFailure(status);
  if (family_->hasNetwork) {
    bool released = false;
    status = ReleaseForceOff(appTransfer_, family_->release, &released);
    if (status.ok) status = CtrlApEraseAll(transfer_, family_->network.ctrlAp, eraseAllTimeout_, "RECOVER_FAILED");
    if (!status.ok) return status;
  }
  Log("info", "CTRL-AP erase-all done");
  // The same end state as nrfjprog's recover (its default [approtect] write_uicr_approtect): the
  // open UICR.APPROTECT value where the erased one locks the port at the next reset.
  status = WriteOpenApprotect();
  if (!status.ok) return status;
  status = CtrlApResetPulse(transfer_, app.ctrlAp);
  if (!status.ok) return status;
  attached_ = false;
  status = EnsureAttached("reconnecting after recover");
  if (!status.ok) return RecoverFailure(status);
  return Status::Ok();
}

// Hardened APPROTECT (nRF5340, nRF91x1): erased UICR.APPROTECT means protected at the next reset,
// 0x50FA50FA open. nRF9160: erased is open already, nothing to write.
Status JlinkProbe::WriteOpenApprotect() {
  const FamilyLayout* family = nullptr;
  Status status = DetectFamily(&family);  // reads FICR: sets chip_
  if (!status.ok) return status;
  if (chip_ == nullptr || chip_->approtectUnprotected == 0xFFFFFFFFu) return Status::Ok();
  const uint32_t open = chip_->approtectUnprotected;
  status = NvmcWrite(family_->application.approtect, {open}, "writing UICR.APPROTECT = open after recover");
  if (!status.ok || !family_->hasNetwork) return status;
  bool released = false;
  status = ReleaseForceOff(appTransfer_, family_->release, &released);
  if (!status.ok) return status;
  core_ = Core::Network;
  bool accessible = false;
  status = WaitCoreAccessible(transfer_, family_->network, std::chrono::milliseconds(family_->release.accessTimeoutMs),
                              &accessible);
  bool locked = false;  // CSW read for the protection bits of the transfers below
  if (status.ok) status = ApLocked(family_->network.ahbAp, &locked);
  if (status.ok) {
    status = NvmcWrite(family_->network.approtect, {open}, "writing the network core's UICR.APPROTECT = open after recover");
  }
  core_ = Core::Application;
  if (status.ok) Log("info", "recover: UICR.APPROTECT written open on both cores (as nrfjprog's recover)");
  return status;
}

// Still locked after the erase-all. ERASEPROTECT is named only when the chip says it is the cause
// (CTRL-AP ERASEPROTECT.STATUS = 0: the erase-all was ignored).
Status JlinkProbe::RecoverFailure(const Status& failure) {
  std::string prefix = "J-Link S/N " + std::to_string(serial_) + ": the device is still locked after erase-all";
  if (family_->eraseProtectStatus != 0) {
    uint32_t erasable = 1;
    if (ApRead(family_->application.ctrlAp, family_->eraseProtectStatus, &erasable).ok && erasable == 0) {
      return Status::Error("ERASE_PROTECTED",
                           prefix + ": ERASEPROTECT is enabled (CTRL-AP ERASEPROTECT.STATUS = 0), so the erase-all was "
                                    "ignored. It must be disabled by firmware or through CTRL-AP ERASEPROTECT.DISABLE "
                                    "with the key the firmware agreed.",
                           failure.operation, failure.hasVendorCode, failure.vendorCode);
    }
  }
  return Status::Error("RECOVER_FAILED", prefix + " (" + failure.message + "). Power-cycle the device and try again.",
                       failure.operation, failure.hasVendorCode, failure.vendorCode);
}

Status JlinkProbe::ReadAccessPort(uint8_t ap, uint8_t reg, uint32_t* out) {
  Status status = RequireOpen();
  if (!status.ok) return status;
  if (reg & 3u) return Status::Error("INVALID_PARAMETER", "access-port register offsets are multiples of 4");
  return ApRead(ap, reg, out);
}

Status JlinkProbe::WriteAccessPort(uint8_t ap, uint8_t reg, uint32_t value) {
  Status status = RequireOpen();
  if (!status.ok) return status;
  if (reg & 3u) return Status::Error("INVALID_PARAMETER", "access-port register offsets are multiples of 4");
  return ApWrite(ap, reg, value);
}

Status JlinkProbe::Reset(ResetKind kind) {
  Status status = RequireLayout();
  if (!status.ok) return status;
  if (kind == ResetKind::Debug) return CtrlApResetPulse(transfer_, Layout().ctrlAp);
  if (core_ == Core::Network && kind == ResetKind::System) {
    return NetWriteWord(kAircr, kAircrSysResetReq, "resetting the network core (AIRCR.SYSRESETREQ)");
  }
  if (!attached_) return CtrlApResetPulse(transfer_, family_->application.ctrlAp);  // locked: no core connection
  status = RestoreApSelect();
  if (!status.ok) return status;
  int type = kind == ResetKind::Pin ? kResetTypeResetPin : kResetTypeNormal;
  api_.SetResetType(type);
  int rc = api_.Reset();
  if (type != kResetTypeNormal) api_.SetResetType(kResetTypeNormal);
  if (rc < 0) return MapJlinkError(rc, "JLINKARM_Reset", "resetting the device", "CANNOT_CONNECT");
  // J-Link halts the core after a reset; nrfjprog's resets leave it running.
  api_.Go();
  return Status::Ok();
}

Status JlinkProbe::Halt() {
  Status status = RequireOpen();
  if (!status.ok) return status;
  if (core_ == Core::Network) return NetWriteWord(kDhcsr, kDhcsrHalt, "halting the network core");
  status = EnsureAttached("halting the application core");
  if (status.ok) status = RestoreApSelect();
  if (!status.ok) return status;
  if (api_.Halt() != 0) {
    return DiagnoseApp(-1, "JLINKARM_Halt", "halting the application core");
  }
  return Status::Ok();
}

Status JlinkProbe::Go() {
  Status status = RequireOpen();
  if (!status.ok) return status;
  if (core_ == Core::Network) return NetWriteWord(kDhcsr, kDhcsrRun, "starting the network core");
  status = EnsureAttached("starting the application core");
  if (status.ok) status = RestoreApSelect();
  if (!status.ok) return status;
  api_.Go();
  return Status::Ok();
}

void JlinkProbe::Close() {
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
  selectDirty_ = false;
}

}  // namespace jlink

std::unique_ptr<ProbeBackend> CreateJlinkProbe(std::shared_ptr<Library> library, LogSink log) {
  return std::make_unique<jlink::JlinkProbe>(std::move(library), std::move(log));
}

}  // namespace tfm
