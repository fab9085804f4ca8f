// One open J-Link probe (the ProbeBackend of the `jlink` backend). The contract operations are in
// jlink_backend.cc; opening, family detection and the transfers they are built on (J-Link's memory
// API for the application core, AP1's MEM-AP for the network core, CoreSight AP access, error
// diagnosis) in jlink_transport.cc; the debug-port sequences in jlink_sequences.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "backend.h"
#include "jlink_layout.h"
#include "jlink_sdk.h"
#include "jlink_sequences.h"
#include "platform.h"

namespace tfm {
namespace jlink {

class JlinkProbe : public ProbeBackend {
 public:
  JlinkProbe(std::shared_ptr<Library> library, LogSink log);
  ~JlinkProbe() override { Close(); }
  Status Open(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint) override;
  Status DeviceInfo(DeviceInfoResult* out) override;
  Status SelectCore(Core core) override;
  Status Read(uint32_t address, uint32_t length, SecureBytes* out) override;
  Status Write(uint32_t address, const SecureBytes& data, bool nvmc) override;
  Status ReadU32(uint32_t address, uint32_t* out) override;
  Status WriteU32(uint32_t address, uint32_t value, bool nvmc) override;
  Status ErasePage(uint32_t address) override;
  Status EraseAll() override;
  Status Recover() override;
  Status ReadAccessPort(uint8_t ap, uint8_t reg, uint32_t* out) override;
  Status WriteAccessPort(uint8_t ap, uint8_t reg, uint32_t value) override;
  Status Reset(ResetKind kind) override;
  Status Halt() override;
  Status Go() override;
  void Close() override;

 private:
  Status OpenSequence(uint32_t serialNumber, uint32_t speedKhz, const std::string& familyHint);
  Status DetectFamily(const FamilyLayout** out);
  Status Exec(const std::string& command, bool required);
  Status RequireOpen() const;
  Status RequireLayout() const;
  const CoreLayout& Layout() const { return core_ == Core::Network ? family_->network : family_->application; }
  void Log(const std::string& level, const std::string& message);
  Status MapJlinkError(int rc, const char* operation, const std::string& what, const char* fallback) const;
  Status EnsureAttached(const std::string& what);
  Status DiagnoseApp(int rc, const char* operation, const std::string& what);
  Status AppReadWords(uint32_t address, SecureWords* words, const std::string& what);
  Status AppWriteWords(uint32_t address, const SecureWords& words, const std::string& what);
  Status AppWriteWord(uint32_t address, uint32_t value, const std::string& what);
  Status DiagnoseNetwork(const Status& failure, const std::string& what);
  Status NetTransfer(uint32_t address, size_t count, uint32_t* readInto, const uint32_t* writeFrom, const std::string& what);
  Status NetWriteWord(uint32_t address, uint32_t value, const std::string& what);
  Status ReadWords(uint32_t address, SecureWords* words, const std::string& what);
  Status ReadWordsTo(uint32_t address, uint32_t* words, size_t count, const std::string& what);
  Status WriteWordsFrom(uint32_t address, const uint32_t* words, size_t count, const std::string& what);
  Status WriteWords(uint32_t address, const SecureWords& words, const std::string& what);
  Status CoreLocked(bool* locked);
  Status NvmcWrite(uint32_t address, const SecureWords& words, const std::string& what);
  Status ConfigureCoresight();
  Status SelectApBank(uint8_t ap, uint32_t reg);
  Status ApRead(uint8_t ap, uint32_t reg, uint32_t* out);
  Status ApWrite(uint8_t ap, uint32_t reg, uint32_t value);
  Status ApLocked(uint8_t ap, bool* locked);
  Status RestoreApSelect();
  Status WriteOpenApprotect();
  Status RecoverFailure(const Status& failure);
  bool attached_ = false;        // JLINKARM_Connect succeeded (application core reachable)
  bool coresightReady_ = false;  // JLINKARM_CORESIGHT_Configure done (no core connection)
  uint32_t cswBase_ = 0x23000000u;  // AP1 CSW protection bits; refreshed from the chip when read

  std::shared_ptr<Library> library_;
  LogSink log_;
  platform::LibraryHandle copy_ = nullptr;
  Api api_;
  WordTransfer transfer_;     // AP registers, and memory of the selected core
  WordTransfer appTransfer_;  // the same, with memory always of the application core
  const ChipLayout* chip_ = nullptr;  // from FICR, once the application core was reachable
  bool selectDirty_ = false;  // DP SELECT is not AP0 / bank 0 (see RestoreApSelect)
  int logSlot_ = -1;
  uint32_t serial_ = 0;
  bool opened_ = false;
  const FamilyLayout* family_ = nullptr;
  Core core_ = Core::Application;
  std::chrono::milliseconds eraseAllTimeout_ = kDefaultEraseAllTimeout;
};

}  // namespace jlink
}  // namespace tfm
