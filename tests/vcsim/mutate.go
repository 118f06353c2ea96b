// SPDX-License-Identifier: GPL-2.0-or-later

// The client subcommands that change the inventory behind vmtraced's back:
// rename, clone and destroy, as another vSphere client would; and counters,
// which reads the server's /vmt-counters (collector.go).

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// vmFlags: -id MOREF, required.
func vmFlags(id *string, more func(fs *flag.FlagSet)) func(fs *flag.FlagSet) func() error {
	return func(fs *flag.FlagSet) func() error {
		fs.StringVar(id, "id", "", "VM moref value, e.g. vm-42")
		if more != nil {
			more(fs)
		}
		return func() error {
			if *id == "" {
				return usageError("-id is required")
			}
			return nil
		}
	}
}

func (c *connection) vm(id string) *object.VirtualMachine {
	return object.NewVirtualMachine(c.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: id})
}

func waitTask(ctx context.Context, t *object.Task, err error) error {
	if err != nil {
		return err
	}
	return t.Wait(ctx)
}

// cmdRename renames -id; with -post-event, it then posts the VmRenamedEvent
// vCenter posts for a rename and vcsim 0.24 does not (-event-delay later).
func cmdRename(args []string) error {
	var id, name string
	var post bool
	var delay int
	flags := vmFlags(&id, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "the new name")
		fs.BoolVar(&post, "post-event", false, "post vCenter's VmRenamedEvent afterwards")
		fs.IntVar(&delay, "event-delay", 0, "milliseconds between the rename and the event")
	})
	return runClient("rename", args, flags, func(ctx context.Context, c *connection) error {
		if name == "" {
			return usageError("-name is required")
		}
		vm := c.vm(id)
		old, err := vm.ObjectName(ctx)
		if err != nil {
			return err
		}
		t, err := vm.Rename(ctx, name)
		if err := waitTask(ctx, t, err); err != nil || !post {
			return err
		}
		time.Sleep(time.Duration(delay) * time.Millisecond)
		ev := &types.VmRenamedEvent{OldName: old, NewName: name}
		ev.Vm = &types.VmEventArgument{EntityEventArgument: types.EntityEventArgument{Name: name}, Vm: vm.Reference()}
		return event.NewManager(c.Client).PostEvent(ctx, ev)
	})
}

// cmdClone makes a new VM from -id in the same folder and prints its moref.
func cmdClone(args []string) error {
	var id, name string
	flags := vmFlags(&id, func(fs *flag.FlagSet) { fs.StringVar(&name, "name", "", "the clone's name") })
	return runClient("clone", args, flags, func(ctx context.Context, c *connection) error {
		if name == "" {
			return usageError("-name is required")
		}
		vm := c.vm(id)
		var props mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"parent"}, &props); err != nil {
			return err
		}
		if props.Parent == nil {
			return errors.New("the VM is in no folder")
		}
		folder := object.NewFolder(c.Client, *props.Parent)
		t, err := vm.Clone(ctx, folder, name, types.VirtualMachineCloneSpec{})
		if err != nil {
			return err
		}
		info, err := t.WaitForResult(ctx, nil)
		if err != nil {
			return err
		}
		ref, ok := info.Result.(types.ManagedObjectReference)
		if !ok {
			return errors.New("the clone task returned no VM")
		}
		return printJSON(map[string]string{"id": ref.Value})
	})
}

// cmdDestroy powers the VM off if needed and destroys it.
func cmdDestroy(args []string) error {
	var id string
	return runClient("destroy", args, vmFlags(&id, nil), func(ctx context.Context, c *connection) error {
		vm := c.vm(id)
		state, err := vm.PowerState(ctx)
		if err != nil {
			return err
		}
		if state == types.VirtualMachinePowerStatePoweredOn {
			t, err := vm.PowerOff(ctx)
			if err := waitTask(ctx, t, err); err != nil {
				return err
			}
		}
		t, err := vm.Destroy(ctx)
		return waitTask(ctx, t, err)
	})
}

// cmdCounters prints the server's /vmt-counters; no login needed.
func cmdCounters(args []string) error {
	var o clientOptions
	fs := flag.NewFlagSet("counters", flag.ContinueOnError)
	o.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return fmt.Errorf("parsing -url: %w", err)
	}
	u.Path, u.User = "/vmt-counters", nil
	pem, err := ioutil.ReadFile(o.cacert)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no certificate in %s", o.cacert)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(u.String())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}

// cmdReconfig sets -cpus and/or -memory (MiB) of one VM, as another client would.
func cmdReconfig(args []string) error {
	var id, name string
	var cpus, memory int
	flags := vmFlags(&id, func(fs *flag.FlagSet) {
		fs.IntVar(&cpus, "cpus", 0, "the new vCPU count")
		fs.IntVar(&memory, "memory", 0, "the new memory in MiB")
		fs.StringVar(&name, "name", "", "the new name (configSpec.name, as govc vm.change -name)")
	})
	return runClient("reconfig", args, flags, func(ctx context.Context, c *connection) error {
		if cpus == 0 && memory == 0 && name == "" {
			return usageError("-cpus, -memory or -name is required")
		}
		spec := types.VirtualMachineConfigSpec{NumCPUs: int32(cpus), MemoryMB: int64(memory), Name: name}
		t, err := c.vm(id).Reconfigure(ctx, spec)
		return waitTask(ctx, t, err)
	})
}

// cmdPower powers one VM -state on or off, as another client would.
func cmdPower(args []string) error {
	var id, state string
	flags := vmFlags(&id, func(fs *flag.FlagSet) { fs.StringVar(&state, "state", "", "on or off") })
	return runClient("power", args, flags, func(ctx context.Context, c *connection) error {
		vm := c.vm(id)
		switch state {
		case "on":
			t, err := vm.PowerOn(ctx)
			return waitTask(ctx, t, err)
		case "off":
			t, err := vm.PowerOff(ctx)
			return waitTask(ctx, t, err)
		}
		return usageError("-state must be on or off")
	})
}
