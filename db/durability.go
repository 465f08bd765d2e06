package db

import (
	"context"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// The worker's transactions that can be done again from what is durable commit on
// PostgreSQL without waiting for their WAL to reach the disk (synchronous_commit off, for
// that transaction only): under load a waiting commit costs the server more than the
// statements it commits. Such a commit is undone only by a server crash within a few
// hundred milliseconds of it, before the WAL writer flushed it, and then only if no later
// durable commit flushed it: WAL is flushed in order. An undone commit is lost whole and
// leaves the data as it was before it, and the transactions that commit this way are the
// ones that are done again from the data alone:
//   - a decision: its bids are pending again, and the next decision round or
//     reconcile-bids decides them the same way, as a bid placed after it is later in
//     arrival order (and its durable commit would have flushed the decision);
//   - a release of points: the bid is outbid or rejected without its bid_release ledger
//     row, which reconcile-bids writes;
//   - a bid log: log-decided-bids writes it.
// Bids being placed, points moved by people, and settlements keep their durable commit
// (settlements: see gavel_close_auction).

// asyncCommitFrom is a FROM item that turns the synchronous commit off for the rest of
// the transaction of the statement that has it.
const asyncCommitFrom = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"

// CommitAsync makes tx, a transaction of the kind above, commit without waiting for its
// WAL flush on PostgreSQL; on SQLite it does nothing.
func CommitAsync(ctx context.Context, tx bun.Tx) error {
	if tx.Dialect().Name() != dialect.PG {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off")
	return err
}
