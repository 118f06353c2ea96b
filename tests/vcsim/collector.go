// SPDX-License-Identifier: GPL-2.0-or-later

// "serve -page-objects N" and the counters at /vmt-counters.
//
// vcsim 0.24 ignores RetrievePropertiesEx's options.maxObjects and has no
// ContinueRetrievePropertiesEx, so a client's paging is never exercised.
// With -page-objects N the PropertyCollector answers at most N objects (or
// options.maxObjects, if smaller) and a token, as vCenter does with large
// results; ContinueRetrievePropertiesEx hands out the next page and
// CancelRetrievePropertiesEx drops the rest.
//
// Always on: GET /vmt-counters answers what the PropertyCollector returned
// and how many response bytes the server wrote, so that a test can tell a
// read of one VM from a scan of the inventory, and bench/ can report bytes
// per operation, without trusting the client's own account.

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type counters struct {
	ResponseBytes    int64 `json:"responseBytes"`
	RetrieveCalls    int64 `json:"retrieveCalls"`   // RetrievePropertiesEx and ContinueRetrievePropertiesEx
	RetrieveObjects  int64 `json:"retrieveObjects"` // ObjectContents they returned
	RetrieveMaxPage  int64 `json:"retrieveMaxPage"` // the most objects one call returned
	ContinueCalls    int64 `json:"continueCalls"`
	CancelCalls      int64 `json:"cancelCalls"`
	PagesOutstanding int64 `json:"pagesOutstanding"` // results with a token nobody finished or cancelled
}

var stats counters

// pageObjects is -page-objects: 0 leaves vcsim's behaviour (no paging).
var pageObjects int

type pendingPage struct {
	rest  []types.ObjectContent
	limit int
}

var pages = struct {
	sync.Mutex
	m    map[string]pendingPage
	next int
}{m: map[string]pendingPage{}}

func noteRetrieved(n int) {
	atomic.AddInt64(&stats.RetrieveCalls, 1)
	atomic.AddInt64(&stats.RetrieveObjects, int64(n))
	for {
		max := atomic.LoadInt64(&stats.RetrieveMaxPage)
		if int64(n) <= max || atomic.CompareAndSwapInt64(&stats.RetrieveMaxPage, max, int64(n)) {
			return
		}
	}
}

// page cuts res to limit objects, keeping the rest under a new token.
func page(res *types.RetrieveResult, limit int) {
	res.Token = ""
	if limit > 0 && len(res.Objects) > limit {
		pages.Lock()
		pages.next++
		token := fmt.Sprintf("vmt-page-%d", pages.next)
		pages.m[token] = pendingPage{rest: res.Objects[limit:], limit: limit}
		pages.Unlock()
		res.Objects = res.Objects[:limit]
		res.Token = token
	}
	noteRetrieved(len(res.Objects))
}

func takePage(token string) (pendingPage, bool) {
	pages.Lock()
	defer pages.Unlock()
	p, ok := pages.m[token]
	delete(pages.m, token)
	return p, ok
}

// pagingCollector replaces the PropertyCollector singleton; vcsim makes each
// session's collector with reflect.New of its type, so sessions get it too.
type pagingCollector struct {
	simulator.PropertyCollector
}

func (pc *pagingCollector) RetrievePropertiesEx(ctx *simulator.Context, r *types.RetrievePropertiesEx) soap.HasFault {
	body := pc.PropertyCollector.RetrievePropertiesEx(ctx, r)
	b, ok := body.(*methods.RetrievePropertiesExBody)
	if !ok || b.Res == nil || b.Res.Returnval == nil {
		return body
	}
	limit := pageObjects
	if max := int(r.Options.MaxObjects); limit > 0 && max > 0 && max < limit {
		limit = max
	}
	page(b.Res.Returnval, limit)
	return body
}

func (pc *pagingCollector) ContinueRetrievePropertiesEx(r *types.ContinueRetrievePropertiesEx) soap.HasFault {
	body := &methods.ContinueRetrievePropertiesExBody{}
	p, ok := takePage(r.Token)
	if !ok {
		body.Fault_ = simulator.Fault("unknown token", &types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	atomic.AddInt64(&stats.ContinueCalls, 1)
	res := types.RetrieveResult{Objects: p.rest}
	page(&res, p.limit)
	body.Res = &types.ContinueRetrievePropertiesExResponse{Returnval: res}
	return body
}

func (pc *pagingCollector) CancelRetrievePropertiesEx(r *types.CancelRetrievePropertiesEx) soap.HasFault {
	body := &methods.CancelRetrievePropertiesExBody{}
	if _, ok := takePage(r.Token); !ok {
		body.Fault_ = simulator.Fault("unknown token", &types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	atomic.AddInt64(&stats.CancelCalls, 1)
	body.Res = &types.CancelRetrievePropertiesExResponse{}
	return body
}

// installCollector puts the counting (and, with -page-objects, paging)
// collector in place of vcsim's, before any session exists; with
// -announce-reconfigs it starts announceReconfigs.
func installCollector(model *simulator.Model, pageSize int, announce bool) {
	pageObjects = pageSize
	pc := &pagingCollector{}
	pc.Self = model.ServiceContent.PropertyCollector
	simulator.Map.Put(pc)
	if announce {
		go announceReconfigs()
	}
}

// countingWriter counts the bytes of every response.
type countingWriter struct {
	http.ResponseWriter
}

func (w countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	atomic.AddInt64(&stats.ResponseBytes, int64(n))
	return n, err
}

type countingHandler struct {
	next http.Handler
}

// announceReconfigs sends, every 100 ms, the property update a real vCenter
// sends for a reconfiguration: vcsim 0.24's ReconfigVM_Task changes a VM's
// vCPUs, memory and name (configSpec.name) without one, so no
// PropertyCollector filter (vmtraced's inventory mirror) would ever see
// them.  Whoever reconfigured it.
//
// Map.Update also applies the values it announces, so a value read before
// another change and announced after it would undo that change (seen: a
// rename loop's VM lost its newest name).  The values are read again, under
// the VM's lock, just before the update, and a VM that changed meanwhile
// waits for the next round.  Only on request (-announce-reconfigs): tests
// that do not watch the inventory run without it.
func announceReconfigs() {
	type size struct {
		cpus int32
		mem  int32
		name string
	}
	seen := map[types.ManagedObjectReference]size{}
	for range time.Tick(100 * time.Millisecond) {
		for _, o := range simulator.Map.All("VirtualMachine") {
			vm, ok := o.(*simulator.VirtualMachine)
			if !ok {
				continue
			}
			// Read under the VM's lock, update outside it: Map.Update takes the
			// PropertyCollector's lock, which a WaitForUpdatesEx holds while it
			// takes VMs' locks (the other order would deadlock).
			read := func() (now size, have bool) {
				simulator.Map.WithLock(vm, func() {
					if vm.Config != nil {
						now, have = size{vm.Config.Hardware.NumCPU, vm.Config.Hardware.MemoryMB, vm.Name}, true
					}
				})
				return
			}
			now, have := read()
			if !have {
				continue
			}
			if old, ok := seen[vm.Self]; ok && old != now {
				if again, _ := read(); again != now {
					continue // changing: the next round sends its newest values
				}
				changes := []types.PropertyChange{
					{Name: "config.hardware.numCPU", Val: now.cpus},
					{Name: "config.hardware.memoryMB", Val: now.mem},
				}
				// Rename_Task sends its own update; only a reconfiguration's name needs one.
				if old.name != now.name {
					changes = append(changes, types.PropertyChange{Name: "name", Val: now.name})
				}
				simulator.Map.Update(vm, changes)
			}
			seen[vm.Self] = now
		}
	}
}

func (h countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/vmt-counters" {
		pages.Lock()
		out := counters{
			ResponseBytes:    atomic.LoadInt64(&stats.ResponseBytes),
			RetrieveCalls:    atomic.LoadInt64(&stats.RetrieveCalls),
			RetrieveObjects:  atomic.LoadInt64(&stats.RetrieveObjects),
			RetrieveMaxPage:  atomic.LoadInt64(&stats.RetrieveMaxPage),
			ContinueCalls:    atomic.LoadInt64(&stats.ContinueCalls),
			CancelCalls:      atomic.LoadInt64(&stats.CancelCalls),
			PagesOutstanding: int64(len(pages.m)),
		}
		pages.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	h.next.ServeHTTP(countingWriter{w}, r)
}
