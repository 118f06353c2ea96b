// SPDX-License-Identifier: GPL-2.0-or-later

// Command vcsim is the vCenter peer of vmtraced's integration tests.
//
// "serve" runs govmomi's simulator (Debian's govmomi 0.24) on loopback with
// a proper TLS certificate and a few fault-injection switches, and publishes
// its address through files in a state directory so that shell tests can
// find it.  The other subcommands are a small, independent govmomi client:
// tests use them to check what the simulator really holds after vmtraced has
// acted, without trusting vmtraced's own view.
//
// Build (offline, against the Debian package):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o vcsim ./tests/vcsim
package main

import (
	"fmt"
	"os"
)

// Exit codes, shared by all subcommands so that shell tests can tell a
// missing object from a broken setup.
const (
	exitFailure  = 1
	exitNotFound = 2
	exitUsage    = 64
)

type command struct {
	name    string
	summary string
	run     func(args []string) error
}

var commands = []command{
	{"serve", "run the simulator until SIGTERM/SIGINT", cmdServe},
	{"vm", "print one VM as JSON (-name NAME | -id MOREF)", cmdVM},
	{"vms", "print all VMs as a JSON array", cmdVMs},
	{"hosts", "print all hosts as a JSON array", cmdHosts},
	{"events", "print the user events posted on one VM (-id MOREF) as a JSON array", cmdEvents},
	{"rename", "rename one VM (-id MOREF -name NEW [-post-event [-event-delay MS]]), as another client would", cmdRename},
	{"clone", "clone one VM (-id MOREF -name NEW) into its folder; prints the new moref", cmdClone},
	{"destroy", "power off and destroy one VM (-id MOREF)", cmdDestroy},
	{"reconfig", "reconfigure one VM (-id MOREF [-cpus N] [-memory MIB] [-name NAME])", cmdReconfig},
	{"power", "power one VM on or off (-id MOREF -state on|off)", cmdPower},
	{"counters", "print the server's PropertyCollector and byte counters as JSON", cmdCounters},
	{"terminate-sessions", "end every session but our own", cmdTerminateSessions},
	{"schema-check", "compare vim25.h (the gSOAP header) with govmomi's WSDL types", cmdSchemaCheck},
}

// exitError carries a specific exit status up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s COMMAND [flags]\n\ncommands:\n", os.Args[0])
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-20s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun '%s COMMAND -h' for the flags of a command.\n", os.Args[0])
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(exitUsage)
	}

	for _, c := range commands {
		if c.name != os.Args[1] {
			continue
		}
		err := c.run(os.Args[2:])
		if err == nil {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "vcsim %s: %v\n", c.name, err)
		if e, ok := err.(*exitError); ok {
			os.Exit(e.code)
		}
		os.Exit(exitFailure)
	}

	fmt.Fprintf(os.Stderr, "vcsim: unknown command %q\n", os.Args[1])
	usage()
	os.Exit(exitUsage)
}
