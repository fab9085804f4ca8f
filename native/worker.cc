#include "worker.h"

#include <chrono>
#include <map>
#include <set>
#include <system_error>

#include "platform.h"

namespace tfm {

namespace {

std::atomic<int64_t> g_liveWorkers{0};

std::mutex g_claimsMutex;
// serial number -> backend holding it
std::map<uint32_t, std::string>& Claims() {
  static auto* claims = new std::map<uint32_t, std::string>();  // never destroyed: used at exit
  return *claims;
}

}  // namespace

void WorkerRegistry::StartExitClock() {
  if (exitDeadlineSet) return;
  exitDeadlineSet = true;
  exitDeadline = std::chrono::steady_clock::now() + exitWait;
}

std::unique_ptr<ProbeClaim> ProbeClaim::TryClaim(const std::string& backend, uint32_t serialNumber, std::string* holder) {
  std::lock_guard<std::mutex> lock(g_claimsMutex);
  auto inserted = Claims().emplace(serialNumber, backend);
  if (!inserted.second) {
    if (holder) *holder = inserted.first->second;
    return nullptr;
  }
  return std::unique_ptr<ProbeClaim>(new ProbeClaim(serialNumber));
}

ProbeClaim::~ProbeClaim() {
  std::lock_guard<std::mutex> lock(g_claimsMutex);
  Claims().erase(serial_);
}

void WorkerContext::CloseBackend() {
  if (backend) {
    backend->Close();
    backend.reset();
  }
  claim.reset();
}

struct WorkerMessage {
  enum class Kind { JobDone, Log, ThreadFinished };
  Kind kind;
  std::unique_ptr<Job> job;
  LogEntry log;
};

using WorkerTsfn = Napi::TypedThreadSafeFunction<Worker, WorkerMessage, &Worker::CallJs>;

struct WorkerCore {
  std::mutex mutex;
  std::condition_variable wake;      // a job was queued, or exit was requested
  std::condition_variable finished;  // the thread is done
  std::deque<std::unique_ptr<Job>> queue;
  bool exitRequested = false;
  bool threadDone = false;
  // False once the TSFN may be gone: after the thread's last message, or when the env exits.
  bool canPost = true;
  // Open while a keySlotAccess job runs; log lines arriving meanwhile are only counted.
  bool keySlotWindowOpen = false;
  uint64_t suppressedLogLines = 0;
  // Set from the JS thread (Worker::SetLogListening), read wherever a vendor line arrives. On at
  // first: lines of open() reach a listener added right after it.
  std::atomic<bool> logListening{true};
  WorkerTsfn tsfn;
  WorkerContext context;
  std::string name;

  // Caller holds `mutex`. Takes ownership of `message` whatever happens.
  void PostLocked(WorkerMessage* message) {
    if (!canPost || tsfn.NonBlockingCall(message) != napi_ok) delete message;
  }
};

Worker* Worker::Start(Napi::Env env, WorkerRegistry* registry, const std::string& name,
                      std::shared_ptr<Library> library, WorkerOwner* owner) {
  std::unique_ptr<Worker> worker(new Worker());
  worker->env_ = env;
  worker->registry_ = registry;
  worker->owner_ = owner;

  auto core = std::make_shared<WorkerCore>();
  core->name = name;
  core->context.library = std::move(library);
  // Vendor log callbacks arrive on any thread, vendor threads included: they only queue a message.
  // A weak pointer, because the sink lives inside the core it posts to.
  std::weak_ptr<WorkerCore> weak = core;
  core->context.log = [weak](const std::string& level, const std::string& source, const std::string& text) {
    std::shared_ptr<WorkerCore> target = weak.lock();
    if (!target || !target->logListening.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(target->mutex);
    if (target->keySlotWindowOpen) {
      target->suppressedLogLines++;  // not even copied: the line may print key bytes
      return;
    }
    target->PostLocked(new WorkerMessage{WorkerMessage::Kind::Log, nullptr, LogEntry{level, source, text}});
  };

  core->tsfn = WorkerTsfn::New(env, "tfm-provision " + name, 0, 1, worker.get(), &Worker::OnTsfnFinalize,
                               static_cast<void*>(nullptr));
  core->tsfn.Unref(env);
  worker->core_ = core;

  // Added after the TSFN's own cleanup hook, so it runs before it (hooks run last-in first-out):
  // the thread is stopped while the TSFN still exists.
  napi_add_env_cleanup_hook(env, &Worker::OnEnvCleanup, worker.get());
  worker->hookRegistered_ = true;

  try {
    worker->thread_ = std::thread(&Worker::Run, core);
  } catch (const std::system_error& e) {
    napi_remove_env_cleanup_hook(env, &Worker::OnEnvCleanup, worker.get());
    worker->hookRegistered_ = false;
    // The finalizer deletes the worker: nobody else will own it.
    worker->ownerDetached_ = true;
    worker->owner_ = nullptr;
    worker->tsfnReleased_ = true;
    core->tsfn.Release();
    worker.release();
    Napi::Error error = Napi::Error::New(env, std::string("could not start a probe thread: ") + e.what());
    error.Set("code", Napi::String::New(env, "OUT_OF_MEMORY"));
    throw error;
  }
  g_liveWorkers++;
  registry->workers.insert(worker.get());
  return worker.release();
}

Worker::~Worker() = default;

int64_t Worker::LiveCount() { return g_liveWorkers.load(); }

bool Worker::Submit(Napi::Env env, std::unique_ptr<Job> job) {
  if (finalSubmitted_ || threadFinished_) return false;
  if (job->final) finalSubmitted_ = true;
  if (job->KeepsLoopAlive() && pendingLoopJobs_++ == 0 && !tsfnReleased_ && !abandoned_) core_->tsfn.Ref(env);
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    core_->queue.push_back(std::move(job));
  }
  core_->wake.notify_one();
  return true;
}

void Worker::SetLogListening(bool listening) { core_->logListening.store(listening, std::memory_order_relaxed); }

namespace {
// Queued by a finalizer: nobody awaits it and it must not keep the process alive.
class DetachedCloseJob : public Job {
 public:
  DetachedCloseJob() { final = true; }
  void Execute(WorkerContext& context) override { context.CloseBackend(); }
  void Complete(Napi::Env) override {}
  bool KeepsLoopAlive() const override { return false; }
};
}  // namespace

void Worker::Abandon(Napi::Env env) {
  if (abandoned_) return;
  abandoned_ = true;
  if (pendingLoopJobs_ > 0 && !tsfnReleased_) core_->tsfn.Unref(env);
}

void Worker::DetachOwner() {
  owner_ = nullptr;
  ownerDetached_ = true;
  if (threadFinished_) {
    DeleteIfUnreachable();
    return;
  }
  if (!finalSubmitted_) Submit(Napi::Env(env_), std::make_unique<DetachedCloseJob>());
}

void Worker::Run(std::shared_ptr<WorkerCore> core) {
  platform::SetCurrentThreadName(core->name);
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(core->mutex);
      core->wake.wait(lock, [&] { return core->exitRequested || !core->queue.empty(); });
      if (core->exitRequested) break;
      job = std::move(core->queue.front());
      core->queue.pop_front();
    }
    const bool final = job->final;
    const bool keySlotAccess = job->keySlotAccess;
    if (keySlotAccess) {
      std::lock_guard<std::mutex> lock(core->mutex);
      core->keySlotWindowOpen = true;
      core->suppressedLogLines = 0;
    }
    job->Execute(core->context);
    {
      auto* message = new WorkerMessage{WorkerMessage::Kind::JobDone, std::move(job), {}};
      std::lock_guard<std::mutex> lock(core->mutex);
      if (keySlotAccess) {
        core->keySlotWindowOpen = false;
        // Posted before the call's result, so a listener sees it before the promise settles.
        if (core->suppressedLogLines > 0 && core->logListening.load(std::memory_order_relaxed)) {
          uint64_t n = core->suppressedLogLines;
          core->PostLocked(new WorkerMessage{
              WorkerMessage::Kind::Log, nullptr,
              LogEntry{"debug", "tfm-provision",
                       std::to_string(n) + (n == 1 ? " vendor log line" : " vendor log lines") +
                           " suppressed during a key-slot access"}});
        }
        core->suppressedLogLines = 0;
      }
      core->PostLocked(message);
    }
    if (final) break;
  }
  // Reached after a final job, or when the environment exits with the probe still open.
  core->context.CloseBackend();
  std::lock_guard<std::mutex> lock(core->mutex);
  core->threadDone = true;
  core->PostLocked(new WorkerMessage{WorkerMessage::Kind::ThreadFinished, nullptr, {}});
  core->canPost = false;
  core->finished.notify_all();
}

void Worker::CallJs(Napi::Env env, Napi::Function, Worker* worker, WorkerMessage* raw) {
  std::unique_ptr<WorkerMessage> message(raw);
  // A null env means the TSFN is being torn down with messages still queued: only free them.
  if (static_cast<napi_env>(env) == nullptr || worker == nullptr) return;
  switch (message->kind) {
    case WorkerMessage::Kind::JobDone:
      worker->OnJobDone(env, std::move(message->job));
      break;
    case WorkerMessage::Kind::Log:
      if (worker->owner_ != nullptr) {
        try {
          worker->owner_->OnLog(env, message->log);
        } catch (const Napi::Error&) {
          // A throwing log listener must not take the worker down; the TS layer reports it.
        }
      }
      break;
    case WorkerMessage::Kind::ThreadFinished:
      worker->OnThreadFinished();  // may delete worker
      break;
  }
}

void Worker::OnJobDone(Napi::Env env, std::unique_ptr<Job> job) {
  const bool keptLoopAlive = job->KeepsLoopAlive();
  try {
    job->Complete(env);
  } catch (const Napi::Error&) {
    // Settling a promise only fails when the env is going away.
  }
  if (keptLoopAlive && --pendingLoopJobs_ == 0 && !tsfnReleased_ && !abandoned_) core_->tsfn.Unref(env);
}

void Worker::OnThreadFinished() {
  if (threadFinished_) return;
  if (thread_.joinable()) thread_.join();  // it has posted its last message and is returning
  ReleaseResources();
  DeleteIfUnreachable();
}

void Worker::OnTsfnFinalize(Napi::Env, void*, Worker* worker) {
  worker->tsfnFinalized_ = true;
  worker->DeleteIfUnreachable();
}

void Worker::DeleteIfUnreachable() {
  if (ownerDetached_ && tsfnFinalized_) delete this;
}

void Worker::ReleaseResources() {
  threadFinished_ = true;
  if (hookRegistered_) {
    napi_remove_env_cleanup_hook(env_, &Worker::OnEnvCleanup, this);
    hookRegistered_ = false;
  }
  tsfnReleased_ = true;
  core_->tsfn.Release();
  g_liveWorkers--;
  registry_->workers.erase(this);
}

// Exit happens in two steps so that a process closing many probes waits for the slowest vendor call
// once, not for each in turn: every worker is told to stop first, then each is waited for.
void Worker::OnEnvCleanup(void* arg) {
  Worker* worker = static_cast<Worker*>(arg);
  worker->hookRegistered_ = false;  // Node is running it now
  worker->registry_->StartExitClock();
  for (Worker* other : std::set<Worker*>(worker->registry_->workers)) other->BeginExit();
  worker->FinishExit();
}

void Worker::ShutdownAll(WorkerRegistry* registry) {
  std::set<Worker*> workers = registry->workers;  // finishing erases from the registry
  registry->StartExitClock();
  for (Worker* worker : workers) worker->BeginExit();
  for (Worker* worker : workers) worker->FinishExit();
}

void Worker::BeginExit() {
  if (threadFinished_ || exitBegun_) return;
  exitBegun_ = true;
  std::deque<std::unique_ptr<Job>> dropped;  // their promises can no longer be settled
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    core_->exitRequested = true;
    core_->canPost = false;
    dropped.swap(core_->queue);
  }
  core_->wake.notify_all();
}

void Worker::FinishExit() {
  if (threadFinished_) return;
  BeginExit();
  bool done;
  {
    std::unique_lock<std::mutex> lock(core_->mutex);
    registry_->StartExitClock();
    done = core_->finished.wait_until(lock, registry_->exitDeadline, [&] { return core_->threadDone; });
  }
  if (thread_.joinable()) {
    // A vendor call that never returns must not hang the exit; the OS ends the thread.
    if (done) thread_.join();
    else thread_.detach();
  }
  ReleaseResources();  // also removes the cleanup hook when it has not run
  DeleteIfUnreachable();
}

}  // namespace tfm
