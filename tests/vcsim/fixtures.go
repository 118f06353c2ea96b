// SPDX-License-Identifier: GPL-2.0-or-later

// "serve -fixtures": VMs shaped as vCenter shows them and vcsim's model
// never makes, for the disk and clone cases of tests/test-vsphere.c.
//
// vcsim's VMs all have one ParaVirtual SCSI controller with one flat disk,
// and no VM in a vApp lacks a parent folder.  The fixtures rename the
// standalone host's VMs (DC0_H0_VM0, ...) and replace their disk
// controllers and disks:
//
//	vmt-fx-ide     IDE 200 full (CD-ROM at 0, the first disk at 1), IDE 201 empty
//	vmt-fx-sata    one SATA (AHCI) controller, disks on units 0-6 and 8-15
//	vmt-fx-nvme    NVMe full (units 0-14), then an empty ParaVirtual SCSI controller
//	vmt-fx-pvscsi  ParaVirtual SCSI, disks on units 0-6 and 8-15 (full before vSphere 6.7)
//	vmt-fx-full    IDE 200 and 201, both full of disks
//	vmt-fx-grow    one flat disk with what a real vCenter disk carries: uuid,
//	               content and change ids, sharing, shares, storage I/O allocation
//	vmt-fx-delta   one disk with snapshots: its backing has a parent
//	vmt-fx-sparse  one disk whose backing is not flat (SeSparse)
//
// and make the vApp's VMs (-fixtures implies one vApp per cluster) look as
// vCenter shows them: no parent, parentVApp set.  vcsim itself handles
// those VMs only partly: its ReconfigVM and Destroy dereference the parent
// and panic; the tests only clone them.
//
// vcsim does not check controller types or unit ranges, so a disk on
// IDE unit 2 "works" there: the tests check where vcsim says the disk went.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type fixtureDisk struct {
	ctl, unit int32
}

type fixture struct {
	name        string
	controllers []types.BaseVirtualDevice
	cdrom       *fixtureDisk // on controller ctl, unit
	disks       []fixtureDisk
	shape       func(d *types.VirtualDisk) // changes the first disk
}

func ide(key int32, bus int32) types.BaseVirtualDevice {
	return &types.VirtualIDEController{VirtualController: types.VirtualController{
		VirtualDevice: types.VirtualDevice{Key: key, DeviceInfo: &types.Description{Label: fmt.Sprintf("IDE %d", bus), Summary: "IDE"}},
		BusNumber:     bus,
	}}
}

func sata(key int32) types.BaseVirtualDevice {
	return &types.VirtualAHCIController{VirtualSATAController: types.VirtualSATAController{VirtualController: types.VirtualController{
		VirtualDevice: types.VirtualDevice{Key: key, DeviceInfo: &types.Description{Label: "SATA controller 0", Summary: "AHCI"}},
	}}}
}

func nvme(key int32) types.BaseVirtualDevice {
	return &types.VirtualNVMEController{VirtualController: types.VirtualController{
		VirtualDevice: types.VirtualDevice{Key: key, DeviceInfo: &types.Description{Label: "NVME controller 0", Summary: "NVME"}},
	}}
}

func pvscsi(key int32) types.BaseVirtualDevice {
	return &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{
		VirtualController: types.VirtualController{
			VirtualDevice: types.VirtualDevice{Key: key, DeviceInfo: &types.Description{Label: "SCSI controller 0", Summary: "VMware paravirtual SCSI"}},
		},
		SharedBus:          types.VirtualSCSISharingNoSharing,
		ScsiCtlrUnitNumber: 7,
	}}
}

// units lists the disks on controller ctl at the units given, 7 left out if skip7.
func units(ctl int32, from, to int32, skip7 bool) []fixtureDisk {
	var out []fixtureDisk
	for u := from; u <= to; u++ {
		if !(skip7 && u == 7) {
			out = append(out, fixtureDisk{ctl, u})
		}
	}
	return out
}

func growShape(d *types.VirtualDisk) {
	b := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	b.Uuid = "6000C29a-0000-4d1a-8c2b-fx0000000001"
	b.ContentId = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	b.ChangeId = "52 3a 4b 5c 6d 7e 8f 90-a1 b2 c3 d4 e5 f6 07 18/1"
	b.Sharing = string(types.VirtualDiskSharingSharingMultiWriter)
	b.DigestEnabled = types.NewBool(false)
	d.Shares = &types.SharesInfo{Shares: 2000, Level: types.SharesLevelHigh}
	limit := int64(500)
	d.StorageIOAllocation = &types.StorageIOAllocationInfo{Limit: &limit, Shares: &types.SharesInfo{Shares: 1500, Level: types.SharesLevelCustom}}
}

func deltaShape(d *types.VirtualDisk) {
	b := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	parent := *b
	parent.FileName = b.FileName[:len(b.FileName)-len(".vmdk")] + "-base.vmdk"
	b.FileName = b.FileName[:len(b.FileName)-len(".vmdk")] + "-000001.vmdk"
	b.Parent = &parent
	b.DeltaDiskFormat = "redoLogFormat"
}

func sparseShape(d *types.VirtualDisk) {
	b := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	d.Backing = &types.VirtualDiskSeSparseBackingInfo{
		VirtualDeviceFileBackingInfo: b.VirtualDeviceFileBackingInfo,
		DiskMode:                     b.DiskMode,
	}
}

var fixtures = []fixture{
	{name: "vmt-fx-ide", controllers: []types.BaseVirtualDevice{ide(200, 0), ide(201, 1)},
		cdrom: &fixtureDisk{200, 0}, disks: []fixtureDisk{{200, 1}}},
	{name: "vmt-fx-sata", controllers: []types.BaseVirtualDevice{sata(15000)}, disks: units(15000, 0, 15, true)},
	{name: "vmt-fx-nvme", controllers: []types.BaseVirtualDevice{nvme(31000), pvscsi(1000)}, disks: units(31000, 0, 14, false)},
	{name: "vmt-fx-pvscsi", controllers: []types.BaseVirtualDevice{pvscsi(1000)}, disks: units(1000, 0, 15, true)},
	{name: "vmt-fx-full", controllers: []types.BaseVirtualDevice{ide(200, 0), ide(201, 1)},
		disks: append(units(200, 0, 1, false), units(201, 0, 1, false)...)},
	{name: "vmt-fx-grow", controllers: []types.BaseVirtualDevice{pvscsi(1000)}, disks: units(1000, 0, 0, false), shape: growShape},
	{name: "vmt-fx-delta", controllers: []types.BaseVirtualDevice{pvscsi(1000)}, disks: units(1000, 0, 0, false), shape: deltaShape},
	{name: "vmt-fx-sparse", controllers: []types.BaseVirtualDevice{pvscsi(1000)}, disks: units(1000, 0, 0, false), shape: sparseShape},
}

// diskControllerDevice says whether d is one the fixtures replace.
func diskControllerDevice(d types.BaseVirtualDevice) bool {
	switch d.(type) {
	case *types.VirtualDisk, *types.VirtualCdrom, types.BaseVirtualSCSIController, *types.VirtualIDEController,
		types.BaseVirtualSATAController, *types.VirtualNVMEController:
		return true
	}
	return false
}

func controllerOf(devices []types.BaseVirtualDevice, key int32) *types.VirtualController {
	for _, d := range devices {
		if c, ok := d.(types.BaseVirtualController); ok && c.GetVirtualController().Key == key {
			return c.GetVirtualController()
		}
	}
	return nil
}

func (f *fixture) devices(vm *simulator.VirtualMachine) []types.BaseVirtualDevice {
	var out []types.BaseVirtualDevice
	for _, d := range vm.Config.Hardware.Device {
		if !diskControllerDevice(d) {
			out = append(out, d)
		}
	}
	out = append(out, f.controllers...)
	ds := vm.Datastore[0]
	if f.cdrom != nil {
		u := f.cdrom.unit
		cd := &types.VirtualCdrom{VirtualDevice: types.VirtualDevice{Key: 3000, ControllerKey: f.cdrom.ctl, UnitNumber: &u,
			DeviceInfo: &types.Description{Label: "CD/DVD drive 1", Summary: "Remote device"}}}
		out = append(out, cd)
		c := controllerOf(out, f.cdrom.ctl)
		c.Device = append(c.Device, cd.Key)
	}
	for i, fd := range f.disks {
		u := fd.unit
		key := int32(2000 + i)
		d := &types.VirtualDisk{
			VirtualDevice: types.VirtualDevice{
				Key: key, ControllerKey: fd.ctl, UnitNumber: &u,
				DeviceInfo: &types.Description{Label: fmt.Sprintf("Hard disk %d", i+1), Summary: "1,024 KB"},
				Backing: &types.VirtualDiskFlatVer2BackingInfo{
					VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
						FileName: fmt.Sprintf("[LocalDS_0] %s/disk-%d.vmdk", f.name, key), Datastore: &ds,
					},
					DiskMode: string(types.VirtualDiskModePersistent), ThinProvisioned: types.NewBool(true),
				},
			},
			CapacityInKB: 1024, CapacityInBytes: 1024 * 1024,
		}
		if i == 0 && f.shape != nil {
			f.shape(d)
		}
		out = append(out, d)
		c := controllerOf(out, fd.ctl)
		c.Device = append(c.Device, key)
	}
	return out
}

// createFiles: vcsim's disk edit wants the disk's file to exist.
func (f *fixture) createFiles(vm *simulator.VirtualMachine) error {
	ds, ok := simulator.Map.Get(vm.Datastore[0]).(*simulator.Datastore)
	if !ok {
		return fmt.Errorf("%s: no datastore", f.name)
	}
	dir := filepath.Join(ds.Info.GetDatastoreInfo().Url, f.name)
	if err := os.MkdirAll(dir, 0755); err != nil {
		return err
	}
	for i := range f.disks {
		for _, suffix := range []string{".vmdk", "-flat.vmdk"} {
			name := filepath.Join(dir, fmt.Sprintf("disk-%d%s", 2000+i, suffix))
			if err := os.WriteFile(name, nil, 0644); err != nil {
				return err
			}
		}
	}
	return nil
}

// installFixtures runs after model.Create and before the server starts.
func installFixtures() error {
	var hostVMs []*simulator.VirtualMachine
	for _, obj := range simulator.Map.All("VirtualMachine") {
		vm, ok := obj.(*simulator.VirtualMachine)
		if ok && len(vm.Name) > 7 && vm.Name[:7] == "DC0_H0_" {
			hostVMs = append(hostVMs, vm)
		}
	}
	sort.Slice(hostVMs, func(i, j int) bool { return hostVMs[i].Name < hostVMs[j].Name })
	if len(hostVMs) < len(fixtures) {
		return fmt.Errorf("-fixtures needs %d VMs on DC0_H0, the model has %d (raise -vms)", len(fixtures), len(hostVMs))
	}
	for i := range fixtures {
		f, vm := &fixtures[i], hostVMs[i]
		vm.Name, vm.Config.Name, vm.Summary.Config.Name = f.name, f.name, f.name
		vm.Config.Hardware.Device = f.devices(vm)
		if err := f.createFiles(vm); err != nil {
			return err
		}
	}
	return vAppsAsInVCenter()
}

// vAppsAsInVCenter: a vApp's VM has no parent folder in vCenter, only parentVApp.
func vAppsAsInVCenter() error {
	for _, obj := range simulator.Map.All("VirtualApp") {
		app, ok := obj.(*simulator.VirtualApp)
		if !ok {
			continue
		}
		for _, ref := range app.Vm {
			vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine)
			if !ok || vm.Parent == nil {
				continue
			}
			if folder, ok := simulator.Map.Get(*vm.Parent).(*simulator.Folder); ok {
				simulator.RemoveReference(&folder.ChildEntity, vm.Self)
			}
			appRef := app.Self
			vm.Parent = nil
			vm.ParentVApp = &appRef
		}
	}
	return nil
}
