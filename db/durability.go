package db

// What is shown is durable: a decision, a settlement, a bid being placed and points moved
// by people commit durably (synchronous_commit on), so nothing a client is shown (an
// answer, a stream event, a notification, a task that reports a decision) is ever taken
// back by a crash. A decision round shares one WAL flush among all the bids it decides,
// and concurrent rounds share theirs through PostgreSQL's group commit.
//
// Two kinds of the worker's transactions commit on PostgreSQL without waiting for their
// WAL to reach the disk (synchronous_commit off, for that transaction only), because they
// are redone identically from durable data and nothing durable can be built on them:
//   - a release of points: a crash within a few hundred milliseconds may undo it, leaving
//     the bid outbid or rejected without its bid_release ledger row; reconcile-bids writes
//     the same row again (its amount is the bid's, and the row is unique per bid and kind).
//     No bid can spend the released points on top of an undone release: the bid's durable
//     commit would have flushed the WAL up to it (WAL is flushed in order). What a balance
//     read may show in that window comes back within one reconcile-bids run.
//   - a bid log: log-decided-bids writes the same row from the decided bid.

// asyncCommitFrom is a FROM item that turns the synchronous commit off for the rest of
// the transaction of the statement that has it: only for the two kinds above.
const asyncCommitFrom = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
