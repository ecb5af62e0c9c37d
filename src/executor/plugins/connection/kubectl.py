# Portcullis's `kubectl` connection plugin: runs a host's tasks in a
# Kubernetes pod through `kubectl exec`, as the executor's node provider sets
# it up (host vars ansible_kubectl_kubeconfig, _context, _namespace, _pod and
# _executable, the pinned kubectl the provider checked).
#
# Every command is one `kubectl exec` run, `-i` when Ansible has data for its
# stdin (pipelining). Files go both ways as a byte stream through `cat` in the
# pod, so the pod needs only a POSIX shell and cat, and no tar or rsync.
#
# kubectl exits with the remote command's code and then says so on stderr
# ("command terminated with exit code N"); a non-zero exit without that line
# is kubectl's own failure (API server, pod gone, bad kubeconfig), which
# Ansible is told as an unreachable host rather than a failed task.

from __future__ import annotations

import os
import re
import shlex
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

DOCUMENTATION = r'''
name: kubectl
short_description: Runs tasks in a Kubernetes pod through kubectl exec
description:
  - Portcullis's own connection to pod nodes. Each command is a C(kubectl exec)
    into the pod; files are copied through C(cat) in the pod.
author: Portcullis
options:
  kubectl_path:
    description: The kubectl binary to run.
    type: str
    default: kubectl
    vars:
      - name: ansible_kubectl_path
      - name: ansible_kubectl_executable
  kubeconfig:
    description: The kubeconfig kubectl reads; kubectl's own default when unset.
    type: str
    vars:
      - name: ansible_kubectl_kubeconfig
  context:
    description: The kubeconfig context; the kubeconfig's current one when unset.
    type: str
    vars:
      - name: ansible_kubectl_context
  namespace:
    description: The pod's namespace; the context's when unset.
    type: str
    vars:
      - name: ansible_kubectl_namespace
  pod:
    description: The pod; the inventory host's address when unset.
    type: str
    vars:
      - name: ansible_kubectl_pod
  container:
    description: The container in the pod; kubectl's default container when unset.
    type: str
    vars:
      - name: ansible_kubectl_container
  shell:
    description: The shell in the pod that runs each command.
    type: str
    default: /bin/sh
    vars:
      - name: ansible_kubectl_shell
extends_documentation_fragment:
  - connection_pipelining
'''

display = Display()

# kubectl's last stderr line when the remote command (not kubectl) failed.
REMOTE_EXIT = re.compile(br'^command terminated with exit code \d+\s*$', re.MULTILINE)


class Connection(ConnectionBase):
    """A pod reached through `kubectl exec`."""

    transport = 'kubectl'
    has_pipelining = True
    # There is no terminal for become prompts: kubectl exec runs without -t.
    has_tty = False

    def _connect(self):
        if not self._connected:
            display.vvv('KUBECTL EXEC INTO %s' % self._target(), host=self._target())
            self._connected = True
        return self

    def close(self):
        # Nothing stays open between commands: each is a kubectl run of its own.
        self._connected = False

    # -- commands ------------------------------------------------------------

    def _target(self):
        pod = self.get_option('pod') or self._play_context.remote_addr
        namespace = self.get_option('namespace')
        return '%s/%s' % (namespace, pod) if namespace else str(pod)

    def _kubectl(self, argv, stdin):
        """The kubectl command line that runs `argv` in the pod."""
        cmd = [self.get_option('kubectl_path')]
        for flag, option in (('--kubeconfig', 'kubeconfig'), ('--context', 'context'),
                             ('--namespace', 'namespace')):
            value = self.get_option(option)
            if value:
                cmd += [flag, str(value)]
        cmd.append('exec')
        if stdin:
            cmd.append('-i')
        container = self.get_option('container')
        if container:
            cmd += ['-c', str(container)]
        cmd.append(str(self.get_option('pod') or self._play_context.remote_addr))
        return cmd + ['--'] + argv

    def _start(self, argv, stdin, stdout=subprocess.PIPE):
        cmd = self._kubectl(argv, stdin is not None)
        display.vvv('EXEC %s' % ' '.join(shlex.quote(to_text(a)) for a in cmd),
                    host=self._target())
        try:
            return subprocess.Popen(
                [to_bytes(a, errors='surrogate_or_strict') for a in cmd],
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=stdout, stderr=subprocess.PIPE)
        except OSError as e:
            raise AnsibleConnectionFailure(
                'kubectl %s cannot run: %s' % (cmd[0], e)) from e

    def _check_reached(self, rc, stderr):
        """Raises when kubectl itself failed, as opposed to the command."""
        if rc != 0 and not REMOTE_EXIT.search(stderr):
            raise AnsibleConnectionFailure(
                'kubectl exec into %s failed (exit %d): %s'
                % (self._target(), rc, to_text(stderr, errors='surrogate_or_replace').strip()))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        """Runs `cmd` with the pod's shell; returns (rc, stdout, stderr)."""
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        shell = self.get_option('shell')
        proc = self._start([shell, '-c', to_text(cmd)],
                           subprocess.PIPE if in_data is not None else None)
        stdout, stderr = proc.communicate(in_data)
        self._check_reached(proc.returncode, stderr)
        # The remote command's own stderr, without kubectl's note about its exit.
        stderr = REMOTE_EXIT.sub(b'', stderr).rstrip(b'\n')
        if stderr:
            stderr += b'\n'
        return proc.returncode, stdout, stderr

    # -- files ---------------------------------------------------------------

    def put_file(self, in_path, out_path):
        """Streams the local `in_path` into `cat` writing `out_path` in the pod."""
        super(Connection, self).put_file(in_path, out_path)
        display.vvv('PUT %s TO %s' % (in_path, out_path), host=self._target())
        local = to_bytes(in_path, errors='surrogate_or_strict')
        if not os.path.exists(local):
            raise AnsibleFileNotFound('file or module does not exist: %s' % in_path)
        script = 'cat > %s' % shlex.quote(to_text(out_path))
        with open(local, 'rb') as source:
            proc = self._start([self.get_option('shell'), '-c', script], source)
            _, stderr = proc.communicate()
        self._check_reached(proc.returncode, stderr)
        if proc.returncode != 0:
            raise AnsibleError('failed to write %s in pod %s: %s' % (
                out_path, self._target(), to_text(stderr, errors='surrogate_or_replace').strip()))

    def fetch_file(self, in_path, out_path):
        """Streams `in_path` in the pod through `cat` into the local `out_path`."""
        super(Connection, self).fetch_file(in_path, out_path)
        display.vvv('FETCH %s TO %s' % (in_path, out_path), host=self._target())
        script = 'cat %s' % shlex.quote(to_text(in_path))
        local = to_bytes(out_path, errors='surrogate_or_strict')
        with open(local, 'wb') as target:
            proc = self._start([self.get_option('shell'), '-c', script], None, stdout=target)
            _, stderr = proc.communicate()
        if proc.returncode != 0:
            # A partial copy must not pass for the file.
            os.unlink(local)
        self._check_reached(proc.returncode, stderr)
        if proc.returncode != 0:
            raise AnsibleError('failed to read %s in pod %s: %s' % (
                in_path, self._target(), to_text(stderr, errors='surrogate_or_replace').strip()))
