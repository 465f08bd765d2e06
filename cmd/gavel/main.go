// Command gavel is the one binary of Gavel: `gavel dev` runs everything in one process on
// embedded defaults; `api`, `worker`, `scheduler`, `migrate`, `seed` and `user` run one role.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gavel:", err)
		os.Exit(exitCode(err))
	}
}
