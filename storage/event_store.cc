#include "storage/event_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <system_error>
#include <thread>

#include "core/bytes.h"
#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/huge_pages.h"
#include "core/random.h"

namespace tokenlog::storage {

namespace {

constexpr const char* kEventsCf = "events";
constexpr const char* kMetaCf = "meta";
constexpr const char* kHeadKey = "head";
constexpr const char* kSchemaKey = "projection_schema";
constexpr const char* kPagingKey = "paging_key";
// Bump when a projection's layout or apply() changes: the next open rebuilds.
constexpr uint64_t kProjectionSchema = 6;
constexpr size_t kMaxGroup = 512;
constexpr uint64_t kRebuildChunk = 8192;     // events per batch when copying a log
// Keyspaces read by key (Get); the others are only scanned by prefix.
bool IsPointRead(Keyspace ks) {
  return ks == Keyspace::kTokens || ks == Keyspace::kTokenHash || ks == Keyspace::kPolicies ||
         ks == Keyspace::kUsers;
}

constexpr size_t kRebuildEntries = 1'000'000;  // projection entries of the first bulk loads
constexpr size_t kRebuildMaxEntries = 4'000'000;  // ... and of the largest
constexpr size_t kRebuildBytes = size_t{1} << 30;  // or fewer, when they hold this many bytes
constexpr size_t kPausedLoads = 12;  // loads ingested before compaction resumes during a rebuild

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  return Status(Code::kUnavailable, std::string(what) + ": " + s.ToString());
}

std::string EncodeHead(const LogHead& h) {
  ByteWriter w;
  w.U8(1);
  w.U64(h.seq);
  w.Bytes(std::string_view(reinterpret_cast<const char*>(h.hash.data()), h.hash.size()));
  w.I64(h.time);
  return w.Release();
}

Result<LogHead> DecodeHead(std::string_view raw) {
  ByteReader r(raw);
  LogHead h;
  uint8_t version = 0;
  std::string_view hash;
  if (!r.U8(&version) || version != 1 || !r.U64(&h.seq) || !r.Bytes(32, &hash) ||
      !r.I64(&h.time) || r.remaining() != 0) {
    return Status(Code::kCorruption, "log head record is malformed");
  }
  std::memcpy(h.hash.data(), hash.data(), 32);
  return h;
}

// RocksDB's own diagnostics go to stderr (WARN and above), not to a LOG file
// in the data directory: on a full disk RocksDB's file logger fails and a
// later append to it aborts the process (an assertion in RocksDB 7.8).
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof(line), format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

// The last key (<= `start` when given) with `prefix`, or the first (>= start).
void Position(rocksdb::Iterator* it, std::string_view prefix, std::string_view start,
              bool reverse) {
  if (!reverse) {
    it->Seek(start.empty() ? rocksdb::Slice(prefix.data(), prefix.size())
                           : rocksdb::Slice(start.data(), start.size()));
    return;
  }
  if (!start.empty()) {
    it->SeekForPrev(rocksdb::Slice(start.data(), start.size()));
    return;
  }
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (end.empty()) {
    it->SeekToLast();
    return;
  }
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  it->SeekForPrev(end);
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
}

Status Walk(rocksdb::Iterator* it, std::string_view prefix, std::string_view start, bool reverse,
            const ScanVisitor& visit) {
  Position(it, prefix, start, reverse);
  for (; it->Valid(); reverse ? it->Prev() : it->Next()) {
    rocksdb::Slice k = it->key();
    if (!k.starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) break;
    rocksdb::Slice v = it->value();
    if (!visit(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan");
  return Status();
}

}  // namespace

// The RocksDB handles.
class EventStore::Impl {
 public:
  ~Impl() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  rocksdb::ColumnFamilyHandle* projection(Keyspace ks) const {
    return projections[static_cast<size_t>(ks)];
  }

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, kKeyspaceCount> projections{};
  std::array<rocksdb::ColumnFamilyOptions, kKeyspaceCount> projection_options;
  bool read_only = false;
};

namespace {

// A stored event that does not decode, named by its seq.
Status CorruptEvent(uint64_t seq, const Status& decode) {
  return Status(Code::kCorruption, "seq " + std::to_string(seq) + ": " + decode.detail());
}

// The value of a point read, nullopt when absent.
Result<std::optional<std::string>> Found(const rocksdb::Status& s, std::string value) {
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read");
  return std::optional<std::string>(std::move(value));
}

// Committed state: reads RocksDB directly.
class DbReader final : public KeyspaceReader {
 public:
  explicit DbReader(const EventStore::Impl* impl) : impl_(impl) {}
  Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const override {
    std::string value;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->projection(ks),
                            rocksdb::Slice(key.data(), key.size()), &value);
    return Found(s, std::move(value));
  }
  Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
              const ScanVisitor& visit) const override {
    // A scan without a prefix walks the keyspace in bulk (loading the
    // check's index, verify): its blocks stay out of the block cache, where
    // they would evict what point reads and pages need (and inserting them
    // cost loading the index a fifth of its time).
    rocksdb::ReadOptions read;
    read.fill_cache = !prefix.empty();
    // Read ahead in 2 MiB reads from the first block on (RocksDB's own
    // readahead starts at one block and ramps up per file): loading 1M
    // tokens made 38k pread calls, now ~300. (A 2 MiB buffer for each table
    // file the scan has open.)
    if (prefix.empty()) read.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->projection(ks)));
    return Walk(it.get(), prefix, start, reverse, visit);
  }

 private:
  const EventStore::Impl* impl_;
};

// A committed group's projection writes, read back from its WriteBatch (so
// that commands rolled back to their save point are not in it).
class BatchWrites final : public CommittedWrites {
 public:
  BatchWrites(const EventStore::Impl* impl, const rocksdb::WriteBatch* batch)
      : impl_(impl), batch_(batch) {}
  Status Visit(std::initializer_list<Keyspace> which, const Visitor& visit) const override {
    class Handler final : public rocksdb::WriteBatch::Handler {
     public:
      Handler(const EventStore::Impl* impl, std::initializer_list<Keyspace> which,
              const Visitor& visit)
          : visit_(visit) {
        for (Keyspace ks : which) wanted_.emplace_back(impl->projection(ks)->GetID(), ks);
      }
      rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                            const rocksdb::Slice& value) override {
        if (auto ks = Wanted(cf)) visit_(*ks, View(key), View(value));
        return rocksdb::Status::OK();
      }
      rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
        if (auto ks = Wanted(cf)) visit_(*ks, View(key), std::nullopt);
        return rocksdb::Status::OK();
      }
      rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
        return DeleteCF(cf, key);
      }

     private:
      static std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
      std::optional<Keyspace> Wanted(uint32_t cf) const {
        for (const auto& [id, ks] : wanted_) {
          if (id == cf) return ks;
        }
        return std::nullopt;
      }
      std::vector<std::pair<uint32_t, Keyspace>> wanted_;
      const Visitor& visit_;
    } handler(impl_, which, visit);
    auto s = batch_->Iterate(&handler);  // fails only on record types the store never writes
    if (!s.ok()) return Status(Code::kCorruption, "reading a committed batch: " + s.ToString());
    return Status();
  }

 private:
  const EventStore::Impl* impl_;
  const rocksdb::WriteBatch* batch_;
};

// A group's view: reads through the pending batch, writes into it.
class BatchView final : public KeyspaceWriter {
 public:
  BatchView(const EventStore::Impl* impl, rocksdb::WriteBatchWithIndex* batch)
      : impl_(impl), batch_(batch) {}
  Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const override {
    std::string value;
    auto s = batch_->GetFromBatchAndDB(impl_->db, rocksdb::ReadOptions(), impl_->projection(ks),
                                       rocksdb::Slice(key.data(), key.size()), &value);
    return Found(s, std::move(value));
  }
  Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
              const ScanVisitor& visit) const override {
    auto* cf = impl_->projection(ks);
    std::unique_ptr<rocksdb::Iterator> it(
        batch_->NewIteratorWithBase(cf, impl_->db->NewIterator(rocksdb::ReadOptions(), cf)));
    return Walk(it.get(), prefix, start, reverse, visit);
  }
  void Put(Keyspace ks, std::string_view key, std::string_view value) override {
    batch_->Put(impl_->projection(ks), rocksdb::Slice(key.data(), key.size()),
                rocksdb::Slice(value.data(), value.size()));
  }
  void Delete(Keyspace ks, std::string_view key) override {
    batch_->Delete(impl_->projection(ks), rocksdb::Slice(key.data(), key.size()));
  }

 private:
  const EventStore::Impl* impl_;
  rocksdb::WriteBatchWithIndex* batch_;
};

// The rebuild's view: the projection entries of a chunk of events ("a
// load"), sorted and bulk-loaded as SST files (SstFileWriter +
// IngestExternalFiles), which keeps millions of random-order inserts out of
// the memtable.
//
// Rows are appended to per-keyspace arenas in apply order and sorted once per
// load by a fixed-size key head held in the row (most keys fit in it whole),
// the arrival order breaking ties so that the last write to a key wins. No
// per-row allocation: that, the pointer-chasing sort and freeing millions of
// map nodes were most of a rebuild's time.
//
// apply() reads only `tokens` (the record an event changes): those rows are
// also indexed by key (open addressing over arena offsets), read-your-writes.
// Loads are pipelined: while one is sorted, written (two threads over its
// keyspaces) and ingested, apply() fills the next; a token read looks in the
// load being filled, then the one being written (its index and arena are not
// touched by the writer, which only permutes its rows), then RocksDB, which
// holds every earlier load.
class RebuildView final : public KeyspaceWriter {
 public:
  // `cleared`: the keyspaces that held entries and were emptied with a range
  // tombstone (their bulk-loaded files land in level 0, see WriteFile()).
  RebuildView(const EventStore::Impl* impl, size_t entries_per_load,
              const std::array<bool, kKeyspaceCount>& cleared)
      : impl_(impl),
        stored_(impl),
        entries_per_load_(entries_per_load),
        dir_(impl->db->GetName() + "/rebuild.tmp"),
        cleared_(cleared) {}
  // Files left by a rebuild that crashed may still be hard links to live,
  // ingested SSTs: they are unlinked before files of the same names are
  // written, and the rebuild stops if they cannot be.
  Status Init() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec || std::filesystem::exists(dir_, ec)) {
      return Status(Code::kUnavailable, "cannot empty " + dir_ + ": " + ec.message());
    }
    if (!std::filesystem::create_directories(dir_, ec) || ec) {
      return Status(Code::kUnavailable, "cannot create " + dir_ + ": " + ec.message());
    }
    return Status();
  }
  ~RebuildView() override {
    (void)Wait();
    ResumeCompaction();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RebuildView(const RebuildView&) = delete;
  RebuildView& operator=(const RebuildView&) = delete;

  Result<std::optional<std::string>> Get(Keyspace ks, std::string_view key) const override {
    if (ks == Keyspace::kTokens) {
      for (const Load* load : {current_, in_flight_}) {
        if (load == nullptr) continue;
        if (auto found = load->FindToken(key)) return *found;
      }
      return stored_.Get(ks, key);
    }
    // Not used by apply(); correct anyway: reads what is written so far.
    TL_RETURN_IF_ERROR(const_cast<RebuildView*>(this)->Drain());
    return stored_.Get(ks, key);
  }
  Status Scan(Keyspace ks, std::string_view prefix, std::string_view start, bool reverse,
              const ScanVisitor& visit) const override {
    // Not used by apply(); correct anyway: scans what is written so far.
    TL_RETURN_IF_ERROR(const_cast<RebuildView*>(this)->Drain());
    return stored_.Scan(ks, prefix, start, reverse, visit);
  }
  void Put(Keyspace ks, std::string_view key, std::string_view value) override {
    current_->Add(ks, key, value);
  }
  void Delete(Keyspace ks, std::string_view key) override { current_->Add(ks, key, std::nullopt); }
  // Starts loading what apply() of an event on `token_id` touches first: its
  // slot in the index of the `tokens` rows being filled. Waiting on that
  // cache miss was ~60% of adding rows, the apply thread's largest cost
  // (perf); the rebuild calls this a few events ahead.
  void Prefetch(std::string_view token_id) const { current_->tokens.Prefetch(token_id); }

  // Once the load being filled is full, waits for the previous one to be
  // ingested and starts writing this one. A write's error surfaces at the
  // next call.
  Status MaybeHandOff() {
    if (current_->entries < LoadEntries() && current_->bytes < kRebuildBytes) return Status();
    return HandOff();
  }
  // Loads double in size every four loads, up to kRebuildMaxEntries: small
  // loads keep a short log's pipeline busy from the start, large ones keep a
  // long log from piling up level-0 files faster than compaction drains them
  // (doubling every eight loads, a 10M-event log stalled writes on 20+
  // level-0 files: 38 s instead of 31 s).
  size_t LoadEntries() const {
    size_t n = entries_per_load_;
    for (size_t i = 4; i <= handed_off_ && n < kRebuildMaxEntries; i += 4) n *= 2;
    return std::min(n, std::max(entries_per_load_, kRebuildMaxEntries));
  }
  // Turns auto compaction back on for the keyspaces paused (see Write()).
  // Call with no load being written. A failure (the OPTIONS file cannot be
  // written: a full disk) is reported, not returned: the projections are
  // complete and correct, and the next open of the store starts with
  // compaction on again.
  void ResumeCompaction() {
    for (size_t i = 0; i < kKeyspaceCount; ++i) {
      if (!paused_[i]) continue;
      auto s = impl_->db->SetOptions(impl_->projections[i], {{"disable_auto_compactions", "false"}});
      if (!s.ok()) {
        std::fprintf(stderr,
                     "tokenlog: auto compaction of %s could not be turned back on after a "
                     "rebuild (%s); it stays off until the store is opened again\n",
                     std::string(KeyspaceName(static_cast<Keyspace>(i))).c_str(),
                     s.ToString().c_str());
      }
      paused_[i] = false;
    }
    resumed_ = true;
  }
  // Writes and ingests everything pending, and waits for it.
  Status Drain() {
    TL_RETURN_IF_ERROR(HandOff());
    return Wait();
  }
  // Loads handed to the writer so far.
  size_t loads() const { return handed_off_; }

 private:
  // One keyspace's pending rows.
  class Rows {
   public:
    static constexpr size_t kHead = 44;  // key bytes held in the row itself
    static constexpr uint32_t kDeleted = UINT32_MAX;
    struct Ref {
      uint32_t key_off, value_off, value_len;
    };
    // `key_in_arena`: also copy the key to the arena (for an index that
    // reads keys back while the rows are being sorted).
    Ref Add(std::string_view key, std::optional<std::string_view> value, bool key_in_arena) {
      Row r;
      std::memset(r.head.data(), 0, kHead);
      std::memcpy(r.head.data(), key.data(), std::min(key.size(), kHead));
      // A key that fits in the head is read back from it.
      r.key_off = key.size() > kHead || key_in_arena ? Append(key) : 0;
      r.key_len = static_cast<uint32_t>(key.size());
      r.value_off = value ? Append(*value) : 0;
      r.value_len = value ? static_cast<uint32_t>(value->size()) : kDeleted;
      r.arrival = static_cast<uint32_t>(rows_.size());
      rows_.push_back(r);
      return Ref{r.key_off, r.value_off, r.value_len};
    }
    std::string_view At(uint32_t off, uint32_t len) const {
      return len == 0 ? std::string_view() : std::string_view(arena_.get() + off, len);
    }
    bool empty() const { return rows_.empty(); }
    // Keeps the memory for the next load: on virtual machines the first
    // touch of fresh memory is slow (a host fault per page, measured at
    // ~1 GB/s here, 20x slower than reusing it).
    void Clear() {
      rows_.clear();
      arena_size_ = 0;
    }
    // Room for as many rows and arena bytes as `other` holds, and an eighth
    // more, without regrowing (growth copies, and touches fresh memory
    // twice). Sized from a load actually filled, not from a bound.
    void ReserveLike(const Rows& other) {
      rows_.reserve(other.rows_.size() + other.rows_.size() / 8);
      const size_t bytes = other.arena_size_ + other.arena_size_ / 8;
      if (arena_.size() < bytes) GrowArena(bytes);
    }
    // Sorts by key, then arrival (most keyspaces arrive sorted already: the
    // audit and tenant indexes are in seq order); writes the last row of
    // each key.
    struct Scratch;
    rocksdb::Status WriteTo(rocksdb::SstFileWriter& writer, Scratch& scratch) {
      // Most comparisons are decided by the 8 bytes past the prefix that
      // all heads share, compared as one integer (comparing whole heads with
      // memcmp was a sixth of a rebuild's CPU).
      const size_t shared = SharedHead();
      auto before = [this, shared](const Row& a, const Row& b) {
        if (uint64_t wa = Word(a, shared), wb = Word(b, shared); wa != wb) return wa < wb;
        if (int c = std::memcmp(a.head.data(), b.head.data(), kHead); c != 0) return c < 0;
        if (a.key_len != b.key_len || a.key_len > kHead) {
          if (int c = Key(a).compare(Key(b)); c != 0) return c < 0;
        }
        return a.arrival < b.arrival;
      };
      const bool arrived_sorted = std::is_sorted(rows_.begin(), rows_.end(), before);
      if (!arrived_sorted) Sort(shared, before, scratch);
      // Rows that arrived sorted read the arena in order. Sorted ones address
      // it in random order: their values are first gathered in key order by
      // a tight loop, which keeps many cache misses in flight, and then
      // written from there in sequence. (Prefetching a few rows ahead in the
      // writing loop instead left a quarter of the writers' time in copies
      // waiting on the arena; gathering first: rebuild CPU -13%, 5 A/B pairs.)
      // They are gathered kGatherRows at a time, into a buffer of the
      // writing thread's that stays small.
      constexpr size_t kGatherRows = 32768;
      const char* gathered = nullptr;
      rocksdb::Status s;
      for (size_t i = 0; s.ok() && i < rows_.size(); ++i) {
        if (!arrived_sorted && i % kGatherRows == 0) {
          gathered = Gather(scratch, i, std::min(rows_.size(), i + kGatherRows));
        }
        const Row& r = rows_[i];
        const uint32_t len = r.value_len == kDeleted ? 0 : r.value_len;
        const char* value = gathered != nullptr ? gathered : arena_.get() + r.value_off;
        if (gathered != nullptr) gathered += len;
        if (i + 8 < rows_.size() && rows_[i + 8].key_len > kHead) {
          __builtin_prefetch(arena_.get() + rows_[i + 8].key_off);
        }
        if (i + 1 < rows_.size() && Key(rows_[i + 1]) == Key(r)) continue;  // superseded
        std::string_view key = Key(r);
        rocksdb::Slice k(key.data(), key.size());
        s = r.value_len == kDeleted ? writer.Delete(k) : writer.Put(k, rocksdb::Slice(value, len));
      }
      return s;
    }

   private:
    static constexpr size_t kMinArena = size_t{1} << 20;
    struct Row {
      std::array<char, kHead> head;
      uint32_t key_off, key_len, value_off, value_len, arrival;
    };
    uint32_t Append(std::string_view bytes) {
      if (bytes.empty()) return static_cast<uint32_t>(arena_size_);
      if (arena_size_ + bytes.size() > arena_.size()) {
        GrowArena(std::max({arena_.size() * 2, arena_size_ + bytes.size(), kMinArena}));
      }
      auto at = static_cast<uint32_t>(arena_size_);
      std::memcpy(arena_.get() + arena_size_, bytes.data(), bytes.size());
      arena_size_ += bytes.size();
      return at;
    }
    // Moves the arena's bytes to a new one of `capacity` bytes (offsets stay
    // valid).
    void GrowArena(size_t capacity) {
      HugeBuffer grown(capacity);
      if (arena_size_ > 0) std::memcpy(grown.get(), arena_.get(), arena_size_);
      arena_ = std::move(grown);
    }
    // The length of the prefix that all rows' heads share, at most kHead - 8.
    // Heads are zero-padded, so comparing heads never contradicts comparing
    // keys; past a prefix that all heads share, neither do the next 8 bytes.
    size_t SharedHead() const {
      size_t shared = kHead - 8;
      if (rows_.empty()) return shared;
      const char* first = rows_[0].head.data();
      for (const Row& r : rows_) {
        if (shared == 0) break;
        if (std::memcmp(r.head.data(), first, shared) != 0) {
          const char* differs = std::mismatch(first, first + shared, r.head.data()).first;
          shared = static_cast<size_t>(differs - first);
        }
      }
      return shared;
    }
    // The 8 head bytes at `at` as a big-endian integer: integers compare as
    // the bytes do.
    static uint64_t Word(const Row& r, size_t at) {
      const auto* b = reinterpret_cast<const unsigned char*>(r.head.data()) + at;
      uint64_t w = 0;
      for (size_t i = 0; i < 8; ++i) w = w << 8 | b[i];
      return w;
    }
    std::string_view Key(const Row& r) const {
      if (r.key_len <= kHead) return {r.head.data(), r.key_len};
      return {arena_.get() + r.key_off, r.key_len};
    }

    // Sorts the rows by `before`: a radix sort of (Word, row) pairs, which
    // is stable, so rows whose Words tie stay in arrival order and are
    // sorted by `before` only when they are not in its order already (rows
    // of one user, say), then the rows are moved into that order. (std::sort
    // of the 64-byte rows was a fifth of the writers' time.)
    template <typename Before>
    void Sort(size_t shared, const Before& before, Scratch& scratch) {
      const size_t n = rows_.size();
      auto& order = scratch.order;
      auto& spare = scratch.order_spare;
      order.resize(n);
      spare.resize(n);
      for (size_t i = 0; i < n; ++i) order[i] = Ranked{Word(rows_[i], shared), static_cast<uint32_t>(i)};
      // Least significant byte first; a byte that every Word shares is
      // skipped.
      for (size_t shift = 0; shift < 64; shift += 8) {
        std::array<size_t, 257> count{};
        for (const Ranked& r : order) ++count[((r.word >> shift) & 0xFF) + 1];
        if (std::find(count.begin() + 1, count.end(), n) != count.end()) continue;
        for (size_t b = 1; b < count.size(); ++b) count[b] += count[b - 1];
        for (const Ranked& r : order) spare[count[(r.word >> shift) & 0xFF]++] = r;
        order.swap(spare);
      }
      auto by_row = [&](const Ranked& a, const Ranked& b) { return before(rows_[a.row], rows_[b.row]); };
      for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && order[b].word == order[a].word;) ++b;
        if (b - a > 1 && !std::is_sorted(order.begin() + a, order.begin() + b, by_row)) {
          std::sort(order.begin() + a, order.begin() + b, by_row);
        }
      }
      // Into the scratch rows, which then trade places with these: every
      // Rows keeps one buffer of rows, each writing thread one more.
      auto& sorted = scratch.rows;
      sorted.resize(n);
      constexpr size_t kAhead = 16;
      for (size_t i = 0; i < n; ++i) {
        if (i + kAhead < n) __builtin_prefetch(&rows_[order[i + kAhead].row]);
        sorted[i] = rows_[order[i].row];
      }
      rows_.swap(sorted);
    }

    // Copies the values of rows [from, to), in row order, to the scratch's
    // buffer; returns it.
    const char* Gather(Scratch& scratch, size_t from, size_t to) {
      size_t total = 0;
      for (size_t i = from; i < to; ++i) {
        total += rows_[i].value_len == kDeleted ? 0 : rows_[i].value_len;
      }
      if (scratch.gathered.size() < total) scratch.gathered = HugeBuffer(total + total / 8);
      constexpr size_t kAhead = 16;
      char* out = scratch.gathered.get();
      for (size_t i = from; i < to; ++i) {
        if (i + kAhead < to) {
          const Row& ahead = rows_[i + kAhead];
          if (ahead.value_len != kDeleted) {
            for (uint32_t line = 0; line < ahead.value_len; line += 64) {
              __builtin_prefetch(arena_.get() + ahead.value_off + line);
            }
          }
        }
        const Row& r = rows_[i];
        if (r.value_len == kDeleted || r.value_len == 0) continue;
        std::memcpy(out, arena_.get() + r.value_off, r.value_len);
        out += r.value_len;
      }
      return scratch.gathered.get();
    }

    // On huge pages once large (core/huge_pages.h): a load fills a few
    // hundred MB of rows and arenas on the applying thread, page by page.
    std::vector<Row, HugePageAllocator<Row>> rows_;
    HugeBuffer arena_;  // values, and keys longer than the head
    size_t arena_size_ = 0;
    struct Ranked {
      uint64_t word;
      uint32_t row;
    };

   public:
    // Buffers for sorting and writing rows, one set per writing thread (not
    // per keyspace and load: that doubled a rebuild's peak memory), kept
    // from load to load.
    struct Scratch {
      std::vector<Ranked, HugePageAllocator<Ranked>> order, order_spare;
      std::vector<Row, HugePageAllocator<Row>> rows;
      HugeBuffer gathered;  // values in key order
    };
  };

  // Key -> the latest row of `tokens` in a load (open addressing, linear
  // probing; slots hold arena offsets, so sorting the rows leaves it valid).
  class TokenIndex {
   public:
    // The latest value (nullopt: deleted), or no entry when the key is not
    // in this load.
    std::optional<std::optional<std::string>> Find(std::string_view key, const Rows& rows) const {
      if (slots_.empty()) return std::nullopt;
      const size_t mask = slots_.size() - 1;
      const uint32_t hash = Hash(key);
      for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (slot.key_len == kEmpty) return std::nullopt;
        if (slot.hash == hash && rows.At(slot.key_off, slot.key_len) == key) {
          if (slot.value_len == Rows::kDeleted) return std::optional<std::string>();
          return std::optional<std::string>(std::string(rows.At(slot.value_off, slot.value_len)));
        }
      }
    }
    void Set(std::string_view key, Rows::Ref ref, const Rows& rows) {
      if ((size_ + 1) * 2 > slots_.size()) Grow();
      const size_t mask = slots_.size() - 1;
      const uint32_t hash = Hash(key);
      for (size_t i = hash & mask;; i = (i + 1) & mask) {
        Slot& slot = slots_[i];
        if (slot.key_len == kEmpty) {
          slot = Slot{hash, ref.key_off, static_cast<uint32_t>(key.size()), ref.value_off,
                      ref.value_len};
          ++size_;
          return;
        }
        if (slot.hash == hash && rows.At(slot.key_off, slot.key_len) == key) {
          slot.value_off = ref.value_off;
          slot.value_len = ref.value_len;
          return;
        }
      }
    }
    void Clear() {
      if (size_ > 0) std::fill(slots_.begin(), slots_.end(), Slot{});
      size_ = 0;
    }
    // Starts loading the slot where a lookup of `key` begins.
    void Prefetch(std::string_view key) const {
      if (!slots_.empty()) __builtin_prefetch(&slots_[Hash(key) & (slots_.size() - 1)]);
    }

   private:
    static constexpr uint32_t kEmpty = UINT32_MAX;
    struct Slot {
      uint32_t hash = 0, key_off = 0, key_len = kEmpty, value_off = 0, value_len = 0;
    };
    static uint32_t Hash(std::string_view key) {
      return static_cast<uint32_t>(std::hash<std::string_view>()(key));
    }
    void Grow() {
      auto old = std::move(slots_);
      slots_.assign(std::max<size_t>(old.size() * 2, 1024), Slot{});
      const size_t mask = slots_.size() - 1;
      for (const Slot& slot : old) {
        if (slot.key_len == kEmpty) continue;
        size_t i = slot.hash & mask;
        while (slots_[i].key_len != kEmpty) i = (i + 1) & mask;
        slots_[i] = slot;
      }
    }
    std::vector<Slot, HugePageAllocator<Slot>> slots_;
    size_t size_ = 0;
  };

  struct Load {
    std::array<Rows, kKeyspaceCount> rows;
    TokenIndex tokens;
    size_t entries = 0;
    // At least the bytes of keys and values pending (rows address their
    // keyspace's arena with 32-bit offsets: keep this well under 4 GiB).
    size_t bytes = 0;

    void Add(Keyspace ks, std::string_view key, std::optional<std::string_view> value) {
      bytes += key.size() + (value ? value->size() : 0);
      ++entries;
      Rows& r = rows[static_cast<size_t>(ks)];
      if (ks == Keyspace::kTokens) {
        tokens.Set(key, r.Add(key, value, /*key_in_arena=*/true), r);
      } else {
        r.Add(key, value, /*key_in_arena=*/false);
      }
    }
    std::optional<std::optional<std::string>> FindToken(std::string_view key) const {
      return tokens.Find(key, rows[static_cast<size_t>(Keyspace::kTokens)]);
    }
    void Clear() {
      for (auto& r : rows) r.Clear();
      tokens.Clear();
      entries = 0;
      bytes = 0;
    }
  };

  Status HandOff() {
    TL_RETURN_IF_ERROR(Wait());
    if (current_->entries == 0) return Status();
    in_flight_ = current_;
    current_ = current_ == &loads_[0] ? &loads_[1] : &loads_[0];
    current_->Clear();
    for (size_t i = 0; i < kKeyspaceCount; ++i) current_->rows[i].ReserveLike(in_flight_->rows[i]);
    ++handed_off_;
    auto write = [this, load = in_flight_, n = handed_off_] {
      try {
        written_ = Write(*load, n);
      } catch (const std::exception& e) {  // bad_alloc, system_error
        written_ = rocksdb::Status::Aborted("bulk load", e.what());
      }
    };
    try {
      writer_ = std::thread(write);
    } catch (const std::system_error&) {
      write();  // no thread to be had: write this load here, then go on
    }
    return Status();
  }
  // Waits for the load being written; its status.
  Status Wait() {
    if (writer_.joinable()) writer_.join();
    in_flight_ = nullptr;
    rocksdb::Status s = std::move(written_);
    written_ = rocksdb::Status();
    if (!s.ok()) return FromRocks(s, "bulk-loading projections");
    return Status();
  }

  // Sorts and writes one SST file per keyspace of `load` (two threads), then
  // ingests them together.
  rocksdb::Status Write(Load& load, size_t n) {
    std::array<rocksdb::Status, kKeyspaceCount> written;
    std::atomic<size_t> next{0};
    auto work = [&](Rows::Scratch& scratch) {
      for (size_t i; (i = next.fetch_add(1)) < kKeyspaceCount;) {
        if (load.rows[i].empty()) continue;
        try {
          written[i] = WriteFile(load.rows[i], i, FilePath(i, n), scratch);
        } catch (const std::exception& e) {  // bad_alloc
          written[i] = rocksdb::Status::Aborted("writing a bulk-load file", e.what());
        }
      }
    };
    std::thread helper;
    try {
      helper = std::thread(work, std::ref(scratch_[1]));
    } catch (const std::system_error&) {
      // One thread does all the keyspaces.
    }
    work(scratch_[0]);
    if (helper.joinable()) helper.join();

    // Loads after the first overlap earlier ones in level 0; compacting them
    // meanwhile took a quarter of a rebuild's CPU, so a keyspace's auto
    // compaction is paused from its first load until the rebuild is done
    // (RocksDB then compacts in the background; reads are correct either
    // way). Past kPausedLoads loads it resumes, so that a long log cannot
    // pile up enough level-0 files to stall writes once the rebuild is done.
    // Only the keyspaces loaded are paused, here on the writer's thread:
    // each SetOptions call writes RocksDB's OPTIONS file (pausing and
    // resuming all eleven before and after the load was ~0.08 s, alone on
    // one core).
    if (n >= kPausedLoads && !resumed_) {
      ResumeCompaction();
    } else if (!resumed_) {
      for (size_t i = 0; i < kKeyspaceCount; ++i) {
        if (load.rows[i].empty() || paused_[i]) continue;
        // A failure only leaves compaction running during the rebuild.
        paused_[i] = impl_->db->SetOptions(impl_->projections[i],
                                           {{"disable_auto_compactions", "true"}}).ok();
      }
    }
    std::vector<rocksdb::IngestExternalFileArg> args;
    for (size_t i = 0; i < kKeyspaceCount; ++i) {
      if (load.rows[i].empty()) continue;
      if (!written[i].ok()) return written[i];
      rocksdb::IngestExternalFileArg arg;
      arg.column_family = impl_->projections[i];
      arg.external_files = {FilePath(i, n)};
      arg.options.move_files = true;
      args.push_back(std::move(arg));
    }
    if (args.empty()) return rocksdb::Status();
    return impl_->db->IngestExternalFiles(args);
  }

  std::string FilePath(size_t keyspace, size_t load) const {
    return dir_ + "/" + std::to_string(keyspace) + "-" + std::to_string(load) + ".sst";
  }

  // Without dropping the written pages from the page cache (ingestion and
  // the first reads want them). A keyspace that was cleared with a range
  // tombstone gets its files in level 0 (they overlap the tombstone), which
  // background compaction rewrites compressed and filtered: those are
  // written uncompressed, since compressing them was a tenth of a rebuild's
  // CPU spent on bytes read back once, and without bloom filters. A keyspace that was empty (a new store,
  // a backup's copy) gets its first files in the lowest levels, where
  // nothing would rewrite them: those keep the keyspace's compression.
  rocksdb::Status WriteFile(Rows& rows, size_t keyspace, const std::string& path,
                            Rows::Scratch& scratch) {
    rocksdb::Options options(impl_->db->GetDBOptions(), impl_->projection_options[keyspace]);
    if (cleared_[keyspace]) {
      options.compression = rocksdb::kNoCompression;
      options.compression_per_level.clear();
      options.bottommost_compression = rocksdb::kDisableCompressionOption;
      // Nor a bloom filter: compaction rewrites these files with one (soon
      // after a long rebuild; a small store may keep them until its next
      // writes), and until then a point read checks a few more index blocks
      // (building the filters was ~8% of a rebuild's CPU, 5 A/B pairs).
      if (const auto* t = options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
          t != nullptr && t->filter_policy != nullptr) {
        rocksdb::BlockBasedTableOptions unfiltered = *t;
        unfiltered.filter_policy.reset();
        options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(unfiltered));
      }
    }
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, impl_->projections[keyspace],
                                  /*invalidate_page_cache=*/false);
    auto s = writer.Open(path);
    if (s.ok()) s = rows.WriteTo(writer, scratch);
    if (s.ok()) s = writer.Finish();
    return s;
  }

  const EventStore::Impl* impl_;
  DbReader stored_;  // what earlier loads wrote
  const size_t entries_per_load_;
  const std::string dir_;
  const std::array<bool, kKeyspaceCount> cleared_;
  std::array<Load, 2> loads_;
  std::array<Rows::Scratch, 2> scratch_;  // one for each thread writing a load
  Load* current_ = &loads_[0];  // being filled by apply()
  Load* in_flight_ = nullptr;   // being written by writer_
  std::thread writer_;
  rocksdb::Status written_;  // writer_'s result; read after joining it
  size_t handed_off_ = 0;
  // Keyspaces whose auto compaction this rebuild turned off; true once it
  // has been turned back on for good. Written by the thread writing a load,
  // or with none being written.
  std::array<bool, kKeyspaceCount> paused_{};
  bool resumed_ = false;
};

// Decoded events in batches, handed from a reading thread to the thread
// that applies them (a rebuild decodes one step ahead of apply()). Bounded:
// the reader waits when `kDepth` batches are waiting. Batches go back to the
// reader with their events, which the next events are decoded over: their
// strings' memory is reused, not allocated by one thread and freed by the
// other for each event.
class DecodedBatches {
 public:
  static constexpr size_t kBatch = 4096;
  static constexpr size_t kDepth = 4;

  struct Batch {
    std::vector<Event> events;  // the first `size` are this batch's
    size_t size = 0;
    // The slot for the next event (decode over it, then Commit).
    Event& Next() {
      if (size == events.size()) events.emplace_back();
      return events[size];
    }
    void Commit() { ++size; }
  };

  // Reader side: false when the consumer has stopped. `batch` comes back
  // empty (size 0), with a recycled batch's events when there is one.
  bool Push(Batch& batch) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return full_.size() < kDepth || stopped_; });
    if (stopped_) return false;
    full_.push_back(std::move(batch));
    batch = Batch();
    if (!spare_.empty()) {
      batch = std::move(spare_.back());
      spare_.pop_back();
    }
    cv_.notify_all();
    return true;
  }
  void Finish(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    status_ = std::move(status);
    cv_.notify_all();
  }
  // Consumer side: the next batch into `batch` (the old one goes back to the
  // reader); false when the reader is done (then see status()).
  bool Pop(Batch& batch) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!batch.events.empty()) {
      batch.size = 0;
      spare_.push_back(std::move(batch));
    }
    cv_.wait(lock, [&] { return !full_.empty() || finished_; });
    if (full_.empty()) return false;
    batch = std::move(full_.front());
    full_.pop_front();
    cv_.notify_all();
    return true;
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  Status status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> full_;
  std::vector<Batch> spare_;
  bool finished_ = false;
  bool stopped_ = false;
  Status status_;
};

// Seq, time and the hash chain for `e`, following `head`; then `head` moves.
void Chain(Event& e, LogHead& head, int64_t now) {
  e.seq = head.seq + 1;
  e.time = now;
  e.prev_hash = head.hash;
  e.hash = ComputeEventHash(e);
  head = LogHead{e.seq, e.hash, e.time};
}

}  // namespace

// One Execute() call: lives on its caller's stack until the caller's group is
// done. The writer sets `result`, then no longer touches it.
struct EventStore::Pending {
  DecideFn decide;
  std::optional<Result<std::vector<Event>>> result;
};

// The commands appended by one synced write. Their callers all wait on
// `done`, and the writer wakes them with one system call. (A std::promise
// per command cost three futex calls: its set_value made two, one for its
// call_once and one for the wake, and the caller's wait one.)
struct EventStore::Group {
  std::vector<Pending*> members;  // GUARDED_BY(mu_) until the writer takes the group
  std::atomic<uint32_t> done{0};  // 1 once every member's result is set
};

namespace {

// A futex on `word` (Linux): sleeps while it is 0; wakes every sleeper.
void WaitWhileZero(std::atomic<uint32_t>& word) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  while (word.load(std::memory_order_acquire) == 0) {
    // Returns at once (EAGAIN) when the word is no longer 0; EINTR and
    // spurious wake-ups loop back to the check.
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, 0, nullptr,
              nullptr, 0);
  }
}

void SetAndWakeAll(std::atomic<uint32_t>& word) {
  word.store(1, std::memory_order_release);
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
}

}  // namespace

bool EventStore::HoldsStore(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec);
}

namespace {

// What RocksDB leaves of a store whose creation was cut short (killed, disk
// full) before it wrote CURRENT: its lock, identity, info logs, a manifest
// and options. Its write-ahead log comes after CURRENT (and RocksDB refuses
// to create a store beside one), so no write was acknowledged in it.
bool LeftByFailedCreate(const std::string& name) {
  return name == "LOCK" || name == "IDENTITY" || name == "LOG" || name.rfind("LOG.old.", 0) == 0 ||
         name.rfind("MANIFEST-", 0) == 0 || name.rfind("OPTIONS-", 0) == 0;
}

// Refuses the RocksDB database at `dir` unless it is a tokenlog store: one
// with the events and meta column families, or one whose creation was cut
// short before they were added (then every column family is one of ours and
// `default`, which tokenlog never writes, is empty). Another application's
// database (a mistyped --data) must never get our column families. `names`:
// the column families present; no database there is not refused.
Status RefuseForeignStore(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, names).ok()) return Status();
  auto has = [names](std::string_view name) {
    return std::find(names->begin(), names->end(), name) != names->end();
  };
  if (has(kEventsCf) && has(kMetaCf)) return Status();
  const Status foreign(Code::kInvalidRequest,
                       dir + " holds a RocksDB database that is not tokenlog's (it has no events "
                             "and meta column families); not opening it");
  for (const auto& name : *names) {
    bool ours = name == rocksdb::kDefaultColumnFamilyName || name == kEventsCf || name == kMetaCf;
    for (size_t i = 0; i < kKeyspaceCount && !ours; ++i) {
      ours = name == KeyspaceName(static_cast<Keyspace>(i));
    }
    if (!ours) return foreign;
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Options options;
  options.info_log = std::make_shared<StderrLogger>();
  if (!rocksdb::DB::OpenForReadOnly(options, dir, &db).ok()) return foreign;
  std::unique_ptr<rocksdb::DB> close(db);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekToFirst();
  if (it->Valid() || !it->status().ok()) return foreign;
  return Status();
}

}  // namespace

Status EventStore::CheckNewStoreDirectory(const std::string& dir,
                                          std::initializer_list<std::string_view> also_allowed) {
  if (HoldsStore(dir)) {
    std::vector<std::string> names;
    return RefuseForeignStore(dir, &names);
  }
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (LeftByFailedCreate(name) ||
        std::find(also_allowed.begin(), also_allowed.end(), name) != also_allowed.end()) {
      continue;
    }
    return Status(Code::kInvalidRequest,
                  "the data directory " + dir + " holds no tokenlog store (no CURRENT file) and "
                  "is not empty (" + name + "): refusing to create a store among other files; "
                  "pass a new or empty directory, or the directory of an existing store");
  }
  if (ec) return Status(Code::kUnavailable, "cannot read the data directory " + dir + ": " +
                                                ec.message());
  return Status();
}

Result<std::unique_ptr<EventStore>> EventStore::Open(const std::string& path, OpenMode mode,
                                                     const Projector& projector,
                                                     const Clock& clock) {
  auto impl = std::make_unique<Impl>();
  impl->read_only = mode != OpenMode::kReadWrite;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Keyspaces read only by prefix scans gain nothing from a whole-key bloom
  // filter; building one costs every flush and every rebuild.
  rocksdb::BlockBasedTableOptions scan_table = table;
  scan_table.filter_policy.reset();
  rocksdb::ColumnFamilyOptions scan_cf;
  scan_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(scan_table));
  for (size_t i = 0; i < kKeyspaceCount; ++i) {
    impl->projection_options[i] = IsPointRead(static_cast<Keyspace>(i)) ? cf : scan_cf;
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !impl->read_only;
  db_options.create_missing_column_families = !impl->read_only;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.info_log = std::make_shared<StderrLogger>();
  db_options.keep_log_file_num = 4;
  // No preallocation: with it a full disk went unnoticed for megabytes of
  // appends and then failed all at once; without it the first append that
  // does not fit fails (503) and nothing else is affected.
  db_options.allow_fallocate = false;
  // Bounds what a start-up after a crash replays: past this much write-ahead
  // log, the column families holding its oldest part are flushed.
  db_options.max_total_wal_size = 64 << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf);
  descriptors.emplace_back(kEventsCf, cf);
  descriptors.emplace_back(kMetaCf, cf);
  for (size_t i = 0; i < kKeyspaceCount; ++i) {
    descriptors.emplace_back(std::string(KeyspaceName(static_cast<Keyspace>(i))),
                             impl->projection_options[i]);
  }
  // The column families already there, if `path` holds a database.
  std::vector<std::string> names;
  TL_RETURN_IF_ERROR(RefuseForeignStore(path, &names));
  // A store written by an earlier version may lack a projection added
  // since, and one whose creation was cut short may lack any (only a
  // writable open creates them): say what to do rather than RocksDB's
  // "column family not found".
  if (impl->read_only && !names.empty()) {
    for (const auto& d : descriptors) {
      if (std::find(names.begin(), names.end(), d.name) == names.end()) {
        return Status(Code::kUnavailable,
                      "the store has no " + d.name + " column family yet (an earlier version "
                      "wrote it, or its creation was cut short); run `tokenlog rebuild` or start "
                      "`tokenlog serve` on it once");
      }
    }
  }
  rocksdb::Status s;
  if (mode == OpenMode::kSecondary) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tokenlog-secondary-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Status(Code::kUnavailable, "cannot create a directory for the secondary instance");
    }
    // RocksDB puts only its info log there, and that goes to stderr
    // (info_log above; this depends on it): the instance needs the name, not
    // the directory, which is mkdtemp's only to pick an unused name. It
    // is removed before the open, so that a tool killed or cut off by a
    // closed pipe (`events | head`) leaves nothing in /tmp; removing it at
    // close left one per killed tool.
    std::error_code ec;
    std::filesystem::remove(tmpl, ec);
    db_options.max_open_files = -1;  // required by secondary instances
    s = rocksdb::DB::OpenAsSecondary(db_options, path, tmpl, descriptors, &impl->handles,
                                     &impl->db);
    if (s.ok()) s = impl->db->TryCatchUpWithPrimary();
  } else if (impl->read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &impl->handles, &impl->db);
  } else {
    s = rocksdb::DB::Open(db_options, path, descriptors, &impl->handles, &impl->db);
  }
  if (!s.ok()) return FromRocks(s, "cannot open the data directory " + path);
  impl->events = impl->handles[1];
  impl->meta = impl->handles[2];
  for (size_t i = 0; i < kKeyspaceCount; ++i) impl->projections[i] = impl->handles[3 + i];

  std::unique_ptr<EventStore> store(new EventStore());
  store->projector_ = &projector;
  store->clock_ = &clock;
  store->impl_ = std::move(impl);
  store->committed_ = std::make_unique<DbReader>(store->impl_.get());

  // The head of the log is its last event; the meta head and schema say
  // whether the projections were written for exactly that log.
  rocksdb::DB* db = store->impl_->db;
  LogHead log_head;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(),
                                                          store->impl_->events));
    it->SeekToLast();
    if (!it->status().ok()) return FromRocks(it->status(), "reading the log");
    if (it->Valid()) {
      TL_ASSIGN_OR_RETURN(Event last,
                          DecodeEvent(std::string_view(it->value().data(), it->value().size())));
      log_head = LogHead{last.seq, last.hash, last.time};
    }
  }
  std::string raw_head, raw_schema;
  bool current = false;
  if (db->Get(rocksdb::ReadOptions(), store->impl_->meta, kHeadKey, &raw_head).ok() &&
      db->Get(rocksdb::ReadOptions(), store->impl_->meta, kSchemaKey, &raw_schema).ok()) {
    auto meta_head = DecodeHead(raw_head);
    current = meta_head.ok() && *meta_head == log_head && raw_schema == EncodeU64(kProjectionSchema);
  } else {
    current = log_head.seq == 0;
  }
  store->head_ = log_head;
  if (!db->Get(rocksdb::ReadOptions(), store->impl_->meta, kPagingKey, &store->paging_key_).ok() &&
      !store->impl_->read_only) {
    uint8_t key[32];
    CryptoRandom random;
    if (!random.Fill(key, sizeof(key))) return Status(Code::kUnavailable, "no randomness");
    store->paging_key_.assign(reinterpret_cast<const char*>(key), sizeof(key));
    rocksdb::WriteOptions synced;
    synced.sync = true;
    auto s = db->Put(synced, store->impl_->meta, kPagingKey, store->paging_key_);
    if (!s.ok()) return FromRocks(s, "writing meta");
  }
  if (!current) {
    if (store->impl_->read_only) {
      return Status(Code::kUnavailable,
                    "the projections are not current with the log; run `tokenlog rebuild`");
    }
    TL_RETURN_IF_ERROR(store->Rebuild());
  }
  if (!store->impl_->read_only) store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

EventStore::~EventStore() { Close(); }

void EventStore::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (!writer_.joinable()) return;
  writer_.join();
  // Flush the memtables, so that the next open has no log to replay (after
  // a million appends that replay took 13-15 s of start-up). Best effort: a
  // failure (a full disk) only means the next open replays, as after a crash.
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(impl_->handles.begin(), impl_->handles.end());
  rocksdb::FlushOptions flush;
  flush.allow_write_stall = true;  // never wait for compactions at shutdown
  (void)impl_->db->Flush(flush, cfs);
}

LogHead EventStore::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

size_t EventStore::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& group : queue_) n += group->members.size();
  return n;
}

uint64_t EventStore::EstimateEntries(Keyspace ks) const {
  uint64_t n = 0;
  if (!impl_->db->GetIntProperty(impl_->projection(ks), "rocksdb.estimate-num-keys", &n)) return 0;
  return n;
}

bool EventStore::BackgroundWorkPending() const {
  uint64_t n = 0;
  for (const char* running : {"rocksdb.num-running-compactions", "rocksdb.num-running-flushes"}) {
    if (impl_->db->GetIntProperty(running, &n) && n > 0) return true;
  }
  for (auto* cf : impl_->handles) {
    for (const char* due : {"rocksdb.compaction-pending", "rocksdb.mem-table-flush-pending"}) {
      if (impl_->db->GetIntProperty(cf, due, &n) && n > 0) return true;
    }
  }
  return false;
}

bool EventStore::TryRecover() {
  uint64_t failures;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (impl_->read_only || stopping_) return false;
    if (writable_) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_recovery_ < std::chrono::seconds(1)) return false;
    last_recovery_ = now;
    failures = write_failures_;
  }
  {
    std::lock_guard<std::mutex> resume(resume_mu_);
    if (!impl_->db->Resume().ok()) return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  // A write that failed while RocksDB resumed needs another recovery.
  if (write_failures_ == failures) writable_ = true;
  return writable_ && !stopping_;
}

bool EventStore::writable() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writable_ && !impl_->read_only && !stopping_;
}

void EventStore::SetCommitListener(CommitListener listener) { listener_ = std::move(listener); }

Result<std::vector<Event>> EventStore::Execute(DecideFn decide) {
  Pending pending{std::move(decide), std::nullopt};
  std::shared_ptr<Group> group;  // keeps `done` alive until this caller has read it
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || impl_->read_only) {
      return Status(Code::kUnavailable, "the event log is not accepting writes");
    }
    if (queue_.empty() || queue_.back()->members.size() >= kMaxGroup) {
      queue_.push_back(std::make_shared<Group>());
    }
    group = queue_.back();
    group->members.push_back(&pending);
  }
  cv_.notify_one();
  WaitWhileZero(group->done);
  return std::move(*pending.result);
}

void EventStore::WriterLoop() {
  for (;;) {
    std::shared_ptr<Group> group;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      group = std::move(queue_.front());
      queue_.pop_front();
    }
    RunGroup(group->members);
    // The members' stacks may be gone from here on; `group` is ours.
    SetAndWakeAll(group->done);
  }
}

void EventStore::RunGroup(const std::vector<Pending*>& group) {
  rocksdb::WriteBatchWithIndex batch(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true);
  BatchView view(impl_.get(), &batch);
  LogHead head = this->head();
  const LogHead group_start = head;
  std::vector<std::optional<Result<std::vector<Event>>>> results(group.size());
  std::vector<Event> committed;
  // The first member whose events the batch holds: every decision after it
  // read state that is stored only if the write succeeds.
  size_t first_append = group.size();

  for (size_t i = 0; i < group.size(); ++i) {
    batch.SetSavePoint();
    const LogHead saved = head;
    int64_t now = std::max(clock_->NowMillis(), head.time);
    Result<std::vector<Event>> decided = group[i]->decide(view, now);
    Status failed;
    if (!decided.ok()) {
      failed = decided.status();
    } else {
      for (Event& e : *decided) {
        Chain(e, head, now);
        std::string key = EncodeU64(e.seq);
        batch.Put(impl_->events, key, EncodeEvent(e));
        failed = projector_->Apply(e, view);
        if (!failed.ok()) break;
      }
    }
    if (!failed.ok()) {
      (void)batch.RollbackToSavePoint();
      head = saved;
      results[i] = Result<std::vector<Event>>(failed);
      continue;
    }
    (void)batch.PopSavePoint();
    if (head.seq != saved.seq && first_append == group.size()) first_append = i;
    results[i] = std::move(decided);
  }

  Status write;
  if (head.seq != group_start.seq) {
    // After a failed write RocksDB must recover (a new WAL) before it is
    // written again: writing on through the failed WAL aborts the process
    // (an assertion in RocksDB 7.8). Until Resume() succeeds, refuse.
    bool failed_before;
    {
      std::lock_guard<std::mutex> lock(mu_);
      failed_before = !writable_;
    }
    // Callers get a plain reason; RocksDB's own text (file names, paths)
    // goes to the server's log, once per failure.
    if (failed_before) {
      std::lock_guard<std::mutex> resume(resume_mu_);
      if (!impl_->db->Resume().ok()) {
        write = Status(Code::kUnavailable,
                       "the event log cannot be written yet (storage is recovering); retry later");
      }
    }
    if (write.ok()) {
      batch.Put(impl_->meta, kHeadKey, EncodeHead(head));
      batch.Put(impl_->meta, kSchemaKey, EncodeU64(kProjectionSchema));
      rocksdb::WriteOptions options;
      options.sync = true;
      auto s = impl_->db->Write(options, batch.GetWriteBatch());
      if (!s.ok()) {
        std::fprintf(stderr, "tokenlog: the event log could not be written: %s\n",
                     s.ToString().c_str());
        write = Status(Code::kUnavailable,
                       "the event log could not be written (disk full or an I/O error); retry "
                       "later");
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Only a write says whether the log can be written: a group whose
    // commands were all refused wrote nothing, and must not mark a failed
    // log writable (readiness would say ready, and the next write would skip
    // Resume()).
    if (head.seq != group_start.seq) {
      writable_ = write.ok();
      if (!write.ok()) ++write_failures_;
    }
    if (write.ok()) head_ = head;
  }
  // The listener runs before any caller is answered, so that what a caller
  // reads next (the metrics gauges) already counts its own events. The
  // events are moved to it and back, not copied (a mint's ~6 strings each).
  if (write.ok() && listener_) {
    committed.reserve(group.size());  // most commands log one event
    for (size_t i = 0; i < group.size(); ++i) {
      if (results[i]->ok()) {
        for (Event& e : results[i]->value()) committed.push_back(std::move(e));
      }
    }
    if (!committed.empty()) {
      listener_(committed, BatchWrites(impl_.get(), batch.GetWriteBatch()));
    }
    size_t next = 0;
    for (size_t i = 0; i < group.size(); ++i) {
      if (results[i]->ok()) {
        for (Event& e : results[i]->value()) e = std::move(committed[next++]);
      }
    }
  }
  // After a failed write, a refusal stands only if it was decided on stored
  // state alone: one decided after an append may rest on what was never
  // stored (a sixth mint refused for a fifth that failed), so it gets the
  // write's failure, as every other member does.
  for (size_t i = 0; i < group.size(); ++i) {
    if (write.ok() || (!results[i]->ok() && i < first_append)) {
      group[i]->result = std::move(*results[i]);
    } else {
      group[i]->result = Result<std::vector<Event>>(write);
    }
  }
}

Result<std::optional<Event>> EventStore::ReadEvent(uint64_t seq) const {
  std::string raw;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->events, EncodeU64(seq), &raw);
  TL_ASSIGN_OR_RETURN(std::optional<std::string> found, Found(s, std::move(raw)));
  if (!found) return std::optional<Event>();
  auto e = DecodeEvent(*found);
  if (!e.ok()) return CorruptEvent(seq, e.status());
  return std::optional<Event>(std::move(e).value());
}

Status EventStore::ScanDecoded(uint64_t from_seq,
                               const std::function<bool(const Event&)>& visit) const {
  Status corrupt;
  Event e;  // each event decoded over the last one (its memory reused)
  TL_RETURN_IF_ERROR(ScanEvents(from_seq, [&](uint64_t seq, std::string_view raw) {
    if (auto s = DecodeEventInto(raw, &e); !s.ok()) {
      corrupt = CorruptEvent(seq, s);
      return false;
    }
    return visit(e);
  }));
  return corrupt;
}

Status EventStore::ScanEvents(
    uint64_t from_seq, const std::function<bool(uint64_t, std::string_view)>& visit) const {
  // A long sequential read: blocks read ahead, and kept out of the block
  // cache (they would evict what point reads need, and inserting them cost
  // the scan a tenth of its time).
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(read, impl_->events));
  std::string start = EncodeU64(from_seq);
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return Status(Code::kCorruption, "events key of " + std::to_string(it->key().size()) +
                                           " bytes (expected 8)");
    }
    uint64_t seq = DecodeU64(std::string_view(it->key().data(), 8));
    if (!visit(seq, std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the log");
  return Status();
}

Status EventStore::Rebuild(const std::function<void(uint64_t, uint64_t)>& progress,
                           size_t entries_per_load) {
  if (entries_per_load == 0) entries_per_load = kRebuildEntries;
  if (impl_->read_only) return Status(Code::kUnavailable, "rebuild needs a writable store");
  rocksdb::DB* db = impl_->db;
  // First, durably, the meta head stops claiming that the projections are
  // current: a crash anywhere after this rebuilds again at the next open.
  // (Cleared after the tombstones below, as it was until session 14, a crash
  // between them could keep some tombstones, unsynced, and the head: the
  // next open took the emptied projections for current.)
  rocksdb::WriteOptions synced;
  synced.sync = true;
  if (auto s = db->Delete(synced, impl_->meta, kHeadKey); !s.ok()) {
    return FromRocks(s, "clearing the projection head");
  }
  // Empty every projection with one range tombstone per column family.
  // (Dropping and recreating them would be simpler, but RocksDB 7.8's
  // secondary instances, which the tools use, crash on a MANIFEST that holds
  // dropped column families.)
  std::array<bool, kKeyspaceCount> cleared{};
  for (size_t i = 0; i < kKeyspaceCount; ++i) {
    auto* cf = impl_->projections[i];
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
    it->SeekToLast();
    if (!it->status().ok()) return FromRocks(it->status(), "reading a projection");
    if (!it->Valid()) continue;
    std::string end = it->key().ToString();
    end.push_back('\0');  // just after the last key
    auto s = db->DeleteRange(rocksdb::WriteOptions(), cf, "", end);
    if (!s.ok()) return FromRocks(s, "clearing a projection");
    cleared[i] = true;
  }

  uint64_t total = 0;
  {
    LogHead h = head();
    total = h.seq;
  }
  // The projections are bulk-loaded in chunks; they are in their files
  // before the head says they are current. (The view pauses the keyspaces'
  // compaction while it loads them.)
  RebuildView view(impl_.get(), entries_per_load, cleared);
  TL_RETURN_IF_ERROR(view.Init());
  LogHead head;
  uint64_t done = 0;
  // Three stages on their own threads: reading and decoding the log, apply()
  // (here), and sorting and writing the loads (the view's writer).
  DecodedBatches decoded;
  auto read_log = [&] {
    DecodedBatches::Batch batch;
    batch.events.reserve(DecodedBatches::kBatch);
    Status corrupt;
    bool stopped = false;
    Status read = ScanEvents(1, [&](uint64_t seq, std::string_view raw) {
      if (auto s = DecodeEventInto(raw, &batch.Next()); !s.ok()) {
        corrupt = CorruptEvent(seq, s);
        return false;
      }
      batch.Commit();
      if (batch.size == DecodedBatches::kBatch && !decoded.Push(batch)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (read.ok()) read = corrupt;
    if (read.ok() && !stopped && batch.size > 0) decoded.Push(batch);
    decoded.Finish(std::move(read));
  };
  std::thread reader;
  try {
    reader = std::thread([&] {
      try {
        read_log();
      } catch (const std::exception& e) {  // bad_alloc
        decoded.Finish(Status(Code::kUnavailable, std::string("reading the log: ") + e.what()));
      }
    });
  } catch (const std::system_error& e) {
    return Status(Code::kUnavailable,
                  std::string("cannot start the rebuild's reader: ") + e.what());
  }
  struct JoinReader {
    DecodedBatches& decoded;
    std::thread& reader;
    ~JoinReader() {
      decoded.Stop();
      reader.join();
    }
  } join_reader{decoded, reader};

  DecodedBatches::Batch batch;
  constexpr size_t kPrefetchAhead = 8;  // events
  while (decoded.Pop(batch)) {
    for (size_t i = 0; i < batch.size; ++i) {
      if (i + kPrefetchAhead < batch.size) {
        if (const auto& ahead = batch.events[i + kPrefetchAhead].token_id) view.Prefetch(*ahead);
      }
      const Event& e = batch.events[i];
      TL_RETURN_IF_ERROR(projector_->Apply(e, view));
      head = LogHead{e.seq, e.hash, e.time};
      ++done;
      TL_RETURN_IF_ERROR(view.MaybeHandOff());
      if (progress && done % kRebuildChunk == 0) progress(done, total);
    }
  }
  TL_RETURN_IF_ERROR(decoded.status());
  TL_RETURN_IF_ERROR(view.Drain());
  view.ResumeCompaction();
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(impl_->projections.begin(),
                                                impl_->projections.end());
  // Not waiting for level 0 to drain below the stall trigger: on a long log
  // compaction may still be catching up, and the rebuild is complete.
  rocksdb::FlushOptions flush;
  flush.allow_write_stall = true;
  if (auto s = db->Flush(flush, cfs); !s.ok()) {
    return FromRocks(s, "flushing projections");
  }
  rocksdb::WriteBatch meta;
  meta.Put(impl_->meta, kHeadKey, EncodeHead(head));
  meta.Put(impl_->meta, kSchemaKey, EncodeU64(kProjectionSchema));
  if (auto s = db->Write(synced, &meta); !s.ok()) return FromRocks(s, "writing projections");
  if (progress) progress(done, total);
  std::lock_guard<std::mutex> lock(mu_);
  head_ = head;
  return Status();
}

Result<LogHead> EventStore::Backup(const std::string& source, const std::string& dest,
                                   const Projector& projector, const Clock& clock) {
  std::error_code ec;
  const std::filesystem::path target = std::filesystem::path(dest).lexically_normal();
  const bool target_exists = std::filesystem::exists(target, ec);
  if (target_exists && (!std::filesystem::is_directory(target, ec) ||
                        !std::filesystem::is_empty(target, ec))) {
    return Status(Code::kInvalidRequest, dest + " exists and is not an empty directory");
  }
  // The copy is made beside the target and renamed to it only once it is
  // complete: an interrupted backup leaves a "<target>.partial-…" directory,
  // never a target that opens as a shorter log.
  // The target without a trailing '/': "b/x/" names the directory "x" in "b".
  const std::filesystem::path named = target.has_filename() ? target : target.parent_path();
  std::string partial = named.string() + ".partial-XXXXXX";
  if (::mkdtemp(partial.data()) == nullptr) {
    return Status(Code::kUnavailable,
                  "cannot create " + partial + " beside " + dest + ": " + std::strerror(errno));
  }
  struct RemoveUnlessKept {
    std::string path;
    bool keep = false;
    ~RemoveUnlessKept() {
      std::error_code ignored;
      if (!keep) std::filesystem::remove_all(path, ignored);
    }
  } cleanup{partial};
  TL_ASSIGN_OR_RETURN(LogHead head, CopyInto(source, partial, projector, clock));
  if (target_exists) std::filesystem::remove(target, ec);  // empty: checked above
  std::filesystem::rename(partial, target, ec);
  if (ec) {
    return Status(Code::kUnavailable,
                  "cannot rename " + partial + " to " + dest + ": " + ec.message());
  }
  cleanup.keep = true;
  // The rename itself made durable.
  const std::filesystem::path parent =
      named.has_parent_path() ? named.parent_path() : std::filesystem::path(".");
  if (int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return head;
}

Result<LogHead> EventStore::CopyInto(const std::string& source, const std::string& dest,
                                     const Projector& projector, const Clock& clock) {
  TL_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> from,
                      Open(source, OpenMode::kSecondary, projector, clock));
  const LogHead head = from->head();
  {
    // A fresh store; its writer is idle while the log is copied in.
    TL_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> to,
                        Open(dest, OpenMode::kReadWrite, projector, clock));
    to->Close();
    rocksdb::DB* db = to->impl_->db;
    rocksdb::WriteBatch batch;
    Status failed;
    rocksdb::WriteOptions unsynced;
    // Every seq from 1 to the head, each once: a secondary instance can miss
    // a log file the server deleted while it opened (RocksDB takes such a
    // file for absent), and a copy with a gap must not pass for a backup.
    uint64_t expected = 1;
    TL_RETURN_IF_ERROR(from->ScanEvents(1, [&](uint64_t seq, std::string_view raw) {
      if (seq > head.seq) return false;
      if (seq != expected) {
        failed = Status(Code::kUnavailable,
                        "the source's log read has a gap at seq " + std::to_string(expected) +
                            " (next is " + std::to_string(seq) + "); run the backup again");
        return false;
      }
      ++expected;
      batch.Put(to->impl_->events, EncodeU64(seq), rocksdb::Slice(raw.data(), raw.size()));
      if (batch.Count() >= kRebuildChunk) {
        auto s = db->Write(unsynced, &batch);
        if (!s.ok()) {
          failed = FromRocks(s, "writing the backup");
          return false;
        }
        batch.Clear();
      }
      return true;
    }));
    TL_RETURN_IF_ERROR(failed);
    if (expected != head.seq + 1) {
      return Status(Code::kUnavailable, "the source's log read ends at seq " +
                                            std::to_string(expected - 1) + ", before its head " +
                                            std::to_string(head.seq) + "; run the backup again");
    }
    batch.Put(to->impl_->meta, kPagingKey, from->paging_key_);
    // The copy's projections are rebuilt from its log on its next open.
    batch.Delete(to->impl_->meta, kHeadKey);
    rocksdb::WriteOptions synced;
    synced.sync = true;
    auto s = db->Write(synced, &batch);
    if (!s.ok()) return FromRocks(s, "writing the backup");
  }
  TL_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> check,
                      Open(dest, OpenMode::kReadWrite, projector, clock));
  if (check->head() != head) {
    return Status(Code::kUnavailable, "the backup's head differs from the source's");
  }
  return head;
}

}  // namespace tokenlog::storage
