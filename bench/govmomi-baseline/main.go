// SPDX-License-Identifier: GPL-2.0-or-later

// govmomi-baseline: the yardstick for bench/roundtrips.sh.  It does what
// "vmctl cpu VM N" does, the way a govc-style govmomi client does it, on
// one warm session: find the VM by name (find.Finder), read numCPU before,
// ReconfigVM_Task, wait for the task, read numCPU after.  It prints one
// JSON object: the median and mean milliseconds per operation and the HTTP
// round trips per operation, counted on the transport.  Only for the bench;
// TLS is verified against the CA file like everywhere else.

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
	"github.com/vmware/govmomi/vim25"
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

	// Warm up, as vmtraced's pooled session is warm.
	if *warm {
		if err := one(ctx, c, vmName, 2); err != nil {
			return err
		}
	}
	ms := make([]float64, 0, n)
	start := atomic.LoadInt64(&cnt.n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := one(ctx, c, vmName, int32(1+i%2)); err != nil {
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
