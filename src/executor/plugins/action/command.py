# Portcullis's action plugin for `command` (and `shell`, whose built-in action
# runs this one). It runs in the executor's worker for one host and tells the
# node's command module which console log to write and where the console
# server must listen, then runs the module as Ansible's own command action
# does. (Ansible loads this file under the built-in's module name, so it
# cannot import the built-in action.)

import os
import sys

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


# The console helpers are a module_utils file (the node needs them too) in
# the plugin dir beside this plugin's folder.
_UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'module_utils')
if _UTILS not in sys.path:
    sys.path.insert(0, _UTILS)
import portcullis_console as console  # noqa: E402


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        if (console.streamed(self._task) and 'ansible_loop_var' not in task_vars
                and not console.disabled(task_vars.get)):
            where = console.endpoint(task_vars.get)
            self._task.args['zuul_log_id'] = console.log_id(
                self._task._uuid, task_vars.get('inventory_hostname', ''))
            self._task.args['portcullis_console'] = {
                'port': where.node_port,
                'listen': where.listen,
                'log_dir': where.log_dir,
                # On the executor's machine the server ends with the playbook
                # (this worker's parent), however the playbook ends.
                'watch_pid': os.getppid() if where.listen == '127.0.0.1' else None,
            }
        return self._run_module(task_vars)

    def _run_module(self, task_vars):
        self._supports_async = True
        results = super(ActionModule, self).run(task_vars=task_vars)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        # `ansible.legacy.command` is the executor's command module (library/).
        results = merge_hash(results, self._execute_module(
            module_name='ansible.legacy.command', task_vars=task_vars,
            wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return results
