// SPDX-License-Identifier: GPL-2.0-or-later

// Asynchronous, vCenter-like CloneVM_Task for "serve -clone-delay" and
// "serve -strict-clone".
//
// vcsim 0.24 runs every task to completion inside the SOAP call, so a client
// never sees a task in the queued or running state, and its waiting code
// (WaitForUpdatesEx on Task.info) is never exercised.  DelayConfig does not
// help: it sleeps before the method runs, so the call itself blocks.  Its
// clone also accepts a name already taken in the destination folder, and
// panics on a folder moref that does not exist.
//
// slowCloneVM replaces the VirtualMachine objects in the simulator's
// registry (the technique of govmomi's simulator/example_extend_test.go) with
// a wrapper whose CloneVMTask checks the folder at once, returns a queued
// task, and from a goroutine moves it to running after the delay and, after
// the delay again, fails it with DuplicateName or runs vcsim's own clone and
// copies its outcome, success or fault, into the task.  With no delay it
// does the same checks synchronously.
//
// The delayed task can be cancelled (CancelTask, which vcsim 0.24 lacks):
// it then fails with RequestCanceled at its next step, as vCenter's does.
//
// Known side effects, acceptable for a test harness:
//   - vcsim's clone creates its own (already finished) "CloneVm" task, which
//     also shows up in TaskManager.recentTask;
//   - VMs created later (clones, CreateVM_Task) are not wrapped, so cloning a
//     clone behaves as plain vcsim: re-registering an object would make
//     container views list it twice;
//   - a few vcsim handlers assert the concrete *simulator.VirtualMachine type
//     (snapshot objects, guest operations, PerformanceManager, destroying a
//     Datacenter or ResourcePool), and panic on a wrapped VM; net/http turns
//     that into a dropped connection.  Without the two switches nothing is
//     wrapped.
package main

import (
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type slowCloneVM struct {
	// Embedded by value and first: the PropertyCollector finds the mo
	// object of a wrapper by descending into field 0, and cannot follow
	// a pointer.
	simulator.VirtualMachine

	delay time.Duration
}

// wrapAllVMs installs slowCloneVM for every VM in the inventory.  It must
// run before the server starts: nobody can hold a view of the VMs yet.
func wrapAllVMs(delay time.Duration) int {
	n := 0
	for _, obj := range simulator.Map.All("VirtualMachine") {
		vm, ok := obj.(*simulator.VirtualMachine)
		if !ok {
			continue
		}
		simulator.Map.Put(&slowCloneVM{VirtualMachine: *vm, delay: delay})
		n++
	}
	return n
}

// CloneVMTask overrides simulator.VirtualMachine.CloneVMTask.  The service
// dispatcher holds this VM's lock while it runs.
func (vm *slowCloneVM) CloneVMTask(ctx *simulator.Context, req *types.CloneVM_Task) soap.HasFault {
	body := new(methods.CloneVM_TaskBody)

	// vcsim dereferences the folder without checking it and panics,
	// which drops the connection or, in our goroutine, kills the whole
	// simulator.  Real vCenter rejects a bad moref argument at once.
	if _, ok := simulator.Map.Get(req.Folder).(*simulator.Folder); !ok {
		body.Fault_ = simulator.Fault("", &types.ManagedObjectNotFound{Obj: req.Folder})
		return body
	}

	if vm.delay == 0 {
		task := simulator.CreateTask(vm, "cloneVm", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			return vm.clone(ctx, req)
		})
		body.Res = &types.CloneVM_TaskResponse{Returnval: task.Run()}
		return body
	}

	// Same name and entity as vcsim's own task.  Execute is never called:
	// finishClone drives the states itself, so that no lock is held while
	// it sleeps.
	// The wrapper replaces the plain Task in the registry, so that
	// CancelTask reaches it.
	ct := &cancelableTask{Task: *simulator.CreateTask(vm, "cloneVm", nil)}
	ct.Info.Cancelable = true
	simulator.Map.Put(ct)
	go vm.finishClone(ctx, req, ct)

	body.Res = &types.CloneVM_TaskResponse{Returnval: ct.Self}
	return body
}

// cancelableTask is a Task with CancelTask.  Embedded by value and first,
// for the PropertyCollector (see slowCloneVM).
type cancelableTask struct {
	simulator.Task

	cancelled int32
}

// CancelTask asks the clone to stop at its next step.  The dispatcher
// holds the task's lock.
func (t *cancelableTask) CancelTask(ctx *simulator.Context, req *types.CancelTask) soap.HasFault {
	body := new(methods.CancelTaskBody)
	if s := t.Info.State; s == types.TaskInfoStateSuccess || s == types.TaskInfoStateError {
		body.Fault_ = simulator.Fault("task already finished", &types.InvalidState{})
		return body
	}
	atomic.StoreInt32(&t.cancelled, 1)
	body.Res = new(types.CancelTaskResponse)
	return body
}

// cancel fails the task with RequestCanceled if it was asked to; true if so.
func (t *cancelableTask) cancel() bool {
	if atomic.LoadInt32(&t.cancelled) == 0 {
		return false
	}
	updateTask(&t.Task, []types.PropertyChange{
		{Name: "info.completeTime", Val: time.Now()},
		{Name: "info.cancelled", Val: true},
		{Name: "info.state", Val: types.TaskInfoStateError},
		{Name: "info.error", Val: types.LocalizedMethodFault{
			Fault:            new(types.RequestCanceled),
			LocalizedMessage: "*types.RequestCanceled",
		}},
	})
	return true
}

func (vm *slowCloneVM) finishClone(ctx *simulator.Context, req *types.CloneVM_Task, ct *cancelableTask) {
	task := &ct.Task
	time.Sleep(vm.delay)
	if ct.cancel() {
		return
	}
	updateTask(task, []types.PropertyChange{
		{Name: "info.startTime", Val: time.Now()},
		{Name: "info.state", Val: types.TaskInfoStateRunning},
	})
	time.Sleep(vm.delay)
	if ct.cancel() {
		return
	}

	// Locked as the dispatcher would have done for a synchronous call.
	// The request's Context outlives its HTTP request; the clone path only
	// uses its Session and Map, and its Caller, which names this VM and
	// tells vcsim not to lock the VM again.
	var result types.AnyType
	var fault types.BaseMethodFault
	simulator.Map.WithLock(vm, func() {
		result, fault = vm.clone(ctx, req)
	})

	var lfault interface{}
	state := types.TaskInfoStateSuccess
	if fault != nil {
		state = types.TaskInfoStateError
		lfault = types.LocalizedMethodFault{
			Fault:            fault,
			LocalizedMessage: fmt.Sprintf("%T", fault), // as vcsim's Task.Run does
		}
	}
	end := []types.PropertyChange{
		{Name: "info.completeTime", Val: time.Now()},
		{Name: "info.state", Val: state},
		{Name: "info.result", Val: result},
		{Name: "info.error", Val: lfault},
	}
	if req.Name == hideCloneEnd {
		// What vcsim's WaitForUpdatesEx loses when an update lands
		// between its first snapshot and its listener's registration:
		// the task ends, and no filter hears of it.
		simulator.Map.WithLock(task, func() { mo.ApplyPropertyChange(&task.Task, end) })
		log.Printf("clone to %q ended without telling WaitForUpdatesEx (-hide-clone-end)", req.Name)
		return
	}
	updateTask(task, end)
}

// hideCloneEnd is serve -hide-clone-end: the clone to this name ends silently.
var hideCloneEnd string

// cloneMu makes the name check and the creation one step, so that two
// concurrent clones cannot both take the same name.
var cloneMu sync.Mutex

// clone runs vcsim's own clone, with this VM locked by the caller, and
// returns its outcome.
func (vm *slowCloneVM) clone(ctx *simulator.Context, req *types.CloneVM_Task) (result types.AnyType, fault types.BaseMethodFault) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("clone of %s panicked: %v", vm.Self, r)
			result, fault = nil, &types.SystemError{Reason: fmt.Sprint(r)}
		}
	}()

	// The source may have been destroyed while the task was queued.
	if simulator.Map.Get(vm.Self) == nil {
		return nil, &types.ManagedObjectNotFound{Obj: vm.Self}
	}

	cloneMu.Lock()
	defer cloneMu.Unlock()

	// vcsim 0.24 happily creates a second VM of the same name in a
	// folder; vCenter fails the task with DuplicateName.
	if dup := findChild(req.Folder, req.Name); dup != nil {
		return nil, &types.DuplicateName{Name: req.Name, Object: dup.Reference()}
	}

	res := vm.VirtualMachine.CloneVMTask(ctx, req)
	body := res.(*methods.CloneVM_TaskBody)
	if body.Fault_ != nil {
		if f, ok := body.Fault_.VimFault().(types.BaseMethodFault); ok {
			return nil, f
		}
		return nil, &types.SystemError{Reason: body.Fault_.String}
	}

	inner := simulator.Map.Get(body.Res.Returnval).(*simulator.Task)
	if inner.Info.Error != nil {
		return nil, inner.Info.Error.Fault
	}
	return inner.Info.Result, nil
}

// findChild returns the entity called name directly in a folder, or nil.
func findChild(folder types.ManagedObjectReference, name string) mo.Entity {
	f, ok := simulator.Map.Get(folder).(*simulator.Folder)
	if !ok {
		return nil
	}
	var children []types.ManagedObjectReference
	simulator.Map.WithLock(f, func() {
		children = append(children, f.ChildEntity...)
	})
	return simulator.Map.FindByName(name, children)
}

// updateTask changes task properties under the task's lock, which the
// PropertyCollector also takes while it reads the task.
func updateTask(task *simulator.Task, changes []types.PropertyChange) {
	simulator.Map.WithLock(task, func() {
		simulator.Map.Update(task, changes)
	})
}
