# Portcullis's `local` connection: Ansible's own, except that an untrusted
# playbook may not run code on the executor. Nodes of the build that run on
# the executor's machine (a local node provider) are allowed; the implicit
# localhost and `delegate_to: localhost` are not, as in Zuul. The executor
# names the build's local nodes and the playbook's context in the
# environment of ansible-playbook, which a playbook cannot change.
# (Ansible loads this file under the built-in's module name, so the
# built-in is loaded from its own file.)

DOCUMENTATION = """
    name: local
    short_description: execute on the executor, refused for untrusted playbooks but on build nodes
    description:
        - Ansible's local connection, with Zuul's rule that untrusted playbooks run no code on the executor.
    author: Portcullis
    options:
        become_success_timeout:
            type: int
            default: 10
            description: Seconds to wait for become to succeed.
            vars:
                - name: ansible_local_become_success_timeout
        become_strip_preamble:
            type: bool
            default: true
            description: Strip internal become output preceding command execution.
            vars:
                - name: ansible_local_become_strip_preamble
    extends_documentation_fragment:
        - connection_pipelining
"""

import importlib.util
import os

import ansible.plugins.connection as _connections
from ansible.errors import AnsibleConnectionFailure

_spec = importlib.util.spec_from_file_location(
    'portcullis_builtin_local', os.path.join(os.path.dirname(_connections.__file__), 'local.py'))
_builtin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_builtin)

REFUSAL = 'Executing local code is prohibited'


def _allowed(host):
    if os.environ.get('PORTCULLIS_TRUSTED') == '1':
        return True
    nodes = [n for n in os.environ.get('PORTCULLIS_LOCAL_NODES', '').split(',') if n]
    return host in nodes


class Connection(_builtin.Connection):

    def _check(self):
        host = self._play_context.remote_addr
        if not _allowed(host):
            raise AnsibleConnectionFailure(
                '%s: an untrusted playbook may not run code on the executor (host %s)'
                % (REFUSAL, host))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self._check()
        return super(Connection, self).exec_command(cmd, in_data, sudoable)

    def put_file(self, in_path, out_path):
        self._check()
        return super(Connection, self).put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        self._check()
        return super(Connection, self).fetch_file(in_path, out_path)
