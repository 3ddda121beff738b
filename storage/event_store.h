// EventStore: the RocksDB event log and its projection column families.
//
// Layout: column family `events` (key: seq as 8 big-endian bytes, value:
// core/event_codec.h), one column family per projection Keyspace (named by
// KeyspaceName), and `meta` (log head, projection schema). Everything but
// `events` can be recreated by Rebuild().
//
// Writes: one writer thread drains the queue of pending commands as a group.
// Each command's decide() runs against a view that reads through the group's
// pending WriteBatchWithIndex, so it sees the earlier commands of its group;
// its events get seq, time and the hash chain, are encoded into `events`, and
// the Projector applies them into the same batch. The group is written with
// one synced write; only then does Execute() return. A command whose decide()
// or apply fails is rolled back to its save point alone.
//
// Thread-safety: Execute() and every read method may be called from any
// thread. Rebuild() must not run concurrently with Execute().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/event.h"
#include "core/ports.h"
#include "core/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Cache;
}  // namespace rocksdb

namespace tokenlog::storage {

struct LogHead {
  uint64_t seq = 0;    // 0: empty log
  Digest hash{};       // hash of event `seq` (zeros for an empty log)
  int64_t time = 0;    // time of event `seq`
  bool operator==(const LogHead&) const = default;
};

enum class OpenMode {
  kReadWrite,  // the server: creates the directory if missing
  kReadOnly,   // a stopped server's data or a backup
  kSecondary,  // a running server's data: a RocksDB secondary instance that
               // reads a consistent state as of Open, without stopping it
};

// The projection writes of one committed group, for in-memory mirrors of a
// keyspace (the check's index).
class CommittedWrites {
 public:
  using Visitor = std::function<void(Keyspace ks, std::string_view key,
                                     std::optional<std::string_view> value)>;
  virtual ~CommittedWrites() = default;
  // Visits, in one pass, the group's writes to the keyspaces in `which` in
  // the order apply made them (a later write to a key supersedes an earlier
  // one); `value` is nullopt for a delete. kCorruption when the batch holds
  // a record it cannot read (the store never writes one).
  virtual Status Visit(std::initializer_list<Keyspace> which, const Visitor& visit) const = 0;
};

// Called on the writer thread after each successful group commit, before
// the group's Execute() calls return, with the events in seq order and the
// projection writes they caused. Must not call Execute().
using CommitListener =
    std::function<void(const std::vector<Event>& events, const CommittedWrites& writes)>;

class EventStore {
 public:
  // Decides a command against the group's state at time `now` (never earlier
  // than the last event's time). Returns the events to append, or a refusal.
  using DecideFn = std::function<Result<std::vector<Event>>(const KeyspaceReader& state,
                                                            int64_t now)>;

  // Whether `path` holds a store (RocksDB's CURRENT file), readable or not.
  static bool HoldsStore(const std::string& path);
  // Whether Open may create a store in the existing directory `dir`: it holds
  // a store, or nothing but the names in `also_allowed` and what a creation
  // cut short before CURRENT left. A mistyped path naming a directory of
  // other files (a home directory; a store whose CURRENT file was lost) would
  // otherwise get a new, empty store among them, which answers every check
  // with 401 and buries the old data. Code::kInvalidRequest naming the first
  // other file; kUnavailable when the directory cannot be read.
  static Status CheckNewStoreDirectory(const std::string& dir,
                                       std::initializer_list<std::string_view> also_allowed);

  // Opens (read-write: creating) the store at `path`. `projector` and `clock`
  // must outlive the store. When the projections are not current with the
  // log (first open after an upgrade, or a foreign change) they are rebuilt
  // before Open returns. Code::kUnavailable with RocksDB's message on failure.
  static Result<std::unique_ptr<EventStore>> Open(const std::string& path, OpenMode mode,
                                                  const Projector& projector, const Clock& clock);
  ~EventStore();

  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Runs `decide` on the writer thread and appends its events durably.
  // Returns them with seq, time and hashes set (empty when decide returned
  // none). kUnavailable when the write failed: then nothing of it is in
  // force (no read or later decision sees it); but a failed fsync may leave
  // its bytes in RocksDB's write-ahead log, which the next open replays, so
  // it can appear after a restart, whole (README, "What a 503 after a
  // failed write means"). A refusal decided in the same group after a
  // member that appended is answered with the write's failure too.
  Result<std::vector<Event>> Execute(DecideFn decide);

  // Committed state, read directly from RocksDB.
  const KeyspaceReader& committed() const { return *committed_; }

  LogHead head() const;
  // Commands waiting for the writer (not yet in the group it is appending).
  size_t queued() const;
  // RocksDB's estimate of the entries in a keyspace (cheap; may be off).
  uint64_t EstimateEntries(Keyspace ks) const;
  // True while RocksDB has a flush or compaction running or due in any
  // column family (benchmarks wait for this to clear before they measure).
  bool BackgroundWorkPending() const;
  // A random key kept in `meta` (created on the first read-write open), for
  // sealing paging cursors so that they survive restarts and backups. Empty
  // when a read-only open finds none.
  const std::string& paging_key() const { return paging_key_; }
  // True while the last write succeeded (or none failed since the last
  // success).
  bool writable() const;
  // After a failed write: asks RocksDB to recover (at most once a second)
  // and answers writable(). Lets readiness come back without a write.
  bool TryRecover();

  // The event `seq`, nullopt when the log has no such seq; kCorruption when
  // it does not decode.
  Result<std::optional<Event>> ReadEvent(uint64_t seq) const;

  // Visits decoded events from `from_seq` on, ascending, while `visit`
  // returns true. A malformed event stops the walk with kCorruption naming
  // its seq.
  Status ScanDecoded(uint64_t from_seq, const std::function<bool(const Event&)>& visit) const;

  // Visits events from `from_seq` on, ascending, while `visit` returns true.
  // Decode errors stop the walk with kCorruption naming the seq.
  Status ScanEvents(uint64_t from_seq,
                    const std::function<bool(uint64_t seq, std::string_view raw)>& visit) const;

  // Drops every projection and replays `events` into them, bulk-loading
  // them `entries_per_load` projection entries at a time (0: the default,
  // 1M; tests use small loads to cover chunk boundaries). `progress`
  // is called every few thousand events with (done, total).
  Status Rebuild(const std::function<void(uint64_t, uint64_t)>& progress = nullptr,
                 size_t entries_per_load = 0);

  void SetCommitListener(CommitListener listener);

  // Pending commands are answered, then the writer thread stops. Idempotent.
  void Close();

  // A consistent copy of the store at `source` (live or not) into `dest`
  // (absent or an empty directory), which `serve --data dest` accepts: the
  // log is copied from a secondary instance, the projections are rebuilt
  // from it. The copy is made in "<dest>.partial-XXXXXX" beside `dest` and
  // renamed to `dest` once complete, so `dest` never holds part of a copy.
  // Returns the head of the copy.
  static Result<LogHead> Backup(const std::string& source, const std::string& dest,
                                const Projector& projector, const Clock& clock);

  class Impl;  // the RocksDB handles; opaque outside event_store.cc

 private:
  // Backup()'s copy, into the fresh directory `dest`.
  static Result<LogHead> CopyInto(const std::string& source, const std::string& dest,
                                  const Projector& projector, const Clock& clock);
  struct Pending;
  struct Group;
  EventStore() = default;

  void WriterLoop();
  void RunGroup(const std::vector<Pending*>& group);

  std::unique_ptr<Impl> impl_;
  std::unique_ptr<KeyspaceReader> committed_;
  const Projector* projector_ = nullptr;
  std::string paging_key_;
  const Clock* clock_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Groups not yet taken by the writer, oldest first; callers join the last
  // one until it holds kMaxGroup commands.
  std::deque<std::shared_ptr<Group>> queue_;    // GUARDED_BY(mu_)
  bool stopping_ = false;                       // GUARDED_BY(mu_)
  LogHead head_;                                // GUARDED_BY(mu_); written by the writer only
  std::chrono::steady_clock::time_point last_recovery_{};  // GUARDED_BY(mu_)
  bool writable_ = true;                        // GUARDED_BY(mu_)
  // Failed writes so far: a recovery that began before the latest one must
  // not mark the log writable over it.
  uint64_t write_failures_ = 0;  // GUARDED_BY(mu_)
  // Held around each RocksDB Resume() (the writer's and TryRecover()'s).
  std::mutex resume_mu_;
  CommitListener listener_;                     // set before the first Execute
  std::thread writer_;
};

}  // namespace tokenlog::storage
