// SPDX-License-Identifier: GPL-2.0-or-later

// The "events" client subcommand: the user events posted on a VM, so that
// tests can check what vmtraced's PostEvent left in vCenter's own history.

package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/vim25/types"
)

type eventInfo struct {
	Message  string `json:"message"`
	UserName string `json:"userName"`
	VM       string `json:"vm"`
}

func cmdEvents(args []string) error {
	var id string
	flags := func(fs *flag.FlagSet) func() error {
		fs.StringVar(&id, "id", "", "VM moref value, e.g. vm-42")
		return func() error {
			if id == "" {
				return usageError("-id is required")
			}
			return nil
		}
	}
	return runClient("events", args, flags, func(ctx context.Context, c *connection) error {
		return printEvents(ctx, c, id)
	})
}

// printEvents prints the user events posted on VM id.
func printEvents(ctx context.Context, c *connection, id string) error {
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
	filter := types.EventFilterSpec{
		Entity:      &types.EventFilterSpecByEntity{Entity: ref, Recursion: types.EventFilterSpecRecursionOptionSelf},
		EventTypeId: []string{"GeneralUserEvent"},
		MaxCount:    100,
	}
	events, err := event.NewManager(c.Client).QueryEvents(ctx, filter)
	if err != nil {
		return fmt.Errorf("querying events: %w", err)
	}
	out := []eventInfo{}
	for _, e := range events {
		ue, ok := e.(*types.GeneralUserEvent)
		if !ok {
			continue
		}
		info := eventInfo{Message: ue.Message, UserName: ue.UserName}
		if ue.Vm != nil {
			info.VM = ue.Vm.Vm.Value
		}
		out = append(out, info)
	}
	return printJSON(out)
}
