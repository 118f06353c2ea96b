// SPDX-License-Identifier: GPL-2.0-or-later

// The client subcommands: vm, vms, hosts and terminate-sessions.
//
// They give tests a second opinion: after vmtraced reports an operation,
// the test asks the simulator directly through govmomi.  TLS is always
// verified against the CA file; there is deliberately no insecure mode.
// Every command logs in, does one thing, and logs out again, so it leaves
// no session behind (terminate-sessions tests count on that).

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sort"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type clientOptions struct {
	url      string
	cacert   string
	user     string
	password string
}

func (o *clientOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", os.Getenv("VCSIM_URL"), "SDK URL (default $VCSIM_URL)")
	fs.StringVar(&o.cacert, "cacert", os.Getenv("VCSIM_CA"), "CA file to verify the server with (default $VCSIM_CA)")
	fs.StringVar(&o.user, "user", "user", "user name")
	fs.StringVar(&o.password, "password", "pass", "password")
}

func (o *clientOptions) check() error {
	if o.url == "" || o.cacert == "" {
		return usageError("-url and -cacert are required")
	}
	return nil
}

// connection is a logged-in session.
type connection struct {
	*vim25.Client
	sm *session.Manager
}

func connect(ctx context.Context, o *clientOptions) (*connection, error) {
	u, err := url.Parse(o.url)
	if err != nil {
		return nil, fmt.Errorf("parsing -url: %w", err)
	}
	u.User = nil // credentials come from -user/-password only

	sc := soap.NewClient(u, false)
	if err := sc.SetRootCAs(o.cacert); err != nil {
		return nil, fmt.Errorf("loading CA file %s: %w", o.cacert, err)
	}
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", u, err)
	}
	sm := session.NewManager(c)
	if err := sm.Login(ctx, url.UserPassword(o.user, o.password)); err != nil {
		return nil, fmt.Errorf("logging in as %s: %w", o.user, err)
	}
	return &connection{Client: c, sm: sm}, nil
}

func (c *connection) close(ctx context.Context) {
	_ = c.sm.Logout(ctx)
}

// vmInfo is the JSON shape of one VM.  "name" is the name property: vcsim's
// Rename_Task does not update config.name.
type vmInfo struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	UUID       string `json:"uuid"`
	Host       string `json:"host"`
	HostID     string `json:"hostId"`
	PowerState string `json:"powerState"`
	NumCPU     int32  `json:"numCPU"`
	MemoryMB   int32  `json:"memoryMB"`
	// Disks in device order, all snapshot names (depth first) and the
	// current one, and the datastore morefs: for the operations on them.
	Disks           []diskInfo `json:"disks"`
	Snapshots       []string   `json:"snapshots"`
	CurrentSnapshot string     `json:"currentSnapshot"`
	Datastores      []string   `json:"datastoreIds"`
	// Where the VM is: its folder ("" in a vApp) and its vApp.
	Parent     string `json:"parentId"`
	ParentVApp string `json:"parentVAppId"`
}

// diskInfo: where the disk is, and the members a disk edit must keep.
type diskInfo struct {
	Label          string `json:"label"`
	CapacityKB     int64  `json:"capacityKB"`
	ControllerKey  int32  `json:"controllerKey"`
	ControllerType string `json:"controllerType"`
	Unit           int32  `json:"unit"`
	Backing        string `json:"backingType"`
	Uuid           string `json:"uuid,omitempty"`
	ContentId      string `json:"contentId,omitempty"`
	ChangeId       string `json:"changeId,omitempty"`
	Sharing        string `json:"sharing,omitempty"`
	HasParent      bool   `json:"hasParent"`
	SharesLevel    string `json:"sharesLevel,omitempty"`
	IOLimit        int64  `json:"ioLimit,omitempty"`
}

var vmProperties = []string{
	"name",
	"config.uuid",
	"config.hardware.numCPU",
	"config.hardware.memoryMB",
	"runtime.host",
	"runtime.powerState",
	"config.hardware.device",
	"snapshot",
	"datastore",
	"parent",
	"parentVApp",
}

// containerList retrieves properties of all objects of one type below the
// root folder into dst (a pointer to a slice of mo types).
func (c *connection) containerList(ctx context.Context, kind string, props []string, dst interface{}) error {
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{kind}, true)
	if err != nil {
		return fmt.Errorf("creating container view: %w", err)
	}
	defer v.Destroy(ctx)

	if err := v.Retrieve(ctx, []string{kind}, props, dst); err != nil {
		return fmt.Errorf("retrieving %s properties: %w", kind, err)
	}
	return nil
}

// listVMs returns every VM, sorted by name and then id for stable output.
func (c *connection) listVMs(ctx context.Context) ([]vmInfo, error) {
	var vms []mo.VirtualMachine
	if err := c.containerList(ctx, "VirtualMachine", vmProperties, &vms); err != nil {
		return nil, err
	}

	hostNames, err := c.hostNames(ctx, vms)
	if err != nil {
		return nil, err
	}

	out := make([]vmInfo, 0, len(vms))
	for i := range vms {
		out = append(out, newVMInfo(&vms[i], hostNames))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// hostNames maps the moref values of the VMs' hosts to the hosts' names.
func (c *connection) hostNames(ctx context.Context, vms []mo.VirtualMachine) (map[string]string, error) {
	seen := map[types.ManagedObjectReference]bool{}
	var refs []types.ManagedObjectReference
	for _, vm := range vms {
		if h := vm.Runtime.Host; h != nil && !seen[*h] {
			seen[*h] = true
			refs = append(refs, *h)
		}
	}
	names := map[string]string{}
	if len(refs) == 0 {
		return names, nil
	}

	var hosts []mo.HostSystem
	if err := property.DefaultCollector(c.Client).Retrieve(ctx, refs, []string{"name"}, &hosts); err != nil {
		return nil, fmt.Errorf("retrieving host names: %w", err)
	}
	for _, h := range hosts {
		names[h.Self.Value] = h.Name
	}
	return names, nil
}

func newVMInfo(vm *mo.VirtualMachine, hostNames map[string]string) vmInfo {
	info := vmInfo{
		ID:         vm.Self.Value,
		Name:       vm.Name,
		PowerState: string(vm.Runtime.PowerState),
	}
	if cfg := vm.Config; cfg != nil {
		info.UUID = cfg.Uuid
		info.NumCPU = cfg.Hardware.NumCPU
		info.MemoryMB = cfg.Hardware.MemoryMB
	}
	if h := vm.Runtime.Host; h != nil {
		info.HostID = h.Value
		info.Host = hostNames[h.Value]
	}
	if p := vm.Parent; p != nil {
		info.Parent = p.Value
	}
	if p := vm.ParentVApp; p != nil {
		info.ParentVApp = p.Value
	}
	info.Disks = []diskInfo{}
	if cfg := vm.Config; cfg != nil {
		for _, d := range cfg.Hardware.Device {
			if disk, ok := d.(*types.VirtualDisk); ok {
				label := ""
				if di := disk.DeviceInfo; di != nil {
					label = di.GetDescription().Label
				}
				info.Disks = append(info.Disks, newDiskInfo(cfg.Hardware.Device, disk, label))
			}
		}
	}
	info.Snapshots = []string{}
	if s := vm.Snapshot; s != nil {
		var walk func(t []types.VirtualMachineSnapshotTree)
		walk = func(t []types.VirtualMachineSnapshotTree) {
			for _, n := range t {
				info.Snapshots = append(info.Snapshots, n.Name)
				if s.CurrentSnapshot != nil && *s.CurrentSnapshot == n.Snapshot {
					info.CurrentSnapshot = n.Name
				}
				walk(n.ChildSnapshotList)
			}
		}
		walk(s.RootSnapshotList)
	}
	info.Datastores = []string{}
	for _, ds := range vm.Datastore {
		info.Datastores = append(info.Datastores, ds.Value)
	}
	return info
}

func newDiskInfo(devices []types.BaseVirtualDevice, disk *types.VirtualDisk, label string) diskInfo {
	d := diskInfo{Label: label, CapacityKB: disk.CapacityInKB, ControllerKey: disk.ControllerKey, Unit: -1}
	if disk.UnitNumber != nil {
		d.Unit = *disk.UnitNumber
	}
	for _, c := range devices {
		if c.GetVirtualDevice().Key == disk.ControllerKey {
			d.ControllerType = fmt.Sprintf("%T", c)[len("*types."):]
		}
	}
	if disk.Backing != nil {
		d.Backing = fmt.Sprintf("%T", disk.Backing)[len("*types."):]
	}
	if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
		d.Uuid, d.ContentId, d.ChangeId, d.Sharing, d.HasParent = b.Uuid, b.ContentId, b.ChangeId, b.Sharing, b.Parent != nil
	}
	if s := disk.Shares; s != nil {
		d.SharesLevel = string(s.Level)
	}
	if a := disk.StorageIOAllocation; a != nil && a.Limit != nil {
		d.IOLimit = *a.Limit
	}
	return d
}

func printJSON(v interface{}) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runClient is the frame of every client subcommand: the common flags plus
// the subcommand's own (extra may add them and returns their validation),
// a connection, fn, and a logout.
func runClient(name string, args []string, extra func(fs *flag.FlagSet) func() error,
	fn func(ctx context.Context, c *connection) error) error {
	var o clientOptions
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	o.register(fs)
	validate := func() error { return nil }
	if extra != nil {
		validate = extra(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}

	ctx := context.Background()
	c, err := connect(ctx, &o)
	if err != nil {
		return err
	}
	defer c.close(ctx)
	return fn(ctx, c)
}

func cmdVM(args []string) error {
	var name, id string
	flags := func(fs *flag.FlagSet) func() error {
		fs.StringVar(&name, "name", "", "VM name")
		fs.StringVar(&id, "id", "", "VM moref value, e.g. vm-42")
		return func() error {
			if (name == "") == (id == "") {
				return usageError("give exactly one of -name and -id")
			}
			return nil
		}
	}
	return runClient("vm", args, flags, func(ctx context.Context, c *connection) error {
		return printVM(ctx, c, name, id)
	})
}

// printVM prints the one VM with that name or id.
func printVM(ctx context.Context, c *connection, name, id string) error {
	// Listing everything and filtering here treats "no such moref" and
	// "no such name" alike; the test inventories are small.
	vms, err := c.listVMs(ctx)
	if err != nil {
		return err
	}
	var found []vmInfo
	for _, vm := range vms {
		if (id != "" && vm.ID == id) || (name != "" && vm.Name == name) {
			found = append(found, vm)
		}
	}
	switch len(found) {
	case 0:
		return &exitError{code: exitNotFound, err: errors.New("VM not found")}
	case 1:
		return printJSON(found[0])
	default:
		return fmt.Errorf("%d VMs are named %q", len(found), name)
	}
}

func cmdVMs(args []string) error {
	return runClient("vms", args, nil, func(ctx context.Context, c *connection) error {
		vms, err := c.listVMs(ctx)
		if err != nil {
			return err
		}
		return printJSON(vms)
	})
}

type hostInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// cmdHosts lists the hosts, e.g. to pick a relocation target.
func cmdHosts(args []string) error {
	return runClient("hosts", args, nil, printHosts)
}

func printHosts(ctx context.Context, c *connection) error {
	var hosts []mo.HostSystem
	if err := c.containerList(ctx, "HostSystem", []string{"name"}, &hosts); err != nil {
		return err
	}
	out := make([]hostInfo, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, hostInfo{ID: h.Self.Value, Name: h.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return printJSON(out)
}

// cmdTerminateSessions ends every other session, so that a test can check
// that vmtraced notices NotAuthenticated and logs in again.
func cmdTerminateSessions(args []string) error {
	return runClient("terminate-sessions", args, nil, terminateOthers)
}

func terminateOthers(ctx context.Context, c *connection) error {
	var sm mo.SessionManager
	ref := *c.ServiceContent.SessionManager
	err := property.DefaultCollector(c.Client).RetrieveOne(ctx, ref, []string{"sessionList", "currentSession"}, &sm)
	if err != nil {
		return fmt.Errorf("retrieving sessions: %w", err)
	}
	if sm.CurrentSession == nil {
		return errors.New("the server does not report our own session")
	}

	var keys []string
	for _, s := range sm.SessionList {
		if s.Key != sm.CurrentSession.Key {
			keys = append(keys, s.Key)
		}
	}
	if len(keys) > 0 {
		req := types.TerminateSession{This: ref, SessionId: keys}
		if _, err := methods.TerminateSession(ctx, c.Client, &req); err != nil {
			return fmt.Errorf("terminating sessions: %w", err)
		}
	}
	return printJSON(map[string]int{"terminated": len(keys)})
}
