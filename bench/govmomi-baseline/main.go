// SPDX-License-Identifier: GPL-2.0-or-later

// govmomi-baseline: the yardsticks for bench/roundtrips.sh and
// bench/inventory.sh.  Each does what "vmctl cpu VM N" does, on one session:
//   - default (-lean=false): the way a govc-style client does it: find the
//     VM by name (find.Finder), read numCPU before, ReconfigVM_Task, wait
//     for the task (task.Wait: a PropertyCollector filter), read numCPU
//     after; about 10 round trips.  With -warm=false it is one govc-style
//     process per operation: start, log in, act once, log out.
//   - -lean: a client written for this one job on a warm session: the VMs'
//     names read once from a ContainerView (untimed), then per operation
//     one RetrievePropertiesEx for the VM's identity (name, uuid, host) and
//     numCPU before, ReconfigVM_Task, and one RetrievePropertiesEx for the
//     task's state and the VM's numCPU together, repeated while the task
//     runs: 3 round trips when vCenter has finished by the first read.
// It prints one JSON object: the median and mean milliseconds per operation
// and the HTTP round trips per operation, counted on the transport.  Only
// for the bench; TLS is verified against the CA file like everywhere else.

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// counter counts HTTP round trips, the unit vmtraced's bench reports too.
type counter struct {
	next http.RoundTripper
	n    int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	atomic.AddInt64(&c.n, 1)
	return c.next.RoundTrip(r)
}

func numCPU(ctx context.Context, vm *object.VirtualMachine) (int32, error) {
	var m mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.hardware.numCPU"}, &m); err != nil {
		return 0, err
	}
	return m.Config.Hardware.NumCPU, nil
}

// one operation, as the trail needs it: the VM, its value before, the change, its value after.
func one(ctx context.Context, c *vim25.Client, name string, cpus int32) error {
	f := find.NewFinder(c, true)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	f.SetDatacenter(dc)
	vm, err := f.VirtualMachine(ctx, name)
	if err != nil {
		return err
	}
	if _, err := numCPU(ctx, vm); err != nil {
		return err
	}
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{NumCPUs: cpus})
	if err != nil {
		return err
	}
	if err := task.Wait(ctx); err != nil {
		return err
	}
	after, err := numCPU(ctx, vm)
	if err != nil {
		return err
	}
	if after != cpus {
		return fmt.Errorf("numCPU is %d after setting %d", after, cpus)
	}
	return nil
}

// lean is the -lean client: names cached once, then 3 round trips an operation.
type lean struct {
	c     *vim25.Client
	names map[string]types.ManagedObjectReference
}

func newLean(ctx context.Context, c *vim25.Client) (*lean, error) {
	v, err := view.NewManager(c).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, err
	}
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name"}, &vms); err != nil {
		return nil, err
	}
	l := &lean{c: c, names: map[string]types.ManagedObjectReference{}}
	for _, vm := range vms {
		l.names[vm.Name] = vm.Self
	}
	return l, nil
}

func (l *lean) retrieve(ctx context.Context, objs []types.ObjectSpec, props []types.PropertySpec) ([]types.ObjectContent, error) {
	req := types.RetrievePropertiesEx{
		This:    l.c.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{ObjectSet: objs, PropSet: props}},
	}
	res, err := methods.RetrievePropertiesEx(ctx, l.c, &req)
	if err != nil || res.Returnval == nil {
		return nil, err
	}
	return res.Returnval.Objects, nil
}

func prop(oc []types.ObjectContent, obj types.ManagedObjectReference, name string) interface{} {
	for _, o := range oc {
		for _, p := range o.PropSet {
			if o.Obj == obj && p.Name == name {
				return p.Val
			}
		}
	}
	return nil
}

func (l *lean) one(ctx context.Context, name string, cpus int32) error {
	ref, ok := l.names[name]
	if !ok {
		return fmt.Errorf("no VM %q", name)
	}
	vmProps := types.PropertySpec{Type: "VirtualMachine", PathSet: []string{"name", "config.uuid", "runtime.host", "config.hardware.numCPU"}}
	before, err := l.retrieve(ctx, []types.ObjectSpec{{Obj: ref}}, []types.PropertySpec{vmProps})
	if err != nil {
		return err
	}
	if prop(before, ref, "name") != name {
		return fmt.Errorf("VM %s is no longer called %q", ref.Value, name)
	}
	res, err := methods.ReconfigVM_Task(ctx, l.c, &types.ReconfigVM_Task{This: ref, Spec: types.VirtualMachineConfigSpec{NumCPUs: cpus}})
	if err != nil {
		return err
	}
	task := res.Returnval
	for {
		oc, err := l.retrieve(ctx, []types.ObjectSpec{{Obj: task}, {Obj: ref}}, []types.PropertySpec{
			{Type: "Task", PathSet: []string{"info.state", "info.error"}},
			{Type: "VirtualMachine", PathSet: []string{"config.hardware.numCPU"}},
		})
		if err != nil {
			return err
		}
		switch prop(oc, task, "info.state") {
		case types.TaskInfoStateSuccess:
			if after := prop(oc, ref, "config.hardware.numCPU"); after != cpus {
				return fmt.Errorf("numCPU is %v after setting %d", after, cpus)
			}
			return nil
		case types.TaskInfoStateError:
			return fmt.Errorf("task %s failed: %v", task.Value, prop(oc, task, "info.error"))
		}
	}
}

func run() error {
	var rawURL, cacert, user, password, vmName string
	var n int
	flag.StringVar(&rawURL, "url", os.Getenv("VCSIM_URL"), "SDK URL")
	flag.StringVar(&cacert, "cacert", os.Getenv("VCSIM_CA"), "CA file")
	flag.StringVar(&user, "user", "user", "user name")
	flag.StringVar(&password, "password", "pass", "password")
	flag.StringVar(&vmName, "vm", "", "VM name")
	flag.IntVar(&n, "n", 20, "operations to time")
	warm := flag.Bool("warm", true, "do one untimed operation first (false: a govc-style process that logs in, acts once and exits)")
	leanMode := flag.Bool("lean", false, "the lean client: names cached from a ContainerView, 3 round trips an operation")
	flag.Parse()
	if rawURL == "" || cacert == "" || vmName == "" || n < 1 {
		return fmt.Errorf("-url, -cacert, -vm and -n >= 1 are required")
	}

	ctx := context.Background()
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	sc := soap.NewClient(u, false)
	if err := sc.SetRootCAs(cacert); err != nil {
		return err
	}
	cnt := &counter{next: sc.Client.Transport}
	sc.Client.Transport = cnt
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return err
	}
	sm := session.NewManager(c)
	if err := sm.Login(ctx, url.UserPassword(user, password)); err != nil {
		return err
	}
	defer sm.Logout(ctx)

	op := func(cpus int32) error { return one(ctx, c, vmName, cpus) }
	if *leanMode {
		l, err := newLean(ctx, c)
		if err != nil {
			return err
		}
		op = func(cpus int32) error { return l.one(ctx, vmName, cpus) }
	}
	// Warm up, as vmtraced's pooled session is warm.
	if *warm {
		if err := op(2); err != nil {
			return err
		}
	}
	ms := make([]float64, 0, n)
	start := atomic.LoadInt64(&cnt.n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := op(int32(1 + i%2)); err != nil {
			return err
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	trips := float64(atomic.LoadInt64(&cnt.n)-start) / float64(n)
	sort.Float64s(ms)
	sum := 0.0
	for _, v := range ms {
		sum += v
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"operations":         n,
		"median_ms":          ms[n/2],
		"mean_ms":            sum / float64(n),
		"round_trips_per_op": trips,
	})
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "govmomi-baseline:", err)
		os.Exit(1)
	}
}
