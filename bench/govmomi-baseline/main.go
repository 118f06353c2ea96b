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
//
// -lean -workers N -vms A,B,...: throughput instead (bench/concurrent.sh):
// N goroutines, each on its own VM of -vms (N distinct names), each doing
// the lean operation above; -n operations in all, shared out evenly.  Each
// worker first does one untimed operation on its VM; the clock runs from
// when all have done theirs until the last one finishes.  It prints one
// JSON line: workers, operations, seconds, ops_per_s, round_trips_per_op,
// cpu_ms (this process's CPU time over the timed part) and, with
// -watch-pid PID, watched_cpu_ticks (PID's, vcsim's say, over the same
// part, in clock ticks: getconf CLK_TCK turns them into seconds).

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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// workerVMs checks -workers and -vms together; the workers' VMs, none in the latency mode.
func workerVMs(workers int, list string, leanMode bool, n int) ([]string, error) {
	var vms []string
	if list != "" {
		vms = strings.Split(list, ",")
	}
	switch {
	case workers < 0:
		return nil, fmt.Errorf("-workers must be at least 1 (or 0, the latency mode), not %d", workers)
	case workers == 0 && len(vms) > 0:
		return nil, fmt.Errorf("-vms needs -workers")
	case workers > 0 && !leanMode:
		return nil, fmt.Errorf("-workers needs -lean")
	case workers > 0 && len(vms) != workers:
		return nil, fmt.Errorf("-workers %d needs -vms with %d names, one per worker; got %d", workers, workers, len(vms))
	case workers > 0 && n < workers:
		return nil, fmt.Errorf("-n (%d, operations in all) must be at least -workers (%d)", n, workers)
	}
	return vms, nil
}

// selfCPU: this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidTicks: user+system CPU time of process pid so far, in clock ticks (/proc/PID/stat); 0 for pid 0.
func pidTicks(pid int) (int64, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command, which is in parentheses and may hold spaces: state is the first.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return utime + stime, nil
}

// throughput runs the -workers mode: workers goroutines, worker i on vms[i],
// n operations in all; one JSON line.
//
// They share the one logged-in session and its http.Transport: govmomi's
// vim25.Client does not serialise calls (soap.Client.RoundTrip is an
// http.Client request; only its host-thumbprint map has a mutex), and
// vcsim does not serialise a session's calls either (its PropertyCollector
// opts out of the per-object lock, ReconfigVM_Task locks the one VM).  A
// real vCenter accepts concurrent calls on one session too, so one session
// is what a concurrent govmomi client would use.  HTTP/1.1 carries one call
// per connection at a time, so the transport keeps one idle connection per
// worker: with Go's default of 2 per host, the others would be closed after
// each reply and each next call would pay a new TCP and TLS handshake.
func throughput(ctx context.Context, l *lean, cnt *counter, vms []string, n, watch int) error {
	workers := len(vms)
	seen := map[string]bool{}
	for _, v := range vms {
		if _, ok := l.names[v]; !ok {
			return fmt.Errorf("-vms: no VM %q", v)
		}
		if seen[v] {
			return fmt.Errorf("-vms: %q twice: every worker needs a VM of its own", v)
		}
		seen[v] = true
	}
	errs := make([]error, workers)
	var warm, done sync.WaitGroup
	startLine := make(chan struct{})
	warm.Add(workers)
	done.Add(workers)
	for i := range vms {
		count := n / workers
		if i < n%workers {
			count++
		}
		go func(i, count int) {
			defer done.Done()
			errs[i] = l.one(ctx, vms[i], 2) // untimed, and a warm connection
			warm.Done()
			<-startLine
			for k := 0; k < count && errs[i] == nil; k++ {
				errs[i] = l.one(ctx, vms[i], int32(1+k%2))
			}
		}(i, count)
	}
	warm.Wait()
	w0, err := pidTicks(watch)
	if err != nil {
		return err
	}
	start := atomic.LoadInt64(&cnt.n)
	c0 := selfCPU()
	t0 := time.Now()
	close(startLine)
	done.Wait()
	secs := time.Since(t0).Seconds()
	cpu := selfCPU() - c0
	w1, err := pidTicks(watch)
	if err != nil {
		return err
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("worker %d (%s): %v", i, vms[i], err)
		}
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"workers":            workers,
		"operations":         n,
		"seconds":            secs,
		"ops_per_s":          float64(n) / secs,
		"round_trips_per_op": float64(atomic.LoadInt64(&cnt.n)-start) / float64(n),
		"cpu_ms":             float64(cpu.Microseconds()) / 1000,
		"watched_cpu_ticks":  w1 - w0,
	})
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
	workers := flag.Int("workers", 0, "with -lean: this many concurrent workers, one per VM of -vms; prints ops/s (0: the latency mode)")
	vmList := flag.String("vms", "", "with -workers: the workers' VMs, comma-separated, one each")
	watch := flag.Int("watch-pid", 0, "with -workers: also report this process's CPU ticks over the timed part")
	flag.Parse()
	vms, err := workerVMs(*workers, *vmList, *leanMode, n)
	if err != nil {
		return err
	}
	if len(vms) > 0 {
		vmName = vms[0]
	}
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
	if len(vms) > 0 {
		sc.DefaultTransport().MaxIdleConnsPerHost = len(vms) // see throughput
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
		if *workers > 0 {
			return throughput(ctx, l, cnt, vms, n, *watch)
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
