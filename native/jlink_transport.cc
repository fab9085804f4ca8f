// The J-Link probe's opening sequence, family detection, and the transfers the contract
// operations are built on (see jlink_probe.h).

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "jlink_library.h"
#include "jlink_probe.h"

namespace tfm {
namespace jlink {
namespace {
// ADIv5. UNVERIFIED for J-Link: that CORESIGHT_*APDPReg's RegIndex is the register's offset / 4
// within the bank selected by DP SELECT (ap << 24 | bank << 4), and that an AP read returns the
// value itself (J-Link reading RDBUFF for the posted read). This is what public pylink-based
// CTRL-AP scripts do, and it matches ADIv5; SEGGER's manual was not available to confirm it.
constexpr uint8_t kDpSelect = 2;

// The unsecure dialog J-Link shows when it finds a locked (secured) device offers to mass-erase it
// (devzone: "Yes wipes the flash, No aborts"). pylink installs a hook that answers No
// (pylink/jlink.py open(), util.unsecure_hook_dialog): erasing is recover()'s decision, under the
// tool's recover policy, never a side effect of connecting.
int RefuseUnsecureDialog(const char* /*title*/, const char* /*message*/, uint32_t /*flags*/) { return kDialogButtonNo; }

// Dialogs off, as pylink's disable_dialog_boxes() (J-Link 5.02+): a station has nobody to click.
const char* const kBatchModeCommands[] = {"SilentUpdateFW",       "SuppressInfoUpdateFW",   "SetBatchMode = 1",
                                          "HideDeviceSelection = 1", "SuppressControlPanel", "DisableInfoWinFlashDL",
                                          "DisableInfoWinFlashBPs"};
}  // namespace

// ---- opening ----------------------------------------------------------------------------------
Status JlinkProbe::OpenSequence(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint) {
  serial_ = serialNumber;
  transfer_.who = "J-Link S/N " + std::to_string(serialNumber);
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
  const char* openError = api_.OpenEx(LogTrampoline(logSlot_), ErrorTrampoline(logSlot_));
  if (openError != nullptr) {
    std::string text(openError);
    bool busy = text.find("in use") != std::string::npos || text.find("already") != std::string::npos;
    return Status::Error(busy ? "PROBE_BUSY" : "CANNOT_CONNECT",
                         "J-Link S/N " + std::to_string(serialNumber) + " could not be opened: " + text,
                         "JLINKARM_OpenEx");
  }
  opened_ = true;
  // Before anything can connect: the hook and batch mode first, then the interface, and only then
  // `Device =`, which makes J-Link connect by itself (pylink jlink.py connect(): "When we specify
  // 'Device =', we will trigger an auto-connect") over whatever interface is selected, and show its
  // unsecure dialog if the device is locked.
  api_.SetHookUnsecureDialog(&RefuseUnsecureDialog);
  for (const char* command : kBatchModeCommands) Exec(command, false);

  rc = api_.TIF_Select(kTifSwd);
  if (rc != 0) {
    return Status::Error("CANNOT_CONNECT", "J-Link S/N " + std::to_string(serialNumber) + " refused SWD",
                         "JLINKARM_TIF_Select", true, rc);
  }
  api_.SetSpeed(speedKhz ? speedKhz : kDefaultSpeedKhz);

  const FamilyLayout* hinted = FamilyByName(familyHint);
  std::string device = hinted ? hinted->jlinkDevice : kGenericDevice;
  Status status = Exec("Device = " + device, true);
  if (!status.ok) return status;
  // Writes to flash and UICR must reach the bus: J-Link's flash download would otherwise cache
  // them for its own flash loader (and the KMU needs each write in order, with its slot selected).
  // UNVERIFIED that these command names are accepted by every J-Link version: a refusal is logged.
  Exec("DisableFlashDL", false);
  Exec("DisableFlashBPs", false);

  rc = api_.Connect();
  const FamilyLayout* detected = nullptr;
  if (rc >= 0) {
    attached_ = true;
    status = DetectFamily(&detected);
    if (!status.ok) return status;
  } else {
    // A locked core refuses the connection; the debug port still answers, which is what recover
    // and erase-all need. Anything else is a connection failure. The family comes from the
    // CTRL-AP's place, and the lock from what that chip has (lib/targets debugLock).
    bool locked = false;
    Status probeStatus = ConfigureCoresight();
    if (probeStatus.ok) probeStatus = DetectFamily(&detected);
    const FamilyLayout* layout = detected ? detected : hinted;
    if (probeStatus.ok && layout) probeStatus = ReadCoreLock(transfer_, layout->application, &locked);
    if (!probeStatus.ok || !layout || !locked) {
      return MapJlinkError(rc, "JLINKARM_Connect", "connecting to the target over SWD", "CANNOT_CONNECT");
    }
    Log("warning", "the application core's debug access is locked (APPROTECT); only recover and erase-all work");
  }
  if (hinted && detected && hinted != detected) {
    return Status::Error("WRONG_FAMILY", "J-Link S/N " + std::to_string(serialNumber) + " is connected to an " +
                                             detected->displayName + ", not an " + hinted->displayName);
  }
  family_ = detected ? detected : hinted;
  core_ = Core::Application;
  return Status::Ok();
}

// FICR when the core is reachable; else the CTRL-AP's position (AP2 on nRF53, AP4 on nRF91).
Status JlinkProbe::DetectFamily(const FamilyLayout** out) {
  *out = nullptr;
  if (attached_) {
    SecureWords word(1);
    Status status = AppReadWords(kFicrInfoPart, &word, "reading FICR INFO.PART");
    if (!status.ok) return status;
    uint32_t part = word[0];
    chip_ = ChipByPart(part);
    if (part == 0x5340) {
      *out = FamilyByName("NRF53");
      return Status::Ok();
    }
    status = AppReadWords(kFicrSipPartNo, &word, "reading FICR SIPINFO.PARTNO");
    if (!status.ok) return status;
    uint32_t sipPart = word[0];
    if (chip_ == nullptr) chip_ = ChipByPart(sipPart);  // nRF9160 has no INFO.PART
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

Status JlinkProbe::Exec(const std::string& command, bool required) {
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
Status JlinkProbe::RequireOpen() const {
  if (!opened_) return Status::Error("INVALID_SESSION", "the J-Link session is not open");
  return Status::Ok();
}

Status JlinkProbe::RequireLayout() const {
  Status status = RequireOpen();
  if (!status.ok) return status;
  if (family_ == nullptr) {
    return Status::Error("UNKNOWN_DEVICE", "J-Link S/N " + std::to_string(serial_) +
                                               ": the device is neither an nRF53 nor an nRF91; open it with a family");
  }
  return Status::Ok();
}

void JlinkProbe::Log(const std::string& level, const std::string& message) {
  if (log_) log_(level, "jlink-backend", "J-Link S/N " + std::to_string(serial_) + ": " + message);
}

// J-Link code -> stable code. -1 and unknown codes get `fallback`.
Status JlinkProbe::MapJlinkError(int rc, const char* operation, const std::string& what, const char* fallback) const {
  const ErrorInfo* info = FindError(rc);
  const char* code = info ? info->stableCode : fallback;
  std::string text = info ? info->text : "returned " + std::to_string(rc);
  return Status::Error(code, "J-Link S/N " + std::to_string(serial_) + ": " + what + " failed: " + text + " (" +
                                 operation + ")",
                       operation, true, rc);
}

// ---- application core: J-Link memory API --------------------------------------------------------
Status JlinkProbe::EnsureAttached(const std::string& what) {
  if (attached_) return Status::Ok();
  RestoreApSelect();
  int rc = api_.Connect();
  if (rc >= 0) {
    attached_ = true;
    return Status::Ok();
  }
  return DiagnoseApp(rc, "JLINKARM_Connect", what);
}

// A failed application-core access: DEVICE_PROTECTED when the chip's lock check says so (AP0
// CSW.DeviceEn without a known family).
Status JlinkProbe::DiagnoseApp(int rc, const char* operation, const std::string& what) {
  bool locked = false;
  Status check = family_ ? ReadCoreLock(transfer_, family_->application, &locked) : ApLocked(0, &locked);
  if (check.ok && locked) {
    return Status::Error("DEVICE_PROTECTED", "J-Link S/N " + std::to_string(serial_) + ": " + what +
                                                 " failed: the application core's debug access is locked "
                                                 "(APPROTECT). recover() reopens it and erases the device.",
                         operation, true, rc);
  }
  return MapJlinkError(rc, operation, what, "VENDOR_LIBRARY_ERROR");
}

Status JlinkProbe::AppReadWords(uint32_t address, SecureWords* words, const std::string& what) {
  Status status = EnsureAttached(what);
  if (!status.ok) return status;
  status = RestoreApSelect();
  if (!status.ok) return status;
  uint32_t bytes = static_cast<uint32_t>(words->size() * 4);
  int rc = api_.ReadMemEx(address, bytes, words->data(), kAccessWidth32);
  // UNVERIFIED: that the result counts bytes (public users compare it with NumBytes); a short read
  // is treated as a failure so no caller ever acts on partial data.
  if (rc < 0 || static_cast<uint32_t>(rc) < bytes) return DiagnoseApp(rc < 0 ? rc : -1, "JLINKARM_ReadMemEx", what);
  return Status::Ok();
}

Status JlinkProbe::AppWriteWords(uint32_t address, const SecureWords& words, const std::string& what) {
  Status status = EnsureAttached(what);
  if (!status.ok) return status;
  status = RestoreApSelect();
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

Status JlinkProbe::AppWriteWord(uint32_t address, uint32_t value, const std::string& what) {
  return AppWriteWords(address, {value}, what);
}

// ---- network core: AP1 MEM-AP registers ---------------------------------------------------------
// A failed network-core access: forced off, locked, or a transfer error.
Status JlinkProbe::DiagnoseNetwork(const Status& failure, const std::string& what) {
  uint32_t forceOff = 0, held = 0;
  Status read = ForceOffAddress(appTransfer_, family_->release, &forceOff);
  if (read.ok) read = appTransfer_.memRead(forceOff, &held, 1);
  if (read.ok && (held & 1u)) {
    return Status::Error("NETWORK_CORE_FORCED_OFF", "J-Link S/N " + std::to_string(serial_) + ": " + what +
                                                        " failed: the network core is held in force-off (every "
                                                        "reset sets it); select the network core again to release it",
                         failure.operation, failure.hasVendorCode, failure.vendorCode);
  }
  bool locked = false;
  if (ApLocked(family_->network.ahbAp, &locked).ok && ReadCoreLock(transfer_, family_->network, &locked).ok && locked) {
    return Status::Error("DEVICE_PROTECTED", "J-Link S/N " + std::to_string(serial_) + ": " + what +
                                                 " failed: the network core's debug access is locked (APPROTECT)",
                         failure.operation, failure.hasVendorCode, failure.vendorCode);
  }
  Status status = failure;
  status.message = "J-Link S/N " + std::to_string(serial_) + ": " + what + " failed: " + failure.message;
  return status;
}

// Reads `count` words into `readInto`, or writes them from `writeFrom` (exactly one is non-null).
Status JlinkProbe::NetTransfer(uint32_t address, size_t count, uint32_t* readInto, const uint32_t* writeFrom, const std::string& what) {
  Status status = MemApTransfer(transfer_, family_->network.ahbAp, cswBase_, address, count, readInto, writeFrom);
  if (!status.ok) return DiagnoseNetwork(status, what);
  return Status::Ok();
}

Status JlinkProbe::NetWriteWord(uint32_t address, uint32_t value, const std::string& what) {
  return NetTransfer(address, 1, nullptr, &value, what);
}

// ---- either core ------------------------------------------------------------------------------
Status JlinkProbe::ReadWords(uint32_t address, SecureWords* words, const std::string& what) {
  if (core_ == Core::Network) return NetTransfer(address, words->size(), words->data(), nullptr, what);
  return AppReadWords(address, words, what);
}

Status JlinkProbe::ReadWordsTo(uint32_t address, uint32_t* words, size_t count, const std::string& what) {
  if (core_ == Core::Network) return NetTransfer(address, count, words, nullptr, what);
  SecureWords buffer(count);
  Status status = AppReadWords(address, &buffer, what);
  if (status.ok) std::memcpy(words, buffer.data(), count * 4);
  return status;
}

Status JlinkProbe::WriteWordsFrom(uint32_t address, const uint32_t* words, size_t count, const std::string& what) {
  if (core_ == Core::Network) return NetTransfer(address, count, nullptr, words, what);
  return AppWriteWords(address, SecureWords(words, words + count), what);
}

// By reference: a by-value copy of the words (maybe a key) would be one more buffer to wipe.
Status JlinkProbe::WriteWords(uint32_t address, const SecureWords& words, const std::string& what) {
  if (core_ == Core::Network) return NetTransfer(address, words.size(), nullptr, words.data(), what);
  return AppWriteWords(address, words, what);
}

Status JlinkProbe::CoreLocked(bool* locked) {
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
  if (status.ok) status = ReadCoreLock(transfer_, family_->network, locked);
  if (!status.ok) return DiagnoseNetwork(status, "reading the network core's AHB-AP");
  return Status::Ok();
}

// ---- NVMC -------------------------------------------------------------------------------------
Status JlinkProbe::NvmcWrite(uint32_t address, const SecureWords& words, const std::string& what) {
  Status status = RequireLayout();
  if (!status.ok) return status;
  return jlink::NvmcWrite(transfer_, Layout().nvmcBase, address, words.data(), words.size(), what);
}

// ---- access ports -------------------------------------------------------------------------------
// Without a core connection (locked device) the CoreSight API needs its own SWD setup.
Status JlinkProbe::ConfigureCoresight() {
  if (attached_ || coresightReady_) return Status::Ok();
  int rc = api_.CORESIGHT_Configure("");
  if (rc < 0) return MapJlinkError(rc, "JLINKARM_CORESIGHT_Configure", "setting up the debug port", "CANNOT_CONNECT");
  coresightReady_ = true;
  return Status::Ok();
}

Status JlinkProbe::SelectApBank(uint8_t ap, uint32_t reg) {
  Status status = ConfigureCoresight();
  if (!status.ok) return status;
  // SELECT is rewritten before every access: J-Link's own memory accesses change it too.
  uint32_t select = static_cast<uint32_t>(ap) << 24 | (reg & 0xF0u);
  int rc = api_.CORESIGHT_WriteAPDPReg(kDpSelect, 0, select);
  if (rc < 0) {
    return MapJlinkError(rc, "JLINKARM_CORESIGHT_WriteAPDPReg", "selecting AP" + std::to_string(ap), "CANNOT_CONNECT");
  }
  selectDirty_ = select != 0;
  return Status::Ok();
}

// J-Link's memory API works through AP0 and takes DP SELECT as it finds it (the SDK documents no
// re-selection; the fake faults a memory call with SELECT on another AP, the stricter reading):
// after CoreSight accesses SELECT goes back to AP0, bank 0, before the next memory call.
Status JlinkProbe::RestoreApSelect() {
  if (!selectDirty_) return Status::Ok();
  int rc = api_.CORESIGHT_WriteAPDPReg(kDpSelect, 0, 0);
  if (rc < 0) return MapJlinkError(rc, "JLINKARM_CORESIGHT_WriteAPDPReg", "selecting AP0 again", "CANNOT_CONNECT");
  selectDirty_ = false;
  return Status::Ok();
}

Status JlinkProbe::ApRead(uint8_t ap, uint32_t reg, uint32_t* out) {
  Status status = SelectApBank(ap, reg);
  if (!status.ok) return status;
  int rc = api_.CORESIGHT_ReadAPDPReg(static_cast<uint8_t>((reg >> 2) & 3u), 1, out);
  if (rc < 0) {
    return MapJlinkError(rc, "JLINKARM_CORESIGHT_ReadAPDPReg",
                         "reading AP" + std::to_string(ap) + " register " + Hex32(reg), "CANNOT_CONNECT");
  }
  return Status::Ok();
}

Status JlinkProbe::ApWrite(uint8_t ap, uint32_t reg, uint32_t value) {
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
Status JlinkProbe::ApLocked(uint8_t ap, bool* locked) {
  uint32_t csw = 0;
  Status status = ReadApLock(transfer_, ap, locked, &csw);
  if (!status.ok) return status;
  if (family_ && family_->hasNetwork && ap == family_->network.ahbAp) cswBase_ = csw & ~(kCswModeMask | kCswDeviceEn);
  return Status::Ok();
}

}  // namespace jlink
}  // namespace tfm
