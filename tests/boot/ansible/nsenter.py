# Ansible connection plugin for the boot test: runs tasks inside the booted test
# container through nsenter(1) (ansible_host is the PID of the container's init), so the
# role is tested against a real systemd without SSH to any host.
from __future__ import annotations

import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.connection import ConnectionBase

DOCUMENTATION = """
    name: nsenter
    short_description: run tasks in a container's namespaces with nsenter
    description:
      - Executes commands with C(nsenter -t PID -a) and copies files through it.
    options:
      remote_addr:
        description: PID of the container's init process
        default: ''
        vars:
          - name: inventory_hostname
          - name: ansible_host
"""


class Connection(ConnectionBase):
    transport = "nsenter"
    has_pipelining = True
    default_user = "root"

    def _enter(self):
        pid = str(self.get_option("remote_addr"))
        if not pid.isdigit():
            raise AnsibleConnectionFailure(f"nsenter: ansible_host must be a PID, not {pid!r}")
        return ["nsenter", "-t", pid, "-a", "--"]

    def _connect(self):
        if not self._connected:
            self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        p = subprocess.Popen(self._enter() + ["/bin/sh", "-c", cmd], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(in_data)
        return p.returncode, out, err

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(in_path, "rb") as f:
            r = subprocess.run(self._enter() + ["/bin/sh", "-c", "cat > " + shlex.quote(out_path)], stdin=f,
                               capture_output=True)
        if r.returncode != 0:
            raise AnsibleError(f"nsenter: put {in_path} -> {out_path}: {r.stderr.decode(errors='replace')}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        with open(out_path, "wb") as f:
            r = subprocess.run(self._enter() + ["cat", in_path], stdout=f, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise AnsibleError(f"nsenter: fetch {in_path}: {r.stderr.decode(errors='replace')}")

    def close(self):
        self._connected = False
