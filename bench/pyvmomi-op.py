#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/pyvmomi-op.py: the pyVmomi yardstick for bench/roundtrips.sh.

One process does one "vmctl cpu VM N" the way an Ansible vmware_guest task
does it with pyVmomi: connect and log in (SmartConnect), find the VM by
name through a ContainerView of every VM, read numCPU before,
ReconfigVM_Task, WaitForTask, read numCPU after, log out.  The bench times
the whole process.  The password comes from a file, never from argv.

Usage: pyvmomi-op.py URL CAFILE USER PASSWORD-FILE VM CPUS
"""
import ssl
import sys
from urllib.parse import urlparse

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim


def find_vm(content, name):
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        for vm in view.view:
            if vm.name == name:
                return vm
    finally:
        view.Destroy()
    raise SystemExit("pyvmomi-op: no VM %r" % name)


def main(url, cafile, user, password_file, name, cpus):
    u = urlparse(url)
    with open(password_file) as f:
        password = f.read().rstrip("\n")
    ctx = ssl.create_default_context(cafile=cafile)
    si = SmartConnect(host=u.hostname, port=u.port or 443, user=user, pwd=password, sslContext=ctx)
    try:
        vm = find_vm(si.RetrieveContent(), name)
        _ = vm.config.hardware.numCPU
        WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=int(cpus))))
        after = vm.config.hardware.numCPU
        if after != int(cpus):
            raise SystemExit("pyvmomi-op: numCPU is %d after setting %s" % (after, cpus))
    finally:
        Disconnect(si)


if __name__ == "__main__":
    if len(sys.argv) != 7:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
