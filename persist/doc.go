// Package persist is midge's flash-friendly, crash-safe store: an
// append-only log of CRC32C-framed records in segment files, replayed at
// start to rebuild sessions, subscriptions, retained messages, queued and
// in-flight messages. The on-disk format is in FORMAT.md.
//
// # Durability contract
//
// The broker acknowledges a QoS 1 or QoS 2 message (PUBACK, PUBREC) only
// after every record it caused (the message stored for each durable
// session, a retained message) has been handed to the kernel with write(2),
// and, under sync = "always", made durable with fsync. Therefore:
//
//   - a process crash (kill -9, panic, the OOM killer) loses nothing that
//     was acknowledged, under every sync policy;
//   - a power cut loses nothing acknowledged under "always", at most the
//     last sync_interval of acknowledgements under "interval" (the
//     default: sync_interval = 1s, at most one fsync per interval), and
//     whatever the kernel had not written back under "never";
//   - nothing is written while the broker is idle: no timers write, and an
//     fsync happens only when something was written since the last one.
//
// Records are batched: appended to an in-memory batch on the event loop,
// handed to a writer goroutine at the end of each loop turn, and written in
// one write(2) once the batch reaches BatchBytes or has waited BatchDelay,
// whichever comes first. Acknowledgements waiting for a batch are released
// together (group commit) through the loop's wake-up queue.
//
// # Recovery
//
// Open scans the segments in order and checks every record's bounds and
// CRC. In any segment the first bad record (a torn write, zeros, garbage,
// a flipped bit) ends what is read of it: the records before it are
// replayed and stay in the segment, and the file is truncated at the bad
// record, so whatever a recovery hands to the broker is still there after
// any later crash. A torn tail in an older segment is what a failed write
// (ENOSPC, EIO) leaves: the writer wrote those records again at the start
// of the next segment, so nothing is lost and the dropped bytes are
// reported as a torn tail, as in the newest segment. Sequence numbers are
// reported lost only when no later segment holds them; the bytes cut off
// are then first saved to <segment>.corrupt (a segment with nothing valid
// is renamed to it). When a repair fails (a full disk, a failing device)
// the segment is left as it is, replays the same way, is not appended to,
// and is repaired at the next start. The segments after a damaged one
// still load. Open never fails because of the content of its own files;
// only an unusable directory (permissions, a missing mount) is an error,
// and the broker then runs without persistence and raises an alarm rather
// than refusing to start.
//
// # Compaction
//
// When the segments hold more than twice the live data (and at least
// CompactMinBytes), the broker writes its live state as a snapshot: a
// temporary file, fsync, rename over the oldest input segment, fsync of the
// directory, then the other inputs are deleted. Every record carries a
// sequence number and replay skips sequence numbers already applied, so a
// crash at any point of a compaction recovers exactly the old or the new
// live set.
//
// # Caveats
//
// A failed fsync is not retried on the same file (Linux may already have
// dropped the dirty pages): the unsynced records are written again to a new
// segment. ENOSPC puts the store in a failed state, with an alarm; new
// messages for offline sessions are refused until a retry succeeds. A disk
// already full (or failing) at Open does the same: Open returns the log,
// failed, with what it recovered, rather than an error.
// Session and message expiry are stored as remaining time, so a clock that
// jumps (a board booting in 1970, then NTP) expires nothing early.
package persist
